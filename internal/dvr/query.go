// Package dvr keeps the segments of channels with a DVR window on disk,
// beyond the packager's in-memory window, deletes them once they leave the
// window, and answers time-shifted ranges of them for manifests and
// harvest jobs.
package dvr

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Range is a requested span of wall-clock time. End is zero for a
// start-over request: from Start to the live edge, growing.
type Range struct {
	Start time.Time
	End   time.Time
}

// Open reports whether the range has no end (start-over).
func (r Range) Open() bool { return r.End.IsZero() }

// ParamError says which time-shift parameter was wrong and why.
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string {
	return "query parameter " + strconv.Quote(e.Param) + " " + e.Reason
}

// ErrNoRange is returned by ParseQuery when the query asks for no time shift.
var ErrNoRange = errors.New("dvr: no time-shift parameters")

// ParseQuery reads the time-shift parameters start and end of a manifest
// request. Either is RFC 3339 (2026-11-22T19:00:00Z) or epoch seconds
// (1763838000, fractions allowed). start alone asks for a start-over
// manifest; end alone is refused. It returns ErrNoRange when neither is
// present, and a *ParamError for anything malformed.
func ParseQuery(q url.Values) (Range, error) {
	_, hasStart := q["start"]
	_, hasEnd := q["end"]
	if !hasStart && !hasEnd {
		return Range{}, ErrNoRange
	}
	if !hasStart {
		return Range{}, &ParamError{"start", "is required when end is given"}
	}
	var r Range
	var err error
	if r.Start, err = param(q, "start"); err != nil {
		return Range{}, err
	}
	if hasEnd {
		if r.End, err = param(q, "end"); err != nil {
			return Range{}, err
		}
		if !r.End.After(r.Start) {
			return Range{}, &ParamError{"end", "must be after start (" + r.Start.UTC().Format(time.RFC3339Nano) + ")"}
		}
	}
	return r, nil
}

func param(q url.Values, name string) (time.Time, error) {
	vs := q[name]
	if len(vs) != 1 {
		return time.Time{}, &ParamError{name, "must be given once"}
	}
	return ParseTime(name, vs[0])
}

// Epoch bounds accepted: 1970 to the year 9999, so times stay representable.
const maxEpoch = 253402300799

// ParseTime reads one time value: RFC 3339 or epoch seconds.
func ParseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, &ParamError{name, "is empty: give RFC 3339 (2026-11-22T19:00:00Z) or epoch seconds"}
	}
	if len(v) > 64 {
		return time.Time{}, &ParamError{name, "is too long to be a time"}
	}
	if strings.ContainsAny(v, "-:T") {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, &ParamError{name, fmt.Sprintf("%q is not RFC 3339 (2026-11-22T19:00:00Z)", v)}
		}
		if t.Year() < 1970 {
			return time.Time{}, &ParamError{name, fmt.Sprintf("%q is before 1970", v)}
		}
		return t.UTC(), nil
	}
	for _, c := range v {
		if (c < '0' || c > '9') && c != '.' {
			return time.Time{}, &ParamError{name, fmt.Sprintf("%q is neither RFC 3339 nor epoch seconds", v)}
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxEpoch {
		return time.Time{}, &ParamError{name, fmt.Sprintf("%q is not epoch seconds between 0 and %d", v, int64(maxEpoch))}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
}
