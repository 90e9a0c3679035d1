package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records what the components of a test do, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, s)
}

func (j *journal) got() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.lines)
}

type fake struct {
	name      string
	j         *journal
	failStart error
	closeTime time.Duration
}

func (f *fake) Start(context.Context) error {
	if f.failStart != nil {
		f.j.add("fail " + f.name)
		return f.failStart
	}
	f.j.add("start " + f.name)
	return nil
}

func (f *fake) Close(context.Context) error {
	time.Sleep(f.closeTime)
	f.j.add("close " + f.name)
	return nil
}

func parts(j *journal, names ...string) []Part {
	out := make([]Part, 0, len(names))
	for _, n := range names {
		out = append(out, Part{Name: n, Component: &fake{name: n, j: j}})
	}
	return out
}

func TestGroupStartsInOrderAndClosesInReverse(t *testing.T) {
	j := &journal{}
	g, err := NewGroup(nil, parts(j, "a", "b", "c")...)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start c", "close c", "close b", "close a"}
	if got := j.got(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A second close closes nothing twice.
	if err := g.Close(context.Background()); err != nil || len(j.got()) != len(want) {
		t.Fatalf("a second close: %v, %q", err, j.got())
	}
}

func TestGroupFailingMidStartClosesTheStartedOnes(t *testing.T) {
	j := &journal{}
	ps := parts(j, "the store", "the bus", "the listener", "the manager")
	ps[2].Component.(*fake).failStart = errors.New("address in use")
	g, err := NewGroup(nil, ps...)
	if err != nil {
		t.Fatal(err)
	}
	err = g.Start(context.Background())
	if err == nil || err.Error() != "starting the listener: address in use" {
		t.Fatalf("start: %v, want the failing part named", err)
	}
	want := []string{"start the store", "start the bus", "fail the listener", "close the bus", "close the store"}
	if got := j.got(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := g.Close(context.Background()); err != nil || len(j.got()) != len(want) {
		t.Fatalf("closing after a failed start closes nothing again: %v, %q", err, j.got())
	}
}

func TestGroupRefusesAPartBeforeWhatItNeeds(t *testing.T) {
	j := &journal{}
	ps := parts(j, "the store", "the manager")
	ps[0].Needs = []string{"the manager"}
	if _, err := NewGroup(nil, ps...); err == nil || err.Error() != "the store needs the manager, which starts after it" {
		t.Errorf("a part before its need: %v", err)
	}
	ps = parts(j, "the manager")
	ps[0].Needs = []string{"the store"}
	if _, err := NewGroup(nil, ps...); err == nil || err.Error() != "the manager needs the store, which is not in the list" {
		t.Errorf("a missing need: %v", err)
	}
	ps = parts(j, "the store", "the store")
	if _, err := NewGroup(nil, ps...); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a part listed twice: %v", err)
	}
	if len(j.got()) != 0 {
		t.Errorf("a refused group started something: %q", j.got())
	}
}

func TestGroupSaysHowLongASlowCloseTook(t *testing.T) {
	var logs bytes.Buffer
	j := &journal{}
	ps := parts(j, "the quick part", "the slow part")
	ps[1].Component.(*fake).closeTime = SlowClose + 50*time.Millisecond
	g, err := NewGroup(slog.New(slog.NewTextHandler(&logs, nil)), ps...)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := logs.String(); !strings.Contains(s, "stopping the slow part took 1.") || strings.Contains(s, "quick part took") {
		t.Errorf("logs: %s", s)
	}
}

func TestLoopRunsUntilStopped(t *testing.T) {
	var l Loop
	if err := l.Stop(context.Background()); err != nil {
		t.Fatalf("stopping a loop that never ran: %v", err)
	}
	startCtx, cancel := context.WithCancel(context.Background())
	running, ended := make(chan struct{}), make(chan struct{})
	l.Go(startCtx, func(ctx context.Context) {
		close(running)
		<-ctx.Done()
		close(ended)
	})
	<-running
	cancel() // the start's context ending does not stop the loop
	select {
	case <-ended:
		t.Fatal("the loop ended with the start's context")
	case <-time.After(50 * time.Millisecond):
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Stop returned before the loop ended")
	}
}

func TestCloseWithinBoundsAClose(t *testing.T) {
	var deadline time.Time
	c := CloseWithin(time.Minute, Funcs{OnClose: func(ctx context.Context) error {
		deadline, _ = ctx.Deadline()
		return ctx.Err()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("a close with time of its own saw the group's context end: %v", err)
	}
	if time.Until(deadline) < 50*time.Second {
		t.Errorf("deadline %s from now, want about a minute", time.Until(deadline))
	}
}

func TestOnceClosesOnce(t *testing.T) {
	j := &journal{}
	c := Once(&fake{name: "the store", j: j})
	for range 3 {
		_ = c.Close(context.Background())
	}
	if got := j.got(); !slices.Equal(got, []string{"close the store"}) {
		t.Fatalf("got %q", got)
	}
}
