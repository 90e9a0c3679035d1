package metrics

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// ParseQuery reads a query from URL parameters:
// name, labels (channel:news,rendition:720p), stat, period (60, 60s or 1m),
// from and to (RFC 3339 or Unix seconds) and rate (true or false). The
// errors name the bad parameter.
func ParseQuery(v url.Values) (Query, error) {
	var errs resource.FieldErrors
	q := Query{Name: strings.TrimSpace(v.Get("name")), Stat: strings.TrimSpace(v.Get("stat"))}
	if s := strings.TrimSpace(v.Get("labels")); s != "" {
		q.Labels = map[string]string{}
		for _, pair := range strings.Split(s, ",") {
			k, val, ok := strings.Cut(pair, ":")
			if !ok {
				k, val, ok = strings.Cut(pair, "=")
			}
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				errs.Add("labels", strconv.Quote(pair)+" is not name:value")
				continue
			}
			q.Labels[k] = strings.TrimSpace(val)
		}
	}
	if s := strings.TrimSpace(v.Get("period")); s != "" {
		d, err := parseSeconds(s)
		if err != nil || d <= 0 {
			errs.Add("period", strconv.Quote(s)+" is not a duration: use seconds (60) or a Go duration (1m)")
		} else {
			q.Period = d
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := strings.TrimSpace(v.Get(p.name))
		if s == "" {
			continue
		}
		t, err := parseTime(s)
		if err != nil {
			errs.Add(p.name, strconv.Quote(s)+" is not a time: use RFC 3339 or Unix seconds")
			continue
		}
		*p.dst = t
	}
	if s := strings.TrimSpace(v.Get("rate")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			errs.Add("rate", "must be true or false")
		}
		q.Rate = b
	}
	return q, errs.Err()
}

func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(n) || math.IsInf(n, 0) || n > 1e9 {
			return 0, strconv.ErrRange
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1e11 {
			return time.Time{}, strconv.ErrRange
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
