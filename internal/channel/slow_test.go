package channel

import (
	"testing"
	"time"
)

func TestSlowWatch(t *testing.T) {
	var w slowWatch
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		sec   int
		speed float64
		warn  bool
	}{
		{0, 1.0, false},
		{1, 0.9, false},  // slow stretch begins
		{10, 0.9, false}, // 9 s slow
		{11, 0.9, true},  // 10 s slow: warn
		{12, 0.8, false}, // warned a second ago
		{20, 1.0, false}, // fast again: the stretch ends
		{21, 0.5, false},
		{75, 0.5, true}, // slow for 54 s and a minute since the last warning
		{76, 0, false},  // no figure yet: not slow
	}
	for _, s := range steps {
		if got := w.observe(s.speed, at(s.sec)); got != s.warn {
			t.Errorf("t=%ds speed %.1f: warn %v, want %v", s.sec, s.speed, got, s.warn)
		}
	}
}
