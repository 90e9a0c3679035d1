package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestNodesOnPostgres runs the cases of nodes and leases on one real
// PostgreSQL server, each on a database of its own.
func TestNodesOnPostgres(t *testing.T) {
	pg := pgserver.Start(t)
	n := 0
	for _, c := range []struct {
		name string
		run  func(t *testing.T, e env)
	}{
		{"acquire, takeover and the directory", testAcquireTakeoverAndTheDirectory},
		{"the pipelines of a channel on two nodes", testPipelinesOfAChannel},
		{"a lease not renewed in time is lost", testALeaseNotRenewedInTimeIsLost},
		{"a renewal that finds the lease taken loses it", testARenewalThatFindsTheLeaseTakenLosesIt},
		{"renewals keep a lease and a goodbye gives it up", testRenewalsKeepALeaseAndGoodbyeGivesItUp},
		{"a duplicate node is refused, naming the first", testADuplicateNodeIsRefusedNamingTheFirst},
		{"a node starting again after a crash takes its id", testANodeStartingAgainAfterACrashTakesItsID},
		{"a node cut off from the database stops in time", testANodeCutOffFromTheDatabaseStopsInTime},
	} {
		n++
		t.Run(c.name, func(t *testing.T) {
			c.run(t, env{pg: pg, url: freshDatabase(t, pg, fmt.Sprintf("case_%d", n))})
		})
	}
}

// env is one case's database.
type env struct {
	pg  *pgserver.Server
	url string
}

// freshDatabase makes an empty database on the server and returns its URL.
func freshDatabase(t *testing.T, pg *pgserver.Server, name string) string {
	t.Helper()
	admin, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// database opens the state store on the case's database.
func (e env) database(t *testing.T) *store.Store { return openStore(t, e.url) }

// openStore opens the state store at dsn, closed at the end of the test.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
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

func testAcquireTakeoverAndTheDirectory(t *testing.T, e env) {
	st := e.database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 10 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 10 * time.Second})
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

func testALeaseNotRenewedInTimeIsLost(t *testing.T, e env) {
	st := e.database(t)
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
	if !a.Acting("news") || !a.Acting("ch-1") {
		t.Error("the node does not act for a channel whose lease is in time")
	}
	clock.Add(2 * time.Second)
	if a.Acting("news") {
		t.Error("the node acts for a channel whose time to act passed, before its watch lost the lease")
	}
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

func testARenewalThatFindsTheLeaseTakenLosesIt(t *testing.T, e env) {
	st := e.database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 6 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 6 * time.Second})
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

func testRenewalsKeepALeaseAndGoodbyeGivesItUp(t *testing.T, e env) {
	st := e.database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 5 * time.Second})
	b := node(t, st, Config{NodeID: "b", Lease: 5 * time.Second})
	channel(t, st, "ch-1", "news")
	ctx := context.Background()
	l, err := a.Acquire(ctx, "ch-1", "news")
	if err != nil {
		t.Fatal(err)
	}
	// Several leases long: the renewals keep it.
	deadline := time.Now().Add(11 * time.Second)
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

func testADuplicateNodeIsRefusedNamingTheFirst(t *testing.T, e env) {
	st := e.database(t)
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

func testANodeStartingAgainAfterACrashTakesItsID(t *testing.T, e env) {
	st := e.database(t)
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
	var log bytes.Buffer
	c := New(Config{NodeID: "a", Logger: slog.New(slog.NewTextHandler(&log, nil))})
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
	// The log warns once when the clocks part and says when they agree.
	logged := log.String()
	if strings.Count(logged, "level=WARN") != 1 || !strings.Contains(logged, "1.4s behind the database's") ||
		!strings.Contains(logged, "level=INFO msg=\"this node's clock agrees with the database's again\"") {
		t.Errorf("the node's log:\n%s", logged)
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
	take, _ := c.Place(context.Background(), []Candidate{{ChannelID: "ch-1", Channel: "news"}})
	if len(take) != 1 {
		t.Errorf("a single server's placement: %v", take)
	}
	if got := heard.list(); len(got) != 1 || !got[0].Held {
		t.Errorf("the hook heard %+v", got)
	}
}

// testANodeCutOffFromTheDatabaseStopsInTime cuts node a off from the
// database while it holds a channel: on its own clock, a gives the lease
// up before it expires in the database; b takes the channel once it has,
// with the next epoch; a, reconnected, can write nothing for it.
func testANodeCutOffFromTheDatabaseStopsInTime(t *testing.T, e env) {
	proxy := e.pg.Proxy(t)
	ctx := context.Background()
	direct := e.database(t)
	through := openStore(t, proxy.Through(e.url))
	a := node(t, through, Config{NodeID: "a", Lease: 4 * time.Second})
	b := node(t, direct, Config{NodeID: "b", Lease: 4 * time.Second})
	channel(t, direct, "ch-1", "news")
	l, err := a.Acquire(ctx, "ch-1", "news")
	if err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	select {
	case <-l.Lost():
	case <-time.After(time.Minute):
		t.Fatal("a, cut off from the database, did not give the lease up")
	}
	var lb *Lease
	poll.Until(t, "b to take the channel once a's lease expired", time.Minute, func() (bool, string) {
		var err error
		lb, err = b.Acquire(ctx, "ch-1", "news")
		return err == nil, fmt.Sprint(err)
	})
	if prev, over := lb.Previous(); lb.Epoch() != 2 || prev != "a" || !over {
		t.Errorf("b's lease: epoch %d, previous %q taken over %v; want 2, a, true", lb.Epoch(), prev, over)
	}
	proxy.Restore(t)
	poll.Until(t, "a's write to be refused once it reaches the database", time.Minute, func() (bool, string) {
		err := through.SaveTimeline(ctx, "ch-1", l.Fence(), store.TimelineState{Discontinuity: 9})
		return errors.Is(err, store.ErrFenced), fmt.Sprint(err)
	})
}

// testPipelinesOfAChannel takes the two pipelines of a channel on two
// nodes: each its own lease and epoch, both in the directory, each node
// acting for the channel and for its own pipeline only, placement keeping
// a third candidate pipeline away from the nodes that hold the channel's
// others while it can.
func testPipelinesOfAChannel(t *testing.T, e env) {
	st := e.database(t)
	a := node(t, st, Config{NodeID: "a", Lease: 10 * time.Second, MaxChannels: 2})
	b := node(t, st, Config{NodeID: "b", Lease: 10 * time.Second, MaxChannels: 1})
	channel(t, st, "ch-1", "news")
	ctx := context.Background()
	var heard holdings
	b.OnHolding(heard.add)
	la, err := a.AcquirePipeline(ctx, "ch-1", "news", 0)
	if err != nil || la.Pipeline() != 0 || la.Fence() != (store.Fence{Holder: "a", Epoch: 1}) {
		t.Fatalf("pipeline 0 on a: %+v %v", la, err)
	}
	lb, err := b.AcquirePipeline(ctx, "ch-1", "news", 1)
	if err != nil || lb.Fence() != (store.Fence{Holder: "b", Epoch: 1, Pipeline: 1}) {
		t.Fatalf("pipeline 1 on b: %+v %v", lb, err)
	}
	if got := heard.list(); len(got) != 1 || got[0].Pipeline != 1 || !got[0].Held {
		t.Errorf("b's hook heard %+v", got)
	}
	if _, err := a.AcquirePipeline(ctx, "ch-1", "news", 1); !errors.Is(err, ErrHeld) {
		t.Errorf("a taking b's pipeline: %v, want ErrHeld", err)
	}
	poll.Until(t, "each node's directory to name both holders", 30*time.Second, func() (bool, string) {
		ha, hb := a.Holders("news"), b.Holders("ch-1")
		ok := len(ha) == 2 && len(hb) == 2 && ha[0].Self && ha[0].Node == "a" && ha[1].Node == "b" && !ha[1].Self && ha[1].Pipeline == 1 &&
			hb[0].Node == "a" && !hb[0].Self && hb[1].Self
		return ok, fmt.Sprintf("a sees %+v, b sees %+v", ha, hb)
	})
	if h, ok := b.Holder("news"); !ok || h.Node != "a" || h.Pipeline != 0 {
		t.Errorf("the channel's holder as b sees it: %+v %v (pipeline 0's)", h, ok)
	}
	if !b.Acting("news") || b.ActingPipeline("news", 0) || !b.ActingPipeline("news", 1) {
		t.Error("b acts for the channel through pipeline 1, and not for pipeline 0")
	}
	// Let the renewals run: both leases stay.
	poll.Until(t, "a renewal of both leases", 30*time.Second, func() (bool, string) {
		leases, _ := st.ListLeases(ctx)
		return len(leases) == 2 && leases[1].ExpiresAt.After(time.Now().Add(9*time.Second)), fmt.Sprintf("%+v", leases)
	})
	select {
	case <-lb.Lost():
		t.Fatal("pipeline 1's lease was lost")
	default:
	}
	// Both pipelines of another channel on a (b is full): no room
	// elsewhere, until a third node starts; the pipeline a lets go then is
	// placed on it.
	channel(t, st, "ch-2", "sport")
	if _, err := a.AcquirePipeline(ctx, "ch-2", "sport", 0); err != nil {
		t.Fatal(err)
	}
	l2, err := a.AcquirePipeline(ctx, "ch-2", "sport", 1)
	if err != nil {
		t.Fatal(err)
	}
	a.refresh(ctx)
	if a.RoomElsewhere("ch-2") {
		t.Error("room elsewhere with b full")
	}
	c := node(t, st, Config{NodeID: "c", Lease: 10 * time.Second, MaxChannels: 2})
	poll.Until(t, "a to see room elsewhere for sport", 30*time.Second, func() (bool, string) {
		a.refresh(ctx)
		return a.RoomElsewhere("ch-2"), "no room"
	})
	if a.RoomElsewhere("ch-1") != true {
		t.Error("no room elsewhere for news, which c does not hold")
	}
	if err := a.Release(ctx, l2); err != nil {
		t.Fatal(err)
	}
	cand := []Candidate{{ChannelID: "ch-2", Channel: "sport", Pipeline: 1}}
	for _, n := range []*Cluster{a, b} {
		if take, err := n.Place(ctx, cand); err != nil || len(take) != 0 {
			t.Errorf("node %s takes %v (%v); placement chose c", n.SelfID(), take, err)
		}
	}
	if take, err := c.Place(ctx, cand); err != nil || len(take) != 1 {
		t.Errorf("node c takes %v (%v), want pipeline 1 of sport", take, err)
	}
}
