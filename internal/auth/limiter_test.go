package auth

import (
	"fmt"
	"testing"
	"time"
)

// clock is a settable clock for tests.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *clock                   { return &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)} }

func TestBackoffDoublesAndReleases(t *testing.T) {
	c := newClock()
	l := newLimiter(LimiterConfig{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour, Now: c.Now})
	for i := range 3 {
		if d := l.fail("k"); d != 0 {
			t.Fatalf("failure %d closed the key for %s; the first 3 are free", i+1, d)
		}
	}
	for _, want := range []time.Duration{1, 2, 4, 8, 8} {
		if d := l.fail("k"); d != want*time.Second {
			t.Errorf("closed for %s, want %s", d, want*time.Second)
		}
		if w := l.wait("k"); w != want*time.Second {
			t.Errorf("wait %s, want %s", w, want*time.Second)
		}
		if l.wait("other") != 0 {
			t.Error("another key is closed too")
		}
	}
	c.Advance(8 * time.Second)
	if w := l.wait("k"); w != 0 {
		t.Errorf("still closed for %s once the time passed", w)
	}
	// Failing again goes on doubling from where it was ...
	if d := l.fail("k"); d != 8*time.Second {
		t.Errorf("the next failure closed for %s", d)
	}
	// ... until the key is cleared, or forgotten after an hour.
	l.clear("k")
	if l.wait("k") != 0 || l.fail("k") != 0 {
		t.Error("a cleared key is still closed")
	}
	for range 5 {
		l.fail("j")
	}
	c.Advance(2 * time.Hour)
	if d := l.fail("j"); d != 0 {
		t.Errorf("a key an hour after its last failure: closed for %s", d)
	}
}

func TestBackoffRemembersABoundedNumberOfKeys(t *testing.T) {
	c := newClock()
	l := newLimiter(LimiterConfig{Free: 1, Keys: 100, Now: c.Now})
	l.fail("victim")
	l.fail("victim")
	for i := range 1000 {
		c.Advance(time.Millisecond)
		l.fail(fmt.Sprint("key-", i))
	}
	if len(l.keys) > 100 {
		t.Errorf("%d keys remembered, bound 100", len(l.keys))
	}
}
