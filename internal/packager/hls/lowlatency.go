package hls

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// LowLatencyOptions tune one LL-HLS media playlist response.
type LowLatencyOptions struct {
	// Skip asks for a Playlist Delta Update (_HLS_skip=YES): segments older
	// than the skip boundary are replaced by one EXT-X-SKIP tag.
	Skip bool
	// Audio, when set, renders the playlist of the video rendition muxed
	// with this audio rendition (MuxedPlaylist): its media named with the
	// muxed names, its parts those that exist in both (cmaf's
	// Snapshot.Muxed), its rendition reports those of the other muxed
	// video renditions.
	Audio string
}

// Names of the muxed media of a video rendition of an LL-HLS endpoint,
// beside the rendition's own: the playlist, init segments, segments and
// parts of the video and the audio together.
const (
	MuxedPlaylist = "av.m3u8"
	muxedPrefix   = "av-"
)

// MuxedURIs reports whether a file name under a rendition is muxed media
// (av-…), and returns the name of the rendition's own media it stands for.
func MuxedURIs(file string) (own string, ok bool) {
	return strings.CutPrefix(file, muxedPrefix)
}

// names are the URIs a media playlist gives its media, relative to it.
type names struct{ prefix string }

func (n names) init(run uint64) string {
	return n.prefix + "init-" + strconv.FormatUint(run, 10) + ".mp4"
}
func (n names) segment(number uint64) string {
	return n.prefix + strconv.FormatUint(number, 10) + ".m4s"
}
func (n names) part(number uint64, p int) string { return n.prefix + PartURI(number, p) }

// partWindow is how far from the live edge, in target durations, segments
// keep their EXT-X-PART tags.
const partWindow = 3

// skipFactor is CAN-SKIP-UNTIL in target durations; the specification asks
// for at least six.
const skipFactor = 6

// partHoldBack is PART-HOLD-BACK: two and a half part targets. RFC 8216bis
// requires at least two and recommends three; a part is listed the moment
// its last frame is packaged and the next one is hinted, so a player two
// and a half parts behind the edge has asked for the next part well before
// it needs it, and plays a tenth of a second (with 200 ms parts) closer to
// the live edge than with three.
func partHoldBack(partTarget time.Duration) time.Duration { return partTarget * 5 / 2 }

// LowLatencyMedia renders the LL-HLS media playlist of one rendition: the
// complete segments in the window, then those at the live edge, with
// EXT-X-PART tags for the parts of the last few target durations, an
// EXT-X-PRELOAD-HINT for the next part, EXT-X-SERVER-CONTROL advertising
// blocking reload and delta updates, and an EXT-X-RENDITION-REPORT for every
// other rendition.
//
// Parts are named <number>.<part>.m4s, counted from 0 within their segment.
// It returns the errors Media returns.
func LowLatencyMedia(s *cmaf.Snapshot, rendition string, opts LowLatencyOptions) ([]byte, error) {
	r := findRendition(s, rendition)
	if r == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownRendition, rendition)
	}
	var nm names
	if opts.Audio != "" {
		m, ok := s.Muxed(rendition, opts.Audio)
		if !ok || r.Kind != cmaf.Video {
			return nil, fmt.Errorf("%w %q muxed with %q", ErrUnknownRendition, rendition, opts.Audio)
		}
		r, nm = &m, names{prefix: muxedPrefix}
	}
	if len(r.Segments) == 0 {
		return nil, fmt.Errorf("rendition %q: %w", rendition, ErrNoSegments)
	}
	if r.Timescale == 0 {
		return nil, fmt.Errorf("%w: rendition %q has timescale 0", ErrInvalidSnapshot, rendition)
	}
	if s.PartDuration <= 0 {
		return nil, fmt.Errorf("%w: the timeline cuts no parts", ErrInvalidSnapshot)
	}
	all := make([]cmaf.SegmentInfo, 0, len(r.Segments)+len(r.Edge))
	all = append(all, r.Segments...)
	all = append(all, r.Edge...)
	check := *r
	check.Segments = all
	if err := checkSequence(&check); err != nil {
		return nil, err
	}

	var longest int64
	for _, seg := range all {
		if !seg.Partial {
			longest = max(longest, ticksToMillis(seg.Duration, r.Timescale))
		}
	}
	target := targetDuration(longest, s.SegmentDuration)
	partTarget := s.PartDuration
	if r.Kind == cmaf.Audio && r.SampleRate > 0 {
		// Audio parts end on the part grid to within half an AAC frame
		// each side (the video's parts, which they go with when muxed):
		// one may last a frame longer than the grid step.
		frame := time.Duration(1024 * int64(time.Second) / int64(r.SampleRate))
		partTarget = (partTarget + frame + time.Millisecond - 1).Truncate(time.Millisecond)
	}
	end := edgeEnd(all, r.Timescale)
	skipUntil := time.Duration(skipFactor*target) * time.Second

	skipped := 0
	if opts.Skip && !s.Ended {
		skipped = skippable(all, r.Timescale, end-skipUntil)
	}

	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:9\n")
	b.WriteString("#EXT-X-TARGETDURATION:" + strconv.FormatInt(target, 10) + "\n")
	if !s.Ended {
		b.WriteString("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=" + seconds(skipUntil) +
			",PART-HOLD-BACK=" + seconds(partHoldBack(partTarget)) + "\n")
	}
	b.WriteString("#EXT-X-PART-INF:PART-TARGET=" + seconds(partTarget) + "\n")
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:" + strconv.FormatUint(all[0].Number, 10) + "\n")
	b.WriteString("#EXT-X-DISCONTINUITY-SEQUENCE:" + strconv.FormatUint(all[0].Discontinuity, 10) + "\n")
	if independent(all) {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	if skipped > 0 {
		b.WriteString("#EXT-X-SKIP:SKIPPED-SEGMENTS=" + strconv.Itoa(skipped) + "\n")
	}

	partsFrom := end - partWindow*time.Duration(target)*time.Second
	for i := skipped; i < len(all); i++ {
		seg := all[i]
		if i == skipped || seg.Run != all[i-1].Run {
			if i > skipped {
				writeGap(&b, s, r, all[i-1], seg, nm.segment)
				b.WriteString("#EXT-X-DISCONTINUITY\n")
			}
			b.WriteString(`#EXT-X-MAP:URI="` + nm.init(seg.Run) + "\"\n")
		}
		start := seg.StartTime(r.Timescale)
		b.WriteString("#EXT-X-PROGRAM-DATE-TIME:" + s.AvailabilityStart.Add(start).UTC().Format(programDateTimeLayout) + "\n")
		if seg.Partial || start+seg.DurationTime(r.Timescale) > partsFrom {
			writeParts(&b, seg, r.Timescale, nm)
		}
		if seg.Partial {
			continue
		}
		ms := ticksToMillis(seg.Duration, r.Timescale)
		fmt.Fprintf(&b, "#EXTINF:%d.%03d,\n", ms/1000, ms%1000)
		b.WriteString(nm.segment(seg.Number) + "\n")
	}
	if s.Ended {
		b.WriteString("#EXT-X-ENDLIST\n")
		return b.Bytes(), nil
	}
	last := all[len(all)-1]
	hintNumber, hintPart := last.Number+1, 0
	if last.Partial {
		hintNumber, hintPart = last.Number, len(last.Parts)
	}
	b.WriteString(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="` + nm.part(hintNumber, hintPart) + "\"\n")
	for i := range s.Renditions {
		o := &s.Renditions[i]
		if o.ID == r.ID {
			continue
		}
		file := "index.m3u8"
		if opts.Audio != "" {
			m, ok := s.Muxed(o.ID, opts.Audio)
			if !ok || o.Kind != cmaf.Video {
				continue
			}
			o, file = &m, MuxedPlaylist
		}
		if msn, part, ok := LastPart(o); ok {
			b.WriteString(`#EXT-X-RENDITION-REPORT:URI="../` + quotedValue(o.ID) + "/" + file + `",LAST-MSN=` +
				strconv.FormatUint(msn, 10) + ",LAST-PART=" + strconv.Itoa(part) + "\n")
		}
	}
	return b.Bytes(), nil
}

// PartURI is the name of part p of segment number, relative to its playlist.
func PartURI(number uint64, p int) string {
	return strconv.FormatUint(number, 10) + "." + strconv.Itoa(p) + ".m4s"
}

// LastPart returns the newest part a rendition lists: its segment number and
// its index within the segment. ok is false when no part is listed.
func LastPart(r *cmaf.Rendition) (msn uint64, part int, ok bool) {
	segs := r.Edge
	if len(segs) == 0 {
		segs = r.Segments
	}
	for i := len(segs) - 1; i >= 0 && i >= len(segs)-2; i-- {
		if n := len(segs[i].Parts); n > 0 {
			return segs[i].Number, n - 1, true
		}
	}
	return 0, 0, false
}

func writeParts(b *bytes.Buffer, seg cmaf.SegmentInfo, timescale uint32, nm names) {
	for p, part := range seg.Parts {
		ms := ticksToMillis(part.Duration, timescale)
		fmt.Fprintf(b, "#EXT-X-PART:DURATION=%d.%03d,URI=\"%s\"", ms/1000, ms%1000, nm.part(seg.Number, p))
		if part.Independent {
			b.WriteString(",INDEPENDENT=YES")
		}
		b.WriteByte('\n')
	}
}

// edgeEnd is the media time where the listed segments end.
func edgeEnd(segs []cmaf.SegmentInfo, timescale uint32) time.Duration {
	last := segs[len(segs)-1]
	return last.StartTime(timescale) + last.DurationTime(timescale)
}

// skippable counts the leading complete segments that end before boundary,
// stopping at a run change so that the first segment shown keeps its map and
// the skipped ones share the playlist's discontinuity sequence.
func skippable(segs []cmaf.SegmentInfo, timescale uint32, boundary time.Duration) int {
	n := 0
	for n < len(segs)-1 {
		seg := segs[n]
		if seg.Partial || seg.Run != segs[0].Run || seg.StartTime(timescale)+seg.DurationTime(timescale) > boundary {
			break
		}
		n++
	}
	if n > 0 && segs[n].Run != segs[0].Run {
		return 0
	}
	return n
}

// seconds formats a duration as decimal seconds with milliseconds.
func seconds(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
}
