// Package poll waits in tests for something that happens in the
// background: it checks a condition again and again until it holds or a
// generous deadline passes. It never asserts how long anything took; the
// deadline only bounds a test that would otherwise hang.
package poll

import (
	"testing"
	"time"
)

// The pause between two checks starts short, so that a condition that
// holds almost at once is seen at once, and doubles up to maxPause, so that
// a slow condition (an HTTP request, a process run) is not hammered.
const (
	firstPause = time.Millisecond
	maxPause   = 50 * time.Millisecond
)

// Until checks cond until it reports true, failing t after timeout with
// what it waited for and the detail of cond's last answer. cond runs on
// the test's goroutine, so it may call t.Fatal itself.
func Until(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	ok, last := wait(timeout, cond)
	switch {
	case ok:
	case last == "":
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	default:
		t.Fatalf("timed out after %v waiting for %s; last seen: %s", timeout, what, last)
	}
}

// UntilTrue is Until for a condition without a detail to report.
func UntilTrue(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	Until(t, what, timeout, func() (bool, string) { return cond(), "" })
}

// Reached checks cond until it reports true or timeout passes, and says
// whether it did. It is for goroutines other than the test's own (a
// handler of a test server, say), which must not fail the test.
func Reached(timeout time.Duration, cond func() bool) bool {
	ok, _ := wait(timeout, func() (bool, string) { return cond(), "" })
	return ok
}

// wait is the loop behind Until and Reached: cond is checked at least once,
// and once more after the deadline, so a slow last pause cannot lose an
// answer that came in time.
func wait(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	pause := firstPause
	for {
		ok, detail := cond()
		if ok {
			return true, ""
		}
		if !time.Now().Before(deadline) {
			return false, detail
		}
		time.Sleep(min(pause, time.Until(deadline)+time.Millisecond))
		pause = min(2*pause, maxPause)
	}
}
