package pull

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := newBackoff(time.Second, 30*time.Second, time.Minute)
	var got []time.Duration
	for range 7 {
		got = append(got, b.delay(0))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays %v, want %v seconds", got, want)
		}
	}
	// A session of a minute or more starts over; a shorter one does not.
	if d := b.delay(59 * time.Second); d != 30*time.Second {
		t.Errorf("after a short session: %v", d)
	}
	if d := b.delay(time.Minute); d != time.Second {
		t.Errorf("after a stable session: %v", d)
	}
	if d := b.delay(0); d != 2*time.Second {
		t.Errorf("next: %v", d)
	}
}
