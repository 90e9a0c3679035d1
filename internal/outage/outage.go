// Package outage tells of a repeated operation's failures (a loop that
// writes to the state database every tick, say) without filling the log
// while the failure lasts: the first failure is logged with its error,
// the next ones are not, a reminder says the failure goes on every few
// minutes, and the recovery is logged once, with how many attempts failed
// and for how long.
package outage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RemindEvery is how long an ongoing failure stays quiet before the log
// is reminded of it.
const RemindEvery = 5 * time.Minute

// Reporter follows one operation's run of failures. Its zero value is not
// usable; make it with New. It is safe for concurrent use.
type Reporter struct {
	logger *slog.Logger
	level  slog.Level
	now    func() time.Time

	mu       sync.Mutex
	failures int
	since    time.Time // of the first failure of the run
	told     time.Time // when the run was last logged
}

// New returns a reporter that logs failures at level (their recoveries at
// info) to logger, with now as its clock (time.Now when nil).
func New(logger *slog.Logger, level slog.Level, now func() time.Time) *Reporter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Reporter{logger: logger, level: level, now: now}
}

// Report records an attempt: Fail with failed and err when err is not
// nil, Recover with recovered otherwise. It reports whether err is not
// nil.
func (r *Reporter) Report(err error, failed, recovered string, attrs ...any) bool {
	if err != nil {
		r.Fail(failed, err, attrs...)
		return true
	}
	r.Recover(recovered, attrs...)
	return false
}

// Fail records a failed attempt. The first of a run is logged as msg with
// the error; the next ones only when the run has been quiet for
// RemindEvery, saying how long it lasts.
func (r *Reporter) Fail(msg string, err error, attrs ...any) {
	now := r.now()
	r.mu.Lock()
	r.failures++
	first := r.failures == 1
	if first {
		r.since = now
	}
	remind := !first && now.Sub(r.told) >= RemindEvery
	if first || remind {
		r.told = now
	}
	n, since := r.failures, r.since
	r.mu.Unlock()
	switch {
	case first:
		r.logger.Log(context.Background(), r.level, msg, withError(attrs, err)...)
	case remind:
		r.logger.Log(context.Background(), r.level, fmt.Sprintf("%s: still failing, %d attempts over %s", msg, n, roundFor(now.Sub(since))), withError(attrs, err)...)
	}
}

// Recover records a successful attempt. After a run of failures it logs
// msg once at info, saying how many attempts failed over how long.
func (r *Reporter) Recover(msg string, attrs ...any) {
	now := r.now()
	r.mu.Lock()
	n, since := r.failures, r.since
	r.failures = 0
	r.mu.Unlock()
	if n == 0 {
		return
	}
	attempts := "1 failed attempt"
	if n > 1 {
		attempts = fmt.Sprintf("%d failed attempts", n)
	}
	r.logger.Info(fmt.Sprintf("%s, after %s over %s", msg, attempts, roundFor(now.Sub(since))), attrs...)
}

// Failing reports whether the last attempt failed.
func (r *Reporter) Failing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures > 0
}

// withError is attrs and the error, leaving the caller's slice alone.
func withError(attrs []any, err error) []any {
	return append(attrs[:len(attrs):len(attrs)], "error", err)
}

// roundFor rounds a span for people: tenths of a second below a minute,
// seconds above.
func roundFor(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
