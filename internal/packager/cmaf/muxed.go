package cmaf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"
)

// A video rendition and the audio can be served muxed, as one fMP4 track
// pair: an init segment with both tracks (VideoTrackID and AudioTrackID),
// and parts and segments that hold the video's fragments and then the
// audio's. Part k of a muxed segment is video part k with audio part k
// (audio parts are cut on the same grid, see endsPart); the last video
// part takes whatever audio parts remain, and waits for the audio segment
// to end. A muxed part exists once its video and audio parts have ended.

// muxedCount says how many muxed parts of a segment exist, from how many
// parts of its video and of its audio have ended and whether each segment
// is complete, and whether the muxed segment is complete.
func muxedCount(vParts int, vDone bool, aParts int, aDone bool) (n int, complete bool) {
	n = vParts
	if !aDone {
		n = min(n, aParts)
		if vDone && n == vParts {
			n = vParts - 1 // the last part carries the rest of the audio
		}
	}
	return max(n, 0), vDone && aDone
}

// muxedAudio returns the audio parts [from, to) that go with muxed part k
// of a segment whose video has vParts parts (vDone: all of them) and whose
// audio has aParts.
func muxedAudio(k, vParts int, vDone bool, aParts int) (from, to int) {
	from, to = min(k, aParts), min(k+1, aParts)
	if vDone && k == vParts-1 {
		to = aParts
	}
	return from, to
}

// segState is what the timeline holds of one rendition's segment.
type segState struct {
	parts  []Part
	data   []byte
	done   bool
	silent bool // the segment's run has silent audio: muxed, it is the video alone
}

// stateOf returns rendition i's segment number n, complete or at the live
// edge; t.mu must be held.
func (t *Timeline) stateOf(i int, n uint64) (segState, bool) {
	if k := t.rowIndex(n); k >= 0 {
		seg := t.rows[k].segs[i]
		return segState{parts: seg.Parts, data: seg.Data, done: true, silent: t.rows[k].run.silent}, true
	}
	segs, nums := t.edgeOf(i)
	for k, l := range segs {
		if nums[k] == n {
			return segState{parts: l.parts, data: l.data[:len(l.data):len(l.data)], done: l.done, silent: t.runs[len(t.runs)-1].silent}, true
		}
	}
	return segState{}, false
}

// MuxedEdgePosition is EdgePosition for a video rendition and the audio
// served muxed: the newest segment both have begun, and how many of its
// muxed parts exist.
func (t *Timeline) MuxedEdgePosition(video, audio string) (number uint64, parts int, complete bool, ok bool) {
	vi, ok1 := t.byID[video]
	ai, ok2 := t.byID[audio]
	if !ok1 || !ok2 {
		return 0, 0, false, false
	}
	vn, _, _, ok := t.EdgePosition(video)
	if !ok {
		return 0, 0, false, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for n := vn; n+3 > vn && n > 0; n-- {
		v, okv := t.stateOf(vi, n)
		if okv && v.silent {
			return n, len(v.parts), v.done, true
		}
		a, oka := t.stateOf(ai, n)
		if !okv || !oka {
			continue
		}
		c, done := muxedCount(len(v.parts), v.done, len(a.parts), a.done)
		return n, c, done, true
	}
	return 0, 0, false, false
}

// MuxedPart returns muxed part k of segment n: the video part and its audio
// parts, once all have ended. ok is false while it does not exist.
func (t *Timeline) MuxedPart(video, audio string, n uint64, k int) (PartData, bool) {
	vi, ok1 := t.byID[video]
	ai, ok2 := t.byID[audio]
	if !ok1 || !ok2 || k < 0 {
		return PartData{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, okv := t.stateOf(vi, n)
	if okv && v.silent {
		if k >= len(v.parts) {
			return PartData{}, false
		}
		vp := v.parts[k]
		return PartData{Data: v.data[vp.Offset : vp.Offset+vp.Size : vp.Offset+vp.Size], Complete: true}, true
	}
	a, oka := t.stateOf(ai, n)
	if !okv || !oka {
		return PartData{}, false
	}
	if c, _ := muxedCount(len(v.parts), v.done, len(a.parts), a.done); k >= c {
		return PartData{}, false
	}
	vp := v.parts[k]
	out := make([]byte, 0, vp.Size+4096)
	out = append(out, v.data[vp.Offset:vp.Offset+vp.Size]...)
	from, to := muxedAudio(k, len(v.parts), v.done, len(a.parts))
	for _, ap := range a.parts[from:to] {
		out = append(out, withoutStyp(a.data[ap.Offset:ap.Offset+ap.Size])...)
	}
	return PartData{Data: out, Complete: true}, true
}

// MuxedSegment returns complete segment n of a video rendition with the
// audio: the video segment's bytes, then the audio's (without its styp).
// It may be at the live edge, complete in both but not yet in every
// rendition.
func (t *Timeline) MuxedSegment(video, audio string, n uint64) ([]byte, bool) {
	vi, ok1 := t.byID[video]
	ai, ok2 := t.byID[audio]
	if !ok1 || !ok2 {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, okv := t.stateOf(vi, n)
	if okv && v.silent && v.done {
		return v.data, true
	}
	a, oka := t.stateOf(ai, n)
	if !okv || !oka || !v.done || !a.done {
		return nil, false
	}
	out := make([]byte, 0, len(v.data)+len(a.data))
	out = append(out, v.data...)
	return append(out, withoutStyp(a.data)...), true
}

// withoutStyp drops a leading styp box: a muxed segment has one, the video's.
func withoutStyp(b []byte) []byte {
	if len(b) >= 8 && string(b[4:8]) == "styp" {
		if size := binary.BigEndian.Uint32(b); size >= 8 && int(size) <= len(b) {
			return b[size:]
		}
	}
	return b
}

// MuxInit returns the init segment of a video rendition muxed with the
// audio: the video's ftyp and moov, with the audio's track and its trex
// added.
func MuxInit(video, audio []byte) ([]byte, error) {
	vf, err := mp4.DecodeFile(bytes.NewReader(video))
	if err != nil || vf.Init == nil || vf.Init.Moov == nil {
		return nil, fmt.Errorf("video init segment: %w", orMalformed(err))
	}
	af, err := mp4.DecodeFile(bytes.NewReader(audio))
	if err != nil || af.Init == nil || af.Init.Moov == nil || af.Init.Moov.Trak == nil || af.Init.Moov.Mvex == nil || af.Init.Moov.Mvex.Trex == nil {
		return nil, fmt.Errorf("audio init segment: %w", orMalformed(err))
	}
	moov := vf.Init.Moov
	if moov.Mvex == nil {
		return nil, fmt.Errorf("video init segment: %w: no mvex", ErrMalformed)
	}
	moov.AddChild(af.Init.Moov.Trak)
	moov.Mvex.AddChild(af.Init.Moov.Mvex.Trex)
	var buf bytes.Buffer
	if err := vf.Init.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func orMalformed(err error) error {
	if err != nil {
		return err
	}
	return errors.New("no moov")
}

// Muxed returns the view of a video rendition served muxed with the audio
// rendition: the video's segments, its codec joined with the audio's and
// its bandwidths added to the audio's, and at the live edge only the muxed
// parts that exist (see MuxedEdgePosition). ok is false when either
// rendition is missing.
func (s *Snapshot) Muxed(video, audio string) (Rendition, bool) {
	var v, a *Rendition
	for i := range s.Renditions {
		switch s.Renditions[i].ID {
		case video:
			v = &s.Renditions[i]
		case audio:
			a = &s.Renditions[i]
		}
	}
	if v == nil || a == nil {
		return Rendition{}, false
	}
	out := *v
	if !s.Silent() {
		if a.Codec != "" {
			out.Codec = v.Codec + "," + a.Codec
		}
		out.Bandwidth += a.Bandwidth
		out.AverageBandwidth += a.AverageBandwidth
	}
	out.Edge = nil
	for _, seg := range v.Edge {
		if s.runSilent(seg.Run) {
			out.Edge = append(out.Edge, seg)
			continue
		}
		as, ok := a.find(seg.Number)
		if !ok {
			break
		}
		n, complete := muxedCount(len(seg.Parts), !seg.Partial, len(as.Parts), !as.Partial)
		seg.Parts = seg.Parts[:n:n]
		seg.Partial = !complete
		if seg.Partial {
			seg.Duration = 0
			for _, p := range seg.Parts {
				seg.Duration += p.Duration
			}
		}
		out.Edge = append(out.Edge, seg)
		if seg.Partial {
			break // nothing after a segment in progress
		}
	}
	return out, true
}

// find returns the rendition's segment (complete or at the edge) numbered n.
func (r *Rendition) find(n uint64) (SegmentInfo, bool) {
	for _, list := range [][]SegmentInfo{r.Segments, r.Edge} {
		for _, seg := range list {
			if seg.Number == n {
				return seg, true
			}
		}
	}
	return SegmentInfo{}, false
}

// RunSilent reports whether a run still in memory has silent audio.
func (t *Timeline) RunSilent(runID uint64) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, r := range t.runs {
		if r.id == runID {
			return r.silent
		}
	}
	return false
}

// AudioRendition returns the ID of the timeline's audio rendition, the one
// video renditions are muxed with.
func (t *Timeline) AudioRendition() (string, bool) {
	for _, r := range t.cfg.Renditions {
		if r.Kind == Audio {
			return r.ID, true
		}
	}
	return "", false
}
