package hls

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// programDateTimeLayout is RFC 3339 in UTC with milliseconds, as players
// expect in EXT-X-PROGRAM-DATE-TIME.
const programDateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Media renders the media playlist of one rendition (R/index.m3u8): its
// segments in the window, an EXT-X-MAP for the run of the first segment and
// an EXT-X-DISCONTINUITY plus a new EXT-X-MAP wherever the run changes.
// Where the numbers jump at a run change (a run of another process, or of
// another node that took the channel over, numbered on the wall-clock
// grid), the missing numbers are listed as EXT-X-GAP segments spanning the
// time between the runs, so the media sequence stays consecutive.
//
// It returns ErrUnknownRendition if the snapshot has no such rendition,
// ErrNoSegments if the rendition has no segment yet, and ErrInvalidSnapshot
// if segment numbers are not consecutive within a run, go back, or
// discontinuity numbers do not count the run changes, since players would
// then fetch the wrong segments.
func Media(s *cmaf.Snapshot, rendition string) ([]byte, error) {
	return MediaWith(s, rendition, Options{})
}

// MediaWith renders a media playlist as Media does, with options. With
// Encryption, an EXT-X-KEY (METHOD=AES-128 and the key's URI; without an IV
// attribute, each segment's IV is its media sequence number) precedes the first segment and every key change; init
// segments stay in the clear, so an EXT-X-KEY:METHOD=NONE precedes every
// EXT-X-MAP that follows a key.
func MediaWith(s *cmaf.Snapshot, rendition string, opts Options) ([]byte, error) {
	r := findRendition(s, rendition)
	if r == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownRendition, rendition)
	}
	if len(r.Segments) == 0 {
		return nil, fmt.Errorf("rendition %q: %w", rendition, ErrNoSegments)
	}
	if r.Timescale == 0 {
		return nil, fmt.Errorf("%w: rendition %q has timescale 0", ErrInvalidSnapshot, rendition)
	}
	if err := checkSequence(r); err != nil {
		return nil, err
	}

	// Durations are rounded to milliseconds once, so that EXTINF and the
	// target duration derived from them agree.
	durations := make([]int64, len(r.Segments))
	var longest int64
	for i, seg := range r.Segments {
		durations[i] = ticksToMillis(seg.Duration, r.Timescale)
		longest = max(longest, durations[i])
	}

	first := r.Segments[0]
	var b bytes.Buffer
	version, ext := "7", ".m4s"
	if opts.TransportStream {
		version, ext = "3", ".ts"
	}
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:" + version + "\n")
	b.WriteString("#EXT-X-TARGETDURATION:" + strconv.FormatInt(targetDuration(longest, s.SegmentDuration), 10) + "\n")
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:" + strconv.FormatUint(first.Number, 10) + "\n")
	b.WriteString("#EXT-X-DISCONTINUITY-SEQUENCE:" + strconv.FormatUint(first.Discontinuity, 10) + "\n")
	if independent(r.Segments) {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	if !s.Ended {
		writeStartAfterGap(&b, r, durations, targetDuration(longest, s.SegmentDuration))
	}

	enc := opts.Encryption
	keyed := false
	var key uint64
	for i, seg := range r.Segments {
		if i == 0 || seg.Run != r.Segments[i-1].Run {
			if i > 0 {
				writeGap(&b, s, r, r.Segments[i-1], seg, func(n uint64) string { return strconv.FormatUint(n, 10) + ext })
				b.WriteString("#EXT-X-DISCONTINUITY\n")
			}
			if keyed {
				b.WriteString("#EXT-X-KEY:METHOD=NONE\n")
				keyed = false
			}
			if !opts.TransportStream {
				b.WriteString(`#EXT-X-MAP:URI="init-` + strconv.FormatUint(seg.Run, 10) + ".mp4\"\n")
			}
		}
		if enc != nil && (!keyed || enc.KeyIndex(seg.Number) != key) {
			// No IV attribute: each segment's IV is then its media
			// sequence number, which is its Number.
			key, keyed = enc.KeyIndex(seg.Number), true
			b.WriteString(`#EXT-X-KEY:METHOD=AES-128,URI="` + quotedValue(enc.KeyURI(key)) + "\"\n")
		}
		pdt := s.AvailabilityStart.Add(seg.StartTime(r.Timescale)).UTC()
		b.WriteString("#EXT-X-PROGRAM-DATE-TIME:" + pdt.Format(programDateTimeLayout) + "\n")
		fmt.Fprintf(&b, "#EXTINF:%d.%03d,\n", durations[i]/1000, durations[i]%1000)
		b.WriteString(strconv.FormatUint(seg.Number, 10) + ext + "\n")
	}
	if s.Ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.Bytes(), nil
}

// independent reports whether every segment starts with a key frame, as
// EXT-X-INDEPENDENT-SEGMENTS claims. Only a passthrough rendition whose
// input's key frames are off the segment grid has segments that do not.
func independent(segs []cmaf.SegmentInfo) bool {
	for _, seg := range segs {
		if seg.Dependent {
			return false
		}
	}
	return true
}

// findRendition returns the rendition with the given ID, or nil.
func findRendition(s *cmaf.Snapshot, id string) *cmaf.Rendition {
	if s == nil {
		return nil
	}
	for i := range s.Renditions {
		if s.Renditions[i].ID == id {
			return &s.Renditions[i]
		}
	}
	return nil
}

// writeStartAfterGap tells players where to start when the live edge
// follows a gap closely: right after an encoder restart, the newest run
// has fewer segments than the three target durations players start back
// from the end, so a player joining then would start in the gap, where
// there is nothing to load (hls.js then never starts). An EXT-X-START with
// a negative TIME-OFFSET puts its start at the newest run's first segment
// instead, until that run is long enough for the usual start.
func writeStartAfterGap(b *bytes.Buffer, r *cmaf.Rendition, durations []int64, target int64) {
	n := len(r.Segments)
	var tail int64
	for i := n - 1; i > 0; i-- {
		tail += durations[i]
		seg, prev := r.Segments[i], r.Segments[i-1]
		if seg.Run == prev.Run {
			continue
		}
		if seg.Number > prev.Number+1 && tail < 3*target*1000 {
			fmt.Fprintf(b, "#EXT-X-START:TIME-OFFSET=-%d.%03d\n", tail/1000, tail%1000)
		}
		return
	}
}

// writeGap lists the numbers missing between the last segment of a run
// and the first of the next as EXT-X-GAP segments, which players skip,
// sharing the time between the two runs; name gives a number's URI.
func writeGap(b *bytes.Buffer, s *cmaf.Snapshot, r *cmaf.Rendition, prev, next cmaf.SegmentInfo, name func(uint64) string) {
	if next.Number <= prev.Number+1 {
		return
	}
	missing := next.Number - prev.Number - 1
	from := prev.StartTime(r.Timescale) + prev.DurationTime(r.Timescale)
	span := next.StartTime(r.Timescale) - from
	each := span / time.Duration(missing) //nolint:gosec // the numbers missing between two runs are few
	if each <= 0 {
		each = s.SegmentDuration
	}
	ms := each.Milliseconds()
	for k := range missing {
		pdt := s.AvailabilityStart.Add(from + time.Duration(k)*each).UTC() //nolint:gosec // as above
		b.WriteString("#EXT-X-PROGRAM-DATE-TIME:" + pdt.Format(programDateTimeLayout) + "\n")
		b.WriteString("#EXT-X-GAP\n")
		fmt.Fprintf(b, "#EXTINF:%d.%03d,\n", ms/1000, ms%1000)
		b.WriteString(name(prev.Number+1+k) + "\n")
	}
}

// checkSequence verifies that segment numbers are consecutive within a run
// and grow from one run to the next (missing numbers there are listed as
// gaps), and that the discontinuity number grows by exactly one at each
// run change, as EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE
// require.
func checkSequence(r *cmaf.Rendition) error {
	for i := 1; i < len(r.Segments); i++ {
		prev, seg := r.Segments[i-1], r.Segments[i]
		if seg.Number != prev.Number+1 && (seg.Run == prev.Run || seg.Number <= prev.Number) {
			return fmt.Errorf("%w: rendition %q: segment %d follows segment %d, want %d",
				ErrInvalidSnapshot, r.ID, seg.Number, prev.Number, prev.Number+1)
		}
		want := prev.Discontinuity
		if seg.Run != prev.Run {
			want++
		}
		if seg.Discontinuity != want {
			return fmt.Errorf("%w: rendition %q: segment %d (run %d) has discontinuity %d after segment %d (run %d) with %d, want %d",
				ErrInvalidSnapshot, r.ID, seg.Number, seg.Run, seg.Discontinuity, prev.Number, prev.Run, prev.Discontinuity, want)
		}
	}
	return nil
}

// targetDuration is the longest segment (in milliseconds) rounded to the
// nearest second, but never below the configured segment duration rounded
// up, and at least one second.
func targetDuration(longestMillis int64, configured time.Duration) int64 {
	target := (longestMillis + 500) / 1000
	if configured > 0 {
		target = max(target, int64((configured+time.Second-1)/time.Second))
	}
	return max(target, 1)
}

// ticksToMillis converts ticks to milliseconds, rounding to the nearest,
// without overflowing for large tick counts.
func ticksToMillis(ticks uint64, timescale uint32) int64 {
	ts := uint64(timescale)
	ms := ticks/ts*1000 + (ticks%ts*1000+ts/2)/ts
	return int64(min(ms, 1<<63-1)) //nolint:gosec // bounded on the line above
}
