package poll

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a failure instead of ending the
// test, so that Until's own failure can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	Until(t, "the third call", time.Minute, func() (bool, string) {
		n := calls.Add(1)
		return n == 3, fmt.Sprintf("call %d", n)
	})
	if n := calls.Load(); n != 3 {
		t.Fatalf("condition called %d times, want 3", n)
	}
}

func TestUntilFailsWithTheLastDetail(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	Until(r, "a condition that never holds", 20*time.Millisecond, func() (bool, string) {
		calls++
		return false, fmt.Sprintf("call %d", calls)
	})
	want := fmt.Sprintf("waiting for a condition that never holds; last seen: call %d", calls)
	if !strings.Contains(r.failed, want) {
		t.Fatalf("failure %q, want it to contain %q", r.failed, want)
	}
	if calls < 2 {
		t.Fatalf("condition checked %d times before the deadline", calls)
	}
}

func TestUntilTrueFailsNamingWhatItWaitedFor(t *testing.T) {
	r := &recorder{TB: t}
	UntilTrue(r, "nothing", time.Millisecond, func() bool { return false })
	if !strings.HasSuffix(r.failed, "waiting for nothing") {
		t.Fatalf("failure %q", r.failed)
	}
}

func TestUntilChecksOnceEvenWithoutTime(t *testing.T) {
	r := &recorder{TB: t}
	UntilTrue(r, "a condition already true", 0, func() bool { return true })
	if r.failed != "" {
		t.Fatalf("a condition true at once failed: %s", r.failed)
	}
}

func TestReached(t *testing.T) {
	var flag atomic.Bool
	go func() { flag.Store(true) }()
	if !Reached(time.Minute, flag.Load) {
		t.Fatal("a condition that came true was not reached")
	}
	if Reached(10*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never held was reached")
	}
}
