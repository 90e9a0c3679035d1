package hls

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Directives are the LL-HLS delivery directives of a media playlist request
// (_HLS_msn, _HLS_part, _HLS_skip).
type Directives struct {
	// MSN and Part name the segment and part the client waits for; HasMSN
	// and HasPart say whether they were given.
	MSN     uint64
	Part    int
	HasMSN  bool
	HasPart bool
	// Skip asks for a delta update.
	Skip bool
}

// ErrBadDirective means a delivery directive is malformed; the origin
// answers 400.
var ErrBadDirective = errors.New("hls: bad delivery directive")

// maxPartIndex bounds _HLS_part: no segment has that many parts.
const maxPartIndex = 100000

// ParseDirectives reads the delivery directives from a raw query string.
// Parameters other than _HLS_* are ignored (signed URLs add their own); a
// directive given twice, without a value in range, or _HLS_part without
// _HLS_msn is an error naming the parameter.
func ParseDirectives(rawQuery string) (Directives, error) {
	var d Directives
	if rawQuery == "" {
		return d, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return d, fmt.Errorf("%w: the query string is malformed: %w", ErrBadDirective, err)
	}
	one := func(name string) (string, bool, error) {
		v, ok := q[name]
		switch {
		case !ok:
			return "", false, nil
		case len(v) != 1:
			return "", false, fmt.Errorf("%w: %s is given %d times", ErrBadDirective, name, len(v))
		}
		return v[0], true, nil
	}
	if v, ok, err := one("_HLS_msn"); err != nil {
		return d, err
	} else if ok {
		if v != "" && v[0] == '+' {
			return d, fmt.Errorf("%w: _HLS_msn must be a media sequence number, not %q", ErrBadDirective, v)
		}
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return d, fmt.Errorf("%w: _HLS_msn must be a media sequence number, not %q", ErrBadDirective, v)
		}
		d.MSN, d.HasMSN = n, true
	}
	if v, ok, err := one("_HLS_part"); err != nil {
		return d, err
	} else if ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxPartIndex || v[0] == '+' {
			return d, fmt.Errorf("%w: _HLS_part must be a part index from 0 to %d, not %q", ErrBadDirective, maxPartIndex, v)
		}
		if !d.HasMSN {
			return d, fmt.Errorf("%w: _HLS_part needs _HLS_msn", ErrBadDirective)
		}
		d.Part, d.HasPart = n, true
	}
	if v, ok, err := one("_HLS_skip"); err != nil {
		return d, err
	} else if ok {
		switch v {
		case "YES", "v2":
			d.Skip = true
		default:
			return d, fmt.Errorf("%w: _HLS_skip must be YES or v2, not %q", ErrBadDirective, v)
		}
	}
	return d, nil
}
