package cmaf

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrBadRange means a time-shift query is malformed; ErrOutsideWindow means
// it asks for media the window no longer (or not yet) holds.
var (
	ErrBadRange      = errors.New("bad time range")
	ErrOutsideWindow = errors.New("time range outside the window")
)

// Range is a time-shift request: media from Start, until End when set.
type Range struct {
	Start time.Time
	End   time.Time // zero: up to the live edge (start-over)
}

// ParseRange reads start= and end= from a raw query string: RFC 3339 times
// or Unix epoch seconds (fractions allowed). ok is false when neither is
// given. end without start, end not after start, or a value that is neither
// form is an error naming the parameter.
func ParseRange(rawQuery string) (r Range, ok bool, err error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return r, false, fmt.Errorf("%w: the query string is malformed: %w", ErrBadRange, err)
	}
	start, hasStart := q["start"]
	end, hasEnd := q["end"]
	if !hasStart && !hasEnd {
		return r, false, nil
	}
	if !hasStart {
		return r, false, fmt.Errorf("%w: end needs start", ErrBadRange)
	}
	if len(start) != 1 || (hasEnd && len(end) != 1) {
		return r, false, fmt.Errorf("%w: start and end may be given once each", ErrBadRange)
	}
	if r.Start, err = parseInstant("start", start[0]); err != nil {
		return r, false, err
	}
	if hasEnd {
		if r.End, err = parseInstant("end", end[0]); err != nil {
			return r, false, err
		}
		if !r.End.After(r.Start) {
			return r, false, fmt.Errorf("%w: end (%s) must be after start (%s)", ErrBadRange, end[0], start[0])
		}
	}
	return r, true, nil
}

// maxEpoch bounds epoch seconds to years Go's time can format.
const maxEpoch = 253402300799 // 9999-12-31T23:59:59Z

func parseInstant(name, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if v != "" && !strings.ContainsAny(v, "eEinfINFxX+-_") {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= maxEpoch {
			sec := int64(f)
			return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s must be an RFC 3339 time or Unix epoch seconds, not %q", ErrBadRange, name, v)
}

// Clip returns the snapshot cut to the segments that start at or after
// r.Start and, with r.End, end at or before r.End. A range whose end has
// passed is a finished presentation (Ended). It returns ErrOutsideWindow,
// saying what the window holds, when no segment is in the range.
func (s *Snapshot) Clip(r Range) (*Snapshot, error) {
	c := *s
	c.Renditions = make([]Rendition, len(s.Renditions))
	var first, last time.Time
	found := false
	for i, rd := range s.Renditions {
		rd.Edge = nil
		var kept []SegmentInfo
		for _, seg := range rd.Segments {
			start := s.AvailabilityStart.Add(seg.StartTime(rd.Timescale))
			end := start.Add(seg.DurationTime(rd.Timescale))
			if first.IsZero() || start.Before(first) {
				first = start
			}
			if end.After(last) {
				last = end
			}
			if start.Before(r.Start) || (!r.End.IsZero() && end.After(r.End.Add(time.Millisecond))) {
				continue
			}
			kept = append(kept, seg)
		}
		rd.Segments = kept
		found = found || len(kept) > 0
		c.Renditions[i] = rd
	}
	if !found {
		return nil, fmt.Errorf("%w: the window holds %s to %s", ErrOutsideWindow,
			first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	if !r.End.IsZero() && !r.End.After(last) {
		c.Ended = true
	}
	var runs []Run
	for _, run := range s.Runs {
		for _, rd := range c.Renditions {
			if len(rd.Segments) > 0 && containsRun(rd.Segments, run.ID) {
				runs = append(runs, run)
				break
			}
		}
	}
	c.Runs = runs
	return &c, nil
}

func containsRun(segs []SegmentInfo, id uint64) bool {
	for _, s := range segs {
		if s.Run == id {
			return true
		}
	}
	return false
}
