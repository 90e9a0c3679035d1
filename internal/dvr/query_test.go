package dvr

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	ok := []struct {
		q          string
		start, end time.Time
	}{
		{"start=2026-11-22T10:00:00Z&end=2026-11-22T10:01:00Z", t0, t0.Add(time.Minute)},
		{"start=2026-11-22T11:00:00%2B01:00", t0, time.Time{}},
		{"start=1795341600&end=1795341630.5", t0, t0.Add(30*time.Second + 500*time.Millisecond)},
		{"start=1795341600.25", t0.Add(250 * time.Millisecond), time.Time{}},
	}
	for _, c := range ok {
		q, _ := url.ParseQuery(c.q)
		r, err := ParseQuery(q)
		if err != nil || !r.Start.Equal(c.start) || !r.End.Equal(c.end) {
			t.Errorf("%s: %+v %v, want %v..%v", c.q, r, err, c.start, c.end)
		}
	}
	bad := map[string]string{
		"end=1795341600":                     "start",
		"start=":                             "start",
		"start=yesterday":                    "start",
		"start=2026-13-01T00:00:00Z":         "start",
		"start=1795341600&end=1795341600":    "end",
		"start=1795341600&end=1795341500":    "end",
		"start=1&start=2":                    "start",
		"start=-5":                           "start",
		"start=1e300":                        "start",
		"start=1795341600&end=NaN":           "end",
		"start=99999999999999999999":         "start",
		"start=1795341600&end=1.2.3":         "end",
		"start=1969-12-31T23:59:59Z":         "start",
		"start=1795341600&end=2026-11-22T10": "end",
	}
	for raw, param := range bad {
		q, _ := url.ParseQuery(raw)
		_, err := ParseQuery(q)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != param {
			t.Errorf("%s: %v, want an error naming %q", raw, err, param)
		}
	}
	if _, err := ParseQuery(url.Values{"player": {"x"}}); !errors.Is(err, ErrNoRange) {
		t.Errorf("no parameters: %v, want ErrNoRange", err)
	}
}

// FuzzParseQuery feeds arbitrary query strings: the parser never panics,
// and what it accepts is a start before any end.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"start=2026-11-22T10:00:00Z&end=2026-11-22T10:01:00Z", "start=1795341600.5", "end=1", "start=1&start=2", "start=%ZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		r, err := ParseQuery(q)
		if err != nil {
			var pe *ParamError
			if !errors.Is(err, ErrNoRange) && !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r.Start.IsZero() || (!r.Open() && !r.End.After(r.Start)) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
