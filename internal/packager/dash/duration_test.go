package dash

import (
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "PT0S"},
		{2 * time.Second, "PT2S"},
		{12500 * time.Millisecond, "PT12.5S"},
		{2006 * time.Millisecond, "PT2.006S"},
		{2005333333, "PT2.005333333S"},
		{time.Minute, "PT1M"},
		{90 * time.Second, "PT1M30S"},
		{time.Hour + 2*time.Minute + 3500*time.Millisecond, "PT1H2M3.5S"},
		{26 * time.Hour, "PT26H"},
		{time.Millisecond, "PT0.001S"},
		{-1500 * time.Millisecond, "-PT1.5S"},
	}
	for _, tt := range tests {
		got := formatDuration(tt.d)
		if got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if tt.d < 0 {
			continue // valid xs:duration, but the MPD parser rejects it
		}
		// The parser goes through float64, so allow a microsecond.
		parsed, err := mpd.ParseDuration(got)
		if err != nil || (parsed-tt.d).Abs() > time.Microsecond {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, parsed, err, tt.d)
		}
	}
}

func TestFormatDateTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2026-11-22T10:00:00Z"},
		{time.Date(2026, 11, 22, 11, 0, 0, 0, paris), "2026-11-22T10:00:00Z"},
		{time.Date(2026, 11, 22, 10, 0, 2, 500_000_000, time.UTC), "2026-11-22T10:00:02.500Z"},
		{time.Date(2026, 11, 22, 10, 0, 2, 999_999, time.UTC), "2026-11-22T10:00:02Z"},
		{time.Date(2026, 11, 22, 10, 0, 2, 1_999_999, time.UTC), "2026-11-22T10:00:02.001Z"},
	}
	for _, tt := range tests {
		if got := formatDateTime(tt.t); got != tt.want {
			t.Errorf("formatDateTime(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestCeilMillis(t *testing.T) {
	tests := []struct{ d, want time.Duration }{
		{0, 0},
		{2 * time.Second, 2 * time.Second},
		{2005333333, 2006 * time.Millisecond},
		{2000000001, 2001 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := ceilMillis(tt.d); got != tt.want {
			t.Errorf("ceilMillis(%v) = %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestDurationToTicks(t *testing.T) {
	tests := []struct {
		d         time.Duration
		timescale uint32
		want      uint64
	}{
		{0, 90000, 0},
		{-time.Second, 90000, 0},
		{12500 * time.Millisecond, 90000, 1125000},
		{20 * time.Second, 48000, 960000},
		// 96256/48000 s is 2.005333333... s, truncated to ns; rounding
		// brings it back to the exact tick.
		{2005333333, 48000, 96256},
		{1000 * time.Hour, 90000, 324000000000},
	}
	for _, tt := range tests {
		if got := durationToTicks(tt.d, tt.timescale); got != tt.want {
			t.Errorf("durationToTicks(%v, %d) = %d, want %d", tt.d, tt.timescale, got, tt.want)
		}
	}
}
