package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	renewed, err := s.RenewLeases(ctx, "a", "a1", time.Minute, []LeaseKey{{ChannelID: "ch-1"}})
	if err != nil || renewed[LeaseKey{ChannelID: "ch-1"}] != 1 {
		t.Errorf("renewal: %v %v", renewed, err)
	}
	if renewed, _ := s.RenewLeases(ctx, "b", "b1", time.Minute, []LeaseKey{{ChannelID: "ch-1"}}); len(renewed) != 0 {
		t.Errorf("another node renewed a's lease: %v", renewed)
	}
	if renewed, _ := s.RenewLeases(ctx, "a", "other", time.Minute, []LeaseKey{{ChannelID: "ch-1"}}); len(renewed) != 0 {
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
	if err := s.SetChannelStatus(ctx, "ch-1", Fence{Holder: "a", Epoch: 1}, `{"pipeline":{"speed":1}}`); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); leases[0].Status == "" || leases[0].StatusAt.IsZero() {
		t.Errorf("no status after the holder's report: %+v", leases[0])
	}
	// Released, another takes it with the next epoch; the same holder
	// taking it again would count one more too.
	if err := s.ReleaseLease(ctx, "ch-1", Fence{Holder: "a", Epoch: 1}); err != nil {
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
	if err := s.ReleaseLease(ctx, "ch-1", Fence{Holder: "a", Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if holds, _ := s.ListChannelHolds(ctx); holds[0].Holder != "b" {
		t.Errorf("a stale release ended the new holder's lease: %+v", holds[0])
	}
	if err := s.SetChannelStatus(ctx, "ch-1", Fence{Holder: "a", Epoch: 1}, "{}"); !errors.Is(err, ErrFenced) {
		t.Errorf("the old holder's report: %v, want ErrFenced", err)
	}
	// Deleting the channel takes its lease along.
	if err := s.DeleteChannel(ctx, "ch-1", Fence{Holder: "b", Epoch: 2}); err != nil {
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
	if renewed, _ := s.RenewLeases(ctx, "a", "a1", time.Minute, []LeaseKey{{ChannelID: "ch-1"}}); len(renewed) != 0 {
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
	if renewed, _ := s.RenewLeases(ctx, "a", "a1", time.Minute, []LeaseKey{{ChannelID: "ch-2"}}); len(renewed) != 0 {
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
	old := Fence{Holder: "a", Epoch: 1}
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
	now := Fence{Holder: "b", Epoch: 2}
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
			return s.SaveTimeline(ctx, "ch-1", Fence{Holder: "c", Epoch: 2}, TimelineState{Discontinuity: 98})
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
	if err := s.checkFence(ctx, tx, "ch-1", Fence{Holder: "a", Epoch: 1}); err != nil {
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

// testPipelineLeases checks the leases of a STANDARD channel's two
// pipelines: each taken, renewed, reported, released and fenced on its
// own, the channel's own writes fenced by pipeline 0's alone.
func testPipelineLeases(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	now := time.Now().UTC()
	rec := ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "one", ChannelClass: resource.ClassStandard},
		State: resource.StateIdle, StateChangedAt: now, CreatedAt: now, UpdatedAt: now}, Desired: resource.StateRunning}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	newChannel(t, s, "ch-2", "two", resource.StateRunning)
	p0, p1 := LeaseKey{ChannelID: "ch-1"}, LeaseKey{ChannelID: "ch-1", Pipeline: 1}
	if got, err := s.AcquirePipelineLease(ctx, p0, "a", "a1", time.Minute); err != nil || got.Epoch != 1 {
		t.Fatalf("pipeline 0: %+v %v", got, err)
	}
	if got, err := s.AcquirePipelineLease(ctx, p1, "b", "b1", time.Minute); err != nil || got.Epoch != 1 {
		t.Fatalf("pipeline 1 beside a held pipeline 0: %+v %v", got, err)
	}
	if _, err := s.AcquirePipelineLease(ctx, p1, "a", "a1", time.Minute); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("a held pipeline 1: %v, want ErrLeaseHeld", err)
	}
	holds, err := s.ListChannelHolds(ctx)
	if err != nil || len(holds) != 2 {
		t.Fatalf("holds: %+v %v", holds, err)
	}
	one, two := holds[0], holds[1]
	if one.Pipelines != 2 || one.Holder != "a" || one.HolderOf(0) != "a" || one.HolderOf(1) != "b" || one.Holders[1].Epoch != 1 {
		t.Errorf("the STANDARD channel's hold: %+v", one)
	}
	if two.Pipelines != 1 || len(two.Holders) != 1 || two.HolderOf(1) != "" {
		t.Errorf("the single pipeline channel's hold: %+v", two)
	}
	renewed, err := s.RenewLeases(ctx, "b", "b1", time.Minute, []LeaseKey{p0, p1})
	if err != nil || len(renewed) != 1 || renewed[p1] != 1 {
		t.Errorf("b renewing both pipelines, holding pipeline 1: %v %v", renewed, err)
	}
	f0, f1 := Fence{Holder: "a", Epoch: 1}, Fence{Holder: "b", Epoch: 1, Pipeline: 1}
	if err := s.SetChannelStatus(ctx, "ch-1", f1, `{"state":"RUNNING"}`); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChannelStatus(ctx, "ch-1", Fence{Holder: "b", Epoch: 1}, "{}"); !errors.Is(err, ErrFenced) {
		t.Errorf("pipeline 1's holder reporting as pipeline 0: %v, want ErrFenced", err)
	}
	leases, err := s.ListLeases(ctx)
	if err != nil || len(leases) != 2 || leases[0].Pipeline != 0 || leases[1].Pipeline != 1 || leases[1].Status != `{"state":"RUNNING"}` || leases[1].Fence() != f1 {
		t.Fatalf("the leases: %+v %v", leases, err)
	}
	// The channel's own writes: pipeline 0's fence only.
	ch := resource.StateChange{At: now, From: resource.StateIdle, To: resource.StateRunning, Reason: "runs"}
	if err := s.SetChannelState(ctx, "ch-1", f1, ch, "", nil); !errors.Is(err, ErrFenced) {
		t.Errorf("a state written with pipeline 1's fence: %v, want ErrFenced", err)
	}
	if err := s.SetChannelState(ctx, "ch-1", f0, ch, "", nil); err != nil {
		t.Errorf("a state written with pipeline 0's fence: %v", err)
	}
	// Releasing pipeline 1 leaves pipeline 0; the next holder of
	// pipeline 1 counts its own epoch.
	if err := s.ReleaseLease(ctx, "ch-1", f1); err != nil {
		t.Fatal(err)
	}
	holds, _ = s.ListChannelHolds(ctx)
	if holds[0].HolderOf(0) != "a" || holds[0].HolderOf(1) != "" {
		t.Errorf("after releasing pipeline 1: %+v", holds[0])
	}
	if got, err := s.AcquirePipelineLease(ctx, p1, "a", "a1", time.Minute); err != nil || got != (Acquired{Epoch: 2, Previous: "b", Released: true}) {
		t.Errorf("pipeline 1 taken again: %+v %v", got, err)
	}
	// A goodbye releases every pipeline the node holds.
	if _, err := s.ClaimNode(ctx, NodeRecord{ID: "a", Advertise: "http://a", Incarnation: "a1", MaxChannels: 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.NodeGoodbye(ctx, "a", "a1"); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); len(leases) != 0 {
		t.Errorf("a goodbye left leases: %+v", leases)
	}
	// Deleting the channel takes every pipeline's lease along.
	if _, err := s.AcquirePipelineLease(ctx, p1, "b", "b1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquirePipelineLease(ctx, p0, "b", "b1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteChannel(ctx, "ch-1", Fence{Holder: "b", Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); len(leases) != 0 {
		t.Errorf("a deleted channel's leases: %+v", leases)
	}
}

// testAvailabilityStartClaimed checks that the first pipeline to start a
// channel fixes its availability start for every other.
func testAvailabilityStartClaimed(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	first := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	got, err := s.ClaimAvailabilityStart(ctx, "ch-1", first)
	if err != nil || !got.Equal(first) {
		t.Fatalf("the first claim: %v %v", got, err)
	}
	if got, err := s.ClaimAvailabilityStart(ctx, "ch-1", first.Add(time.Hour)); err != nil || !got.Equal(first) {
		t.Errorf("a later claim: %v %v, want the first's %v", got, err, first)
	}
	if rec, _ := s.GetChannel(ctx, "ch-1"); !rec.Timeline.AvailabilityStart.Equal(first) {
		t.Errorf("the channel's availability start: %v", rec.Timeline.AvailabilityStart)
	}
	if _, err := s.ClaimAvailabilityStart(ctx, "ch-none", first); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("no channel: %v, want not found", err)
	}
}

// testInputPublishersPerNode checks that a publisher on each of two nodes
// is recorded on each, the newest first, and that each node clears its
// own.
func testInputPublishersPerNode(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	if err := s.SetInputPublisher(ctx, "in-1", "a"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the records' times differ
	if err := s.SetInputPublisher(ctx, "in-1", "b"); err != nil {
		t.Fatal(err)
	}
	if nodes, err := s.InputPublishers(ctx, "in-1"); err != nil || len(nodes) != 2 || nodes[0] != "b" || nodes[1] != "a" {
		t.Errorf("the publishers of in-1: %v %v, want b then a", nodes, err)
	}
	if err := s.ClearInputPublisher(ctx, "in-1", "b"); err != nil {
		t.Fatal(err)
	}
	if node, ok, err := s.InputPublisher(ctx, "in-1"); err != nil || !ok || node != "a" {
		t.Errorf("after b's publisher left: %q %v %v, want a", node, ok, err)
	}
	if ids, _ := s.NodeInputPublishers(ctx, "a"); len(ids) != 1 || ids[0] != "in-1" {
		t.Errorf("a's records: %v", ids)
	}
}

// testLeasesMigrateToPipelines checks the step that gives leases a
// pipeline and push inputs a record per node, on a database whose leases
// and records were written before it: a live lease becomes pipeline 0's,
// with its epoch, and the record stays.
func testLeasesMigrateToPipelines(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	newChannel(t, s, "ch-1", "one", resource.StateRunning)
	n := len(migrations())
	step := slices.IndexFunc(migrations(), func(m migration) bool { return strings.Contains(m.sqlite, "channel_leases_v2") })
	// The steps after it are undone, so that migrating takes them again.
	undo := []string{
		`ALTER TABLE alarms DROP COLUMN silence`, `ALTER TABLE alarms DROP COLUMN acknowledgement`,
		`ALTER TABLE alarm_history DROP COLUMN change_type`, `ALTER TABLE alarm_history DROP COLUMN actor`,
		`ALTER TABLE alarm_history DROP COLUMN comment`, `ALTER TABLE alarm_history DROP COLUMN until_at`,
		`ALTER TABLE channels DROP COLUMN restarts`,
	}
	if step < 0 || n-step-1 != 2 {
		t.Fatalf("the leases step is %d of %d steps: the steps after it to undo here are those of alarm silences and channel restarts", step, n)
	}
	stmts := []string{
		`DROP TABLE channel_leases`,
		`CREATE TABLE channel_leases (
			channel_id TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
			holder TEXT NOT NULL, incarnation TEXT NOT NULL, epoch INTEGER NOT NULL,
			acquired_at TEXT NOT NULL, expires_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT '', status_at TEXT)`,
		`CREATE INDEX channel_leases_by_holder ON channel_leases(holder)`,
		`DROP TABLE input_publishers`,
		`CREATE TABLE input_publishers (input_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, since TEXT NOT NULL)`,
		`CREATE INDEX input_publishers_by_node ON input_publishers(node_id)`,
		fmt.Sprintf("PRAGMA user_version = %d", step),
	}
	expires := `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds')`
	if s.dialect == postgresDialect {
		stmts[1] = `CREATE TABLE channel_leases (
			channel_id TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
			holder TEXT NOT NULL, incarnation TEXT NOT NULL, epoch BIGINT NOT NULL,
			acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL, status TEXT NOT NULL DEFAULT '', status_at TIMESTAMPTZ)`
		stmts[6] = fmt.Sprintf("DELETE FROM schema_version WHERE version > %d", step)
		expires = `now() + interval '60 seconds'`
	}
	stmts = append(append(stmts, undo...),
		`INSERT INTO channel_leases (channel_id, holder, incarnation, epoch, acquired_at, expires_at) VALUES ('ch-1', 'a', 'a1', 7, `+expires+`, `+expires+`)`,
		`INSERT INTO input_publishers (input_id, node_id, since) VALUES ('in-1', 'a', '2026-12-07T09:00:00Z')`)
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v := schemaVersionOf(t, s); v != n {
		t.Errorf("schema version %d after migrating, want %d", v, n)
	}
	leases, err := s.ListLeases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Pipeline != 0 || leases[0].Epoch != 7 || leases[0].Holder != "a" {
		t.Fatalf("the lease after migrating: %+v %v", leases, err)
	}
	if renewed, err := s.RenewLeases(ctx, "a", "a1", time.Minute, []LeaseKey{{ChannelID: "ch-1"}}); err != nil || renewed[LeaseKey{ChannelID: "ch-1"}] != 7 {
		t.Errorf("renewing the migrated lease: %v %v", renewed, err)
	}
	if got, err := s.AcquirePipelineLease(ctx, LeaseKey{ChannelID: "ch-1", Pipeline: 1}, "b", "b1", time.Minute); err != nil || got.Epoch != 1 {
		t.Errorf("pipeline 1 beside the migrated lease: %+v %v", got, err)
	}
	if err := s.SetInputPublisher(ctx, "in-1", "b"); err != nil {
		t.Fatal(err)
	}
	if nodes, err := s.InputPublishers(ctx, "in-1"); err != nil || len(nodes) != 2 {
		t.Errorf("the publishers after migrating: %v %v", nodes, err)
	}
}
