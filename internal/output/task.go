package output

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// defaultBackoff is the wait before successive retries of a failed
// delivery; the last delay repeats.
func defaultBackoff() []time.Duration {
	return []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
}

// healthyAfter is how long an attempt must run before a failure counts as
// a new one rather than another in a row.
const healthyAfter = 30 * time.Second

// attemptFunc runs a delivery once. active is called once it delivers. It
// returns nil when the encoder run it followed ended (the next attempt
// starts at once), an error when it failed (the next waits a backoff).
type attemptFunc func(ctx context.Context, active func()) error

// task runs one delivery output until its context ends, retrying with
// backoff, and keeps its status.
type task struct {
	out     resource.OutputGroup
	path    string
	attempt attemptFunc
	backoff []time.Duration
	now     func() time.Time
	logger  *slog.Logger

	mu     sync.Mutex
	status resource.DeliveryStatus
}

func (t *task) set(st resource.DeliveryState, lastErr string, failures int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status.State != st {
		t.status.Since = t.now().UTC()
	}
	t.status.State, t.status.Failures = st, failures
	if lastErr != "" {
		t.status.LastError = lastErr
	}
}

// Status returns the delivery's current status.
func (t *task) Status() resource.DeliveryStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.status
	s.Name, s.Type, s.Path = t.out.Name, t.out.Type, t.path
	return s
}

func (t *task) run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		t.set(resource.DeliveryWaiting, "", failures)
		began := t.now()
		err := t.attempt(ctx, func() {
			t.set(resource.DeliveryActive, "", failures)
			t.logger.Info(fmt.Sprintf("output %s (%s) is delivering", t.out.Name, t.out.Type))
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil || errors.Is(err, ErrBehind) {
			if err != nil {
				t.logger.Warn(fmt.Sprintf("output %s (%s) fell behind the live stream and starts again from the next key frame", t.out.Name, t.out.Type))
			}
			failures = 0
			continue
		}
		if t.now().Sub(began) > healthyAfter {
			failures = 0
		}
		delay := t.backoff[min(failures, len(t.backoff)-1)]
		failures++
		t.set(resource.DeliveryRetrying, err.Error(), failures)
		t.logger.Warn(fmt.Sprintf("output %s (%s) failed; the channel goes on, retrying in %v", t.out.Name, t.out.Type, delay),
			"error", err.Error(), "failures", failures)
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}
