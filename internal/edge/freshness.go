package edge

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// freshness is what the origin's headers allow a shared cache to do with a
// response.
type freshness struct {
	// store: the response may be kept at all.
	store bool
	// ttl is how long it is fresh, counted from an age of zero.
	ttl time.Duration
	// immutable: the origin promises the body never changes while fresh.
	immutable bool
	// noStale forbids serving it after expiry (must-revalidate, errors).
	noStale bool
	// staleLimit, when positive, is the origin's own bound on serving it
	// after expiry while refreshes fail (stale-if-error, RFC 5861): a live
	// playlist is worth serving stale for about a segment, not for the
	// edge's general window, after which it is far behind the stream.
	staleLimit time.Duration
}

// Lifetimes the edge imposes.
const (
	// errorTTL is how long any 4xx or 5xx is kept, whatever it says, so a
	// storm of requests for a missing object costs one origin request a
	// second.
	errorTTL = time.Second
	// immutableTTL is the lifetime of an immutable response that names no
	// other.
	immutableTTL = 365 * 24 * time.Hour
)

// freshnessOf reads Cache-Control (s-maxage over max-age, then Expires),
// for a shared cache: no-store, private and no-cache are never kept, and
// errors are kept for errorTTL whatever they say.
func freshnessOf(status int, h http.Header) freshness {
	if status >= 400 {
		return freshness{store: true, ttl: errorTTL, noStale: true}
	}
	switch status {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent,
		http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusFound,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return freshness{}
	}
	if h.Get("Set-Cookie") != "" || h.Get("Vary") == "*" {
		return freshness{}
	}
	var f freshness
	maxAge, sMaxAge := time.Duration(-1), time.Duration(-1)
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "private", "no-cache":
				return freshness{}
			case "max-age":
				maxAge = seconds(value)
			case "s-maxage":
				sMaxAge = seconds(value)
			case "immutable":
				f.immutable = true
			case "must-revalidate", "proxy-revalidate":
				f.noStale = true
			case "stale-if-error":
				if f.staleLimit = seconds(value); f.staleLimit == 0 {
					f.noStale = true
				}
			}
		}
	}
	switch {
	case sMaxAge >= 0:
		f.ttl = sMaxAge
	case maxAge >= 0:
		f.ttl = maxAge
	case h.Get("Expires") != "":
		exp, err1 := http.ParseTime(h.Get("Expires"))
		date, err2 := http.ParseTime(h.Get("Date"))
		if err1 == nil && err2 == nil {
			f.ttl = max(0, exp.Sub(date))
		}
	case f.immutable:
		f.ttl = immutableTTL
	}
	f.store = f.ttl > 0
	return f
}

// staleWindow is how long after expiry the response may stand in for a
// failed refresh, given the edge's own window.
func (f freshness) staleWindow(edge time.Duration) time.Duration {
	if f.staleLimit > 0 {
		return min(edge, f.staleLimit)
	}
	return edge
}

// seconds parses a delta-seconds value; an invalid one means already stale.
func seconds(v string) time.Duration {
	n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	if n > int64(immutableTTL/time.Second) {
		n = int64(immutableTTL / time.Second)
	}
	return time.Duration(n) * time.Second
}

// ageOf is the Age the origin (or an edge in front of it) reports.
func ageOf(h http.Header) time.Duration { return seconds(h.Get("Age")) }
