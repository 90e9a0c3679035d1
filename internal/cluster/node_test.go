package cluster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// database starts PostgreSQL and opens the state store on it.
func database(t *testing.T) *store.Store {
	t.Helper()
	pg := pgserver.Start(t)
	st, err := store.Open(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// node starts a node on st, closed at the end of the test.
func node(t *testing.T, st *store.Store, cfg Config) *Cluster {
	t.Helper()
	cfg.Store = st
	if cfg.Advertise == "" {
		cfg.Advertise = "http://127.0.0.1:1/" + cfg.NodeID
	}
	if cfg.MaxChannels == 0 {
		cfg.MaxChannels = 4
	}
	c := New(cfg)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// channel stores a channel that should run.
func channel(t *testing.T, st *store.Store, id, name string) {
	t.Helper()
	now := time.Now().UTC()
	if err := st.CreateChannel(context.Background(), store.ChannelRecord{
		Channel: resource.Channel{ID: id, ChannelSpec: resource.ChannelSpec{Name: name}, State: resource.StateIdle, StateChangedAt: now, CreatedAt: now, UpdatedAt: now},
		Desired: resource.StateRunning,
	}); err != nil {
		t.Fatal(err)
	}
}

// holdings records what a node's hooks hear.
type holdings struct {
	mu  sync.Mutex
	all []Holding
}

func (h *holdings) add(x Holding) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, x)
}

func (h *holdings) list() []Holding {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Holding(nil), h.all...)
}

// fakeClock is a node's clock that a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestAcquireTakeoverAndTheDirectory(t *testing.T) {
	st := database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 3 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 3 * time.Second})
	channel(t, st, "ch-1", "news")
	var heard holdings
	stop := a.OnHolding(heard.add)
	defer stop()
	wake, stopWake := b.Wakes()
	defer stopWake()

	ctx := context.Background()
	l, err := a.Acquire(ctx, "ch-1", "news")
	if err != nil || l.Epoch() != 1 || l.Fence() != (store.Fence{Holder: "a", Epoch: 1}) {
		t.Fatalf("a's lease: %+v %v", l, err)
	}
	if got := heard.list(); len(got) != 1 || !got[0].Held || got[0].Epoch != 1 || got[0].Channel != "news" {
		t.Errorf("a's hook heard %+v", got)
	}
	if _, err := b.Acquire(ctx, "ch-1", "news"); !errors.Is(err, ErrHeld) {
		t.Errorf("b acquiring a's live lease: %v, want ErrHeld", err)
	}
	select {
	case <-wake:
	case <-time.After(30 * time.Second):
		t.Fatal("b was not woken by a's acquisition")
	}
	poll.Until(t, "b's directory to name a as the holder", 30*time.Second, func() (bool, string) {
		h, ok := b.Holder("news")
		return ok && h.Node == "a" && h.Advertise == "http://127.0.0.1:1/a" && h.Epoch == 1 && !h.Self && h.ChannelID == "ch-1", ""
	})
	if h, ok := a.Holder("ch-1"); !ok || !h.Self || h.Epoch != 1 {
		t.Errorf("a's own holder of the channel: %+v %v", h, ok)
	}
	nodes, err := b.Nodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("b's nodes: %+v %v", nodes, err)
	}
	if n := nodes[0]; n.ID != "a" || n.State != resource.NodeLive || n.Load != 1 || n.Channels[0] != "news" || n.Self {
		t.Errorf("node a as b sees it: %+v", n)
	}
	if n := nodes[1]; n.ID != "b" || !n.Self || n.Load != 0 || n.MaxChannels != 4 {
		t.Errorf("node b as itself: %+v", n)
	}

	// a lets the channel go: b takes it with the next epoch, and a's hook
	// hears it let go.
	if err := a.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got := heard.list(); len(got) != 2 || got[1].Held || got[1].Lost {
		t.Errorf("a's hook after the release: %+v", got)
	}
	lb, err := b.Acquire(ctx, "ch-1", "news")
	if err != nil || lb.Epoch() != 2 {
		t.Fatalf("b taking over: %+v %v", lb, err)
	}
	if _, ok := a.Holder("news"); ok {
		poll.Until(t, "a's directory to see b", 30*time.Second, func() (bool, string) {
			h, ok := a.Holder("news")
			return ok && h.Node == "b", ""
		})
	}
}

func TestALeaseNotRenewedInTimeIsLost(t *testing.T) {
	st := database(t)
	clock := &fakeClock{now: time.Now()}
	// A long lease: the renewals (every 20 s) do not run during the test;
	// the node's clock alone moves past the lease.
	a := node(t, st, Config{NodeID: "a", Lease: time.Minute, Now: clock.Now})
	channel(t, st, "ch-1", "news")
	var heard holdings
	a.OnHolding(heard.add)
	l, err := a.Acquire(context.Background(), "ch-1", "news")
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute - margin(time.Minute) - time.Second)
	a.watch()
	select {
	case <-l.Lost():
		t.Fatal("the lease was lost before its time")
	default:
	}
	clock.Add(2 * time.Second)
	select {
	case <-l.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("the lease was not lost once lease - margin passed without a renewal")
	}
	got := heard.list()
	if len(got) != 2 || got[1].Held || !got[1].Lost || got[1].Epoch != 1 {
		t.Errorf("the hook heard %+v", got)
	}
	if _, ok := a.Lease("ch-1"); ok {
		t.Error("the node still lists a lost lease")
	}
	if err := a.Release(context.Background(), l); err != nil {
		t.Errorf("releasing a lost lease: %v", err)
	}
}

func TestARenewalThatFindsTheLeaseTakenLosesIt(t *testing.T) {
	st := database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 3 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 3 * time.Second})
	channel(t, st, "ch-1", "news")
	ctx := context.Background()
	l, err := a.Acquire(ctx, "ch-1", "news")
	if err != nil {
		t.Fatal(err)
	}
	// The lease ends in the database behind a's back (as if it had
	// expired), and b takes the channel.
	if err := st.ReleaseLease(ctx, "ch-1", l.Fence()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "ch-1", "news"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("a's renewal did not find its lease gone")
	}
	if err := st.SaveTimeline(ctx, "ch-1", l.Fence(), store.TimelineState{Discontinuity: 9}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a's write after losing the lease: %v, want ErrFenced", err)
	}
}

func TestRenewalsKeepALeaseAndGoodbyeGivesItUp(t *testing.T) {
	st := database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 2 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 2 * time.Second})
	channel(t, st, "ch-1", "news")
	ctx := context.Background()
	l, err := a.Acquire(ctx, "ch-1", "news")
	if err != nil {
		t.Fatal(err)
	}
	// Several leases long: the renewals keep it.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := b.Acquire(ctx, "ch-1", "news"); !errors.Is(err, ErrHeld) {
			t.Fatalf("b took a renewed lease: %v", err)
		}
		select {
		case <-l.Lost():
			t.Fatal("a renewed lease was lost")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Acquire(ctx, "ch-1", "news")
	if err != nil || lb.Epoch() != 2 {
		t.Fatalf("b after a's goodbye: %+v %v", lb, err)
	}
	nodes, _ := b.Nodes(ctx)
	if len(nodes) != 2 || nodes[0].State != resource.NodeStopped {
		t.Errorf("a after its goodbye: %+v", nodes)
	}
}

func TestADuplicateNodeIsRefusedNamingTheFirst(t *testing.T) {
	st := database(t)
	node(t, st, Config{NodeID: "a", Advertise: "http://127.0.0.1:7001", Heartbeat: 300 * time.Millisecond})
	for _, cfg := range []Config{
		{NodeID: "a", Advertise: "http://127.0.0.1:7002"},
		{NodeID: "b", Advertise: "http://127.0.0.1:7001"},
	} {
		cfg.Store, cfg.MaxChannels, cfg.Heartbeat = st, 1, 300*time.Millisecond
		err := New(cfg).Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "node a, advertised at http://127.0.0.1:7001") || !strings.Contains(err.Error(), "is running") {
			t.Errorf("starting %s at %s beside a: %v, want a named", cfg.NodeID, cfg.Advertise, err)
		}
	}
}

func TestANodeStartingAgainAfterACrashTakesItsID(t *testing.T) {
	st := database(t)
	cfg := Config{Store: st, NodeID: "a", Advertise: "http://127.0.0.1:7001", MaxChannels: 1, Heartbeat: 300 * time.Millisecond}
	crashed := New(cfg)
	if err := crashed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// It stops without a goodbye: its heartbeat goes stale.
	if err := crashed.loops.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := New(cfg)
	if err := again.Start(context.Background()); err != nil {
		t.Fatalf("the node starting again: %v", err)
	}
	t.Cleanup(func() { _ = again.Close(context.Background()) })
}

func TestTheClockIsComparedWithTheDatabases(t *testing.T) {
	c := New(Config{NodeID: "a"})
	db := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c.compareClocks(db, db.Add(-1500*time.Millisecond), db.Add(-1300*time.Millisecond))
	if p := c.ClockProblem(); !strings.Contains(p, "1.4s behind the database's") {
		t.Errorf("a node 1.4 s behind: %q", p)
	}
	c.compareClocks(db, db.Add(2*time.Second), db.Add(2*time.Second))
	if p := c.ClockProblem(); !strings.Contains(p, "2s ahead of the database's") {
		t.Errorf("a node 2 s ahead: %q", p)
	}
	c.compareClocks(db, db.Add(-300*time.Millisecond), db.Add(300*time.Millisecond))
	if p := c.ClockProblem(); p != "" {
		t.Errorf("a node in step: %q", p)
	}
}

func TestASingleServerHoldsEveryChannel(t *testing.T) {
	c := Solo(Config{NodeID: "solo", Advertise: "http://127.0.0.1:8080"})
	var heard holdings
	c.OnHolding(heard.add)
	l, err := c.Acquire(context.Background(), "ch-1", "news")
	if err != nil || !l.Fence().IsZero() {
		t.Fatalf("a single server's lease: %+v %v", l, err)
	}
	if h, ok := c.Holder("anything"); !ok || !h.Self || h.Node != "solo" {
		t.Errorf("a single server's holder: %+v %v", h, ok)
	}
	take, _ := c.Place(context.Background(), []Candidate{{"ch-1", "news"}})
	if len(take) != 1 {
		t.Errorf("a single server's placement: %v", take)
	}
	if got := heard.list(); len(got) != 1 || !got[0].Held {
		t.Errorf("the hook heard %+v", got)
	}
}
