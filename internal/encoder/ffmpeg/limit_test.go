package ffmpeg

import (
	"testing"
	"time"
)

func TestLineLimit(t *testing.T) {
	l := lineLimit{max: 2, per: 10 * time.Second}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i, want := range []bool{true, true, false, false} {
		if ok, _ := l.allow(t0.Add(time.Duration(i) * time.Second)); ok != want {
			t.Errorf("line %d: %v, want %v", i, ok, want)
		}
	}
	ok, dropped := l.allow(t0.Add(11 * time.Second))
	if !ok || dropped != 2 {
		t.Errorf("after the period: %v, %d dropped; want true, 2", ok, dropped)
	}
}
