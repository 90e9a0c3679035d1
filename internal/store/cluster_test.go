package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// newChannel stores a channel for the lease cases.
func newChannel(t *testing.T, s *Store, id, name string, desired resource.ChannelState) {
	t.Helper()
	now := time.Now().UTC()
	rec := ChannelRecord{Channel: resource.Channel{ID: id, ChannelSpec: resource.ChannelSpec{Name: name}, State: resource.StateIdle, StateChangedAt: now, CreatedAt: now, UpdatedAt: now},
		Desired: desired}
	if err := s.CreateChannel(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

func testNodes(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	a := NodeRecord{ID: "a", Advertise: "http://127.0.0.1:1", Incarnation: "a1", MaxChannels: 4, Version: "v1"}
	if clash, err := s.ClaimNode(ctx, a, time.Minute); err != nil || clash != nil {
		t.Fatalf("claiming a new node: %v %v", clash, err)
	}
	got, err := s.GetNode(ctx, "a")
	if err != nil || got.Advertise != a.Advertise || got.MaxChannels != 4 || got.Version != "v1" || got.Stopped || got.StartedAt.IsZero() {
		t.Fatalf("the node's row: %+v %v", got, err)
	}
	first := got.LastHeartbeat
	poll.Until(t, "a heartbeat later on the database's clock", 10*time.Second, func() (bool, string) {
		at, err := s.Heartbeat(ctx, "a", "a1")
		return err == nil && at.After(first), at.String()
	})
	if _, err := s.Heartbeat(ctx, "a", "another"); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("a heartbeat of another incarnation: %v, want ErrNodeTaken", err)
	}
	nodes, now, err := s.ListNodes(ctx)
	if err != nil || len(nodes) != 1 || now.IsZero() || now.Sub(nodes[0].LastHeartbeat) > time.Minute {
		t.Fatalf("the nodes: %+v at %v: %v", nodes, now, err)
	}
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	if _, err := s.AcquireLease(ctx, "ch-1", "a", "a1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.NodeGoodbye(ctx, "a", "a1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetNode(ctx, "a"); !got.Stopped {
		t.Errorf("after a goodbye the node is not stopped: %+v", got)
	}
	if leases, _ := s.ListLeases(ctx); len(leases) != 0 {
		t.Errorf("a goodbye left live leases: %+v", leases)
	}
	// The same id starts again: its row is its own again.
	if clash, err := s.ClaimNode(ctx, NodeRecord{ID: "a", Advertise: a.Advertise, Incarnation: "a2", MaxChannels: 1}, time.Minute); err != nil || clash != nil {
		t.Fatalf("a node starting again after its goodbye: %v %v", clash, err)
	}
}

func testNodeClash(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	a := NodeRecord{ID: "a", Advertise: "http://127.0.0.1:1", Incarnation: "a1", MaxChannels: 1}
	if clash, err := s.ClaimNode(ctx, a, time.Minute); err != nil || clash != nil {
		t.Fatalf("%v %v", clash, err)
	}
	for _, other := range []NodeRecord{
		{ID: "a", Advertise: "http://127.0.0.1:2", Incarnation: "x", MaxChannels: 1},
		{ID: "b", Advertise: "http://127.0.0.1:1", Incarnation: "y", MaxChannels: 1},
	} {
		clash, err := s.ClaimNode(ctx, other, time.Minute)
		if err != nil || clash == nil || clash.ID != "a" || clash.Incarnation != "a1" {
			t.Errorf("claiming %+v beside a fresh node a: %+v %v, want a named", other, clash, err)
		}
	}
	// Once a's heartbeat is older than fresh, its id may be taken.
	poll.Until(t, "node a's heartbeat to be stale", 10*time.Second, func() (bool, string) {
		clash, err := s.ClaimNode(ctx, NodeRecord{ID: "a", Advertise: "http://127.0.0.1:1", Incarnation: "a2", MaxChannels: 1}, 200*time.Millisecond)
		return err == nil && clash == nil, "still fresh"
	})
	if _, err := s.Heartbeat(ctx, "a", "a1"); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("the old incarnation's heartbeat: %v, want ErrNodeTaken", err)
	}
}

func testLeases(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if _, err := s.ClaimNode(ctx, NodeRecord{ID: n, Advertise: "http://" + n, Incarnation: n + "1", MaxChannels: 2}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	got, err := s.AcquireLease(ctx, "ch-1", "a", "a1", time.Minute)
	if err != nil || got != (Acquired{Epoch: 1}) {
		t.Fatalf("the first lease: %+v, %v; want epoch 1", got, err)
	}
	if _, err := s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("acquiring a live lease: %v, want ErrLeaseHeld", err)
	}
	if _, err := s.AcquireLease(ctx, "ch-none", "b", "b1", time.Minute); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("the lease of no channel: %v, want not found", err)
	}
	renewed, err := s.RenewLeases(ctx, "a", "a1", time.Minute, []string{"ch-1"})
	if err != nil || renewed["ch-1"] != 1 {
		t.Errorf("renewal: %v %v", renewed, err)
	}
	if renewed, _ := s.RenewLeases(ctx, "b", "b1", time.Minute, []string{"ch-1"}); len(renewed) != 0 {
		t.Errorf("another node renewed a's lease: %v", renewed)
	}
	if renewed, _ := s.RenewLeases(ctx, "a", "other", time.Minute, []string{"ch-1"}); len(renewed) != 0 {
		t.Errorf("another incarnation of a renewed its lease: %v", renewed)
	}
	leases, err := s.ListLeases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Holder != "a" || leases[0].Advertise != "http://a" || leases[0].Channel != "one" ||
		leases[0].Epoch != 1 || leases[0].Desired != resource.StateRunning {
		t.Fatalf("the live leases: %+v %v", leases, err)
	}
	holds, err := s.ListChannelHolds(ctx)
	if err != nil || len(holds) != 1 || holds[0].Holder != "a" || holds[0].Epoch != 1 || holds[0].Desired != resource.StateRunning {
		t.Fatalf("the holds: %+v %v", holds, err)
	}
	if err := s.SetChannelStatus(ctx, "ch-1", Fence{"a", 1}, `{"pipeline":{"speed":1}}`); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); leases[0].Status == "" || leases[0].StatusAt.IsZero() {
		t.Errorf("no status after the holder's report: %+v", leases[0])
	}
	// Released, another takes it with the next epoch; the same holder
	// taking it again would count one more too.
	if err := s.ReleaseLease(ctx, "ch-1", Fence{"a", 1}); err != nil {
		t.Fatal(err)
	}
	if holds, _ := s.ListChannelHolds(ctx); holds[0].Holder != "" {
		t.Errorf("a released lease still holds: %+v", holds[0])
	}
	got, err = s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute)
	if err != nil || got != (Acquired{Epoch: 2, Previous: "a", Released: true}) {
		t.Fatalf("taking a released lease: %+v, %v; want epoch 2, let go by a", got, err)
	}
	if leases, _ := s.ListLeases(ctx); leases[0].Status != "" {
		t.Errorf("the new holder shows the old holder's status: %+v", leases[0])
	}
	if err := s.ReleaseLease(ctx, "ch-1", Fence{"a", 1}); err != nil {
		t.Fatal(err)
	}
	if holds, _ := s.ListChannelHolds(ctx); holds[0].Holder != "b" {
		t.Errorf("a stale release ended the new holder's lease: %+v", holds[0])
	}
	if err := s.SetChannelStatus(ctx, "ch-1", Fence{"a", 1}, "{}"); !errors.Is(err, ErrFenced) {
		t.Errorf("the old holder's report: %v, want ErrFenced", err)
	}
	// Deleting the channel takes its lease along.
	if err := s.DeleteChannel(ctx, "ch-1", Fence{"b", 2}); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); len(leases) != 0 {
		t.Errorf("a deleted channel's lease: %+v", leases)
	}
}

func testLeaseExpiry(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	if _, err := s.AcquireLease(ctx, "ch-1", "a", "a1", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Nothing renews it: when the database's clock passes its expiry,
	// another node takes it, with the next epoch, and a's renewal finds
	// nothing.
	var got Acquired
	poll.Until(t, "the lease to expire", 10*time.Second, func() (bool, string) {
		var err error
		got, err = s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute)
		return err == nil, errString(err)
	})
	if got != (Acquired{Epoch: 2, Previous: "a"}) {
		t.Errorf("a takeover after expiry: %+v, want epoch 2 taken over from a", got)
	}
	if renewed, _ := s.RenewLeases(ctx, "a", "a1", time.Minute, []string{"ch-1"}); len(renewed) != 0 {
		t.Errorf("the expired holder renewed: %v", renewed)
	}
	// An expired lease is not renewed even without a takeover.
	newChannel(t, s, "ch-2", "two", resource.StateRunning)
	if _, err := s.AcquireLease(ctx, "ch-2", "a", "a1", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the second lease to expire", 10*time.Second, func() (bool, string) {
		holds, err := s.ListChannelHolds(ctx)
		for _, h := range holds {
			if h.ID == "ch-2" {
				return h.Holder == "", h.Holder
			}
		}
		return false, errString(err)
	})
	if renewed, _ := s.RenewLeases(ctx, "a", "a1", time.Minute, []string{"ch-2"}); len(renewed) != 0 {
		t.Errorf("an expired lease was renewed: %v", renewed)
	}
}

func testFencedWrites(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	if _, err := s.AcquireLease(ctx, "ch-1", "a", "a1", time.Minute); err != nil {
		t.Fatal(err)
	}
	old := Fence{"a", 1}
	at := time.Now().UTC()
	running := resource.StateRunning
	if err := s.SetChannelState(ctx, "ch-1", old, resource.StateChange{At: at, From: resource.StateIdle, To: resource.StateStarting, Reason: "a starts it"}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "ch-1", old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute); err != nil {
		t.Fatal(err)
	}
	now := Fence{"b", 2}
	if err := s.SetChannelState(ctx, "ch-1", now, resource.StateChange{At: at, From: resource.StateStarting, To: resource.StateRunning, Reason: "b runs it"}, "", &running); err != nil {
		t.Fatal(err)
	}
	// Every write of the old holder is refused and changes nothing.
	stale := []struct {
		name  string
		write func() error
	}{
		{"state", func() error {
			return s.SetChannelState(ctx, "ch-1", old, resource.StateChange{At: at, From: resource.StateRunning, To: resource.StateIdle, Reason: "a stops it"}, "", nil)
		}},
		{"timeline", func() error {
			return s.SaveTimeline(ctx, "ch-1", old, TimelineState{NextNumber: 1, Discontinuity: 99})
		}},
		{"deletion", func() error { return s.DeleteChannel(ctx, "ch-1", old) }},
		{"another node's fence with the right epoch", func() error {
			return s.SaveTimeline(ctx, "ch-1", Fence{"c", 2}, TimelineState{Discontinuity: 98})
		}},
	}
	for _, w := range stale {
		if err := w.write(); !errors.Is(err, ErrFenced) {
			t.Errorf("the old holder's %s: %v, want ErrFenced", w.name, err)
		}
	}
	rec, err := s.GetChannel(ctx, "ch-1")
	if err != nil || rec.State != resource.StateRunning || rec.Timeline.Discontinuity != 0 {
		t.Errorf("after the fenced writes: %+v %v", rec, err)
	}
	hist, _ := s.History(ctx, "ch-1", 10)
	for _, h := range hist {
		if h.Reason == "a stops it" {
			t.Errorf("a fenced change is in the history: %+v", hist)
		}
	}
	if err := s.SaveTimeline(ctx, "ch-1", now, TimelineState{NextNumber: 7, Discontinuity: 3}); err != nil {
		t.Errorf("the holder's timeline: %v", err)
	}
}

func testGeneration(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateIdle)
	for want := uint64(1); want <= 2; want++ {
		gen, err := s.UpdateChannelSpec(ctx, "ch-1", "", resource.ChannelSpec{Name: "one", AutoStart: want == 2}, time.Now())
		if err != nil || gen != want {
			t.Fatalf("update %d: generation %d, %v", want, gen, err)
		}
	}
	rec, err := s.GetChannel(ctx, "one")
	if err != nil || rec.Generation != 2 || !rec.AutoStart {
		t.Fatalf("the record: %+v %v", rec, err)
	}
	if err := s.SetChannelDesired(ctx, "ch-1", resource.StateDeleted); err != nil {
		t.Fatal(err)
	}
	if holds, _ := s.ListChannelHolds(ctx); holds[0].Desired != resource.StateDeleted || holds[0].Generation != 2 {
		t.Errorf("the hold: %+v", holds[0])
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// testTakeoverWaitsForFencedWrite holds a fenced write's transaction open
// past the lease's expiry: another node's acquisition waits for it to end
// rather than committing between the write's check and the write, so the
// new holder reads what the old one wrote before its fence ended.
func testTakeoverWaitsForFencedWrite(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	if _, err := s.AcquireLease(ctx, "ch-1", "a", "a1", time.Second); err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	// The transaction waits, idle, past the lease: a server that ends
	// sessions idle in a transaction must not end this one.
	if _, err := tx.ExecContext(ctx, "SET LOCAL idle_in_transaction_session_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	if err := s.checkFence(ctx, tx, "ch-1", Fence{"a", 1}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the lease to expire", 10*time.Second, func() (bool, string) {
		holds, err := s.ListChannelHolds(ctx)
		return err == nil && len(holds) == 1 && holds[0].Holder == "", "still held"
	})
	taken := make(chan uint64, 1)
	go func() {
		got, err := s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute)
		if err != nil {
			t.Error(err)
		}
		taken <- got.Epoch
	}()
	select {
	case <-taken:
		t.Fatal("the lease was taken over while a fenced write held it")
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET discontinuity = 5 WHERE id = 'ch-1'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if epoch := <-taken; epoch != 2 {
		t.Errorf("the takeover after the write: epoch %d, want 2", epoch)
	}
	rec, _ := s.GetChannel(ctx, "ch-1")
	if rec.Timeline.Discontinuity != 5 {
		t.Errorf("the old holder's write before the takeover is lost: %+v", rec.Timeline)
	}
}
