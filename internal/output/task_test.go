package output

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestTaskRetriesWithBackoff runs a delivery whose destination fails twice
// and then works: it waits the backoff between tries, reports RETRYING
// with the error, then ACTIVE, and an ended run starts again at once.
func TestTaskRetriesWithBackoff(t *testing.T) {
	var mu sync.Mutex
	var calls []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	activeNow := make(chan struct{})
	tk := &task{
		out:     resource.OutputGroup{Name: "push", Type: resource.OutputRTMP},
		backoff: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond},
		now:     time.Now,
		logger:  discardLogger(),
	}
	tk.attempt = func(ctx context.Context, active func()) error {
		mu.Lock()
		calls = append(calls, time.Now())
		n := len(calls)
		mu.Unlock()
		switch n {
		case 1, 2:
			return errors.New("connection refused")
		case 3:
			active()
			close(activeNow)
			return nil // the encoder run ended
		}
		<-ctx.Done()
		return nil
	}
	done := make(chan struct{})
	go func() { tk.run(ctx); close(done) }()
	<-activeNow
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st := tk.Status()
	if st.Name != "push" || st.Type != resource.OutputRTMP || st.LastError != "connection refused" || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 4 {
		t.Fatalf("%d attempts, want 4", len(calls))
	}
	if d := calls[1].Sub(calls[0]); d < 10*time.Millisecond {
		t.Errorf("the first retry came after %v, before its backoff", d)
	}
	if d := calls[2].Sub(calls[1]); d < 50*time.Millisecond {
		t.Errorf("the second retry came after %v, before its backoff", d)
	}
}

func TestTaskReportsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := make(chan struct{}, 1)
	tk := &task{
		out:     resource.OutputGroup{Name: "u", Type: resource.OutputUDP},
		backoff: []time.Duration{time.Hour},
		now:     time.Now,
		logger:  discardLogger(),
		attempt: func(context.Context, func()) error {
			failed <- struct{}{}
			return errors.New("no route to host")
		},
	}
	done := make(chan struct{})
	go func() { tk.run(ctx); close(done) }()
	<-failed
	deadline := time.Now().Add(10 * time.Second)
	for tk.Status().State != resource.DeliveryRetrying && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := tk.Status(); st.State != resource.DeliveryRetrying || st.Failures != 1 || st.LastError != "no route to host" {
		t.Errorf("status %+v", st)
	}
	cancel() // a stop ends the wait at once
	<-done
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
