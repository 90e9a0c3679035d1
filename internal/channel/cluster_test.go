package channel

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// clusterManagers runs one manager per node id on one PostgreSQL database,
// each a node of the same cluster with its own store and pool.
func clusterManagers(t *testing.T, ids ...string) []*Manager {
	t.Helper()
	ffmpeg := media.Tool(t, "ffmpeg")
	pg := pgserver.Start(t)
	dir := t.TempDir()
	var out []*Manager
	for _, id := range ids {
		ctx := context.Background()
		st, err := store.Open(ctx, pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		logger := livetest.Logger(t).With("node", id)
		cl := cluster.New(cluster.Config{Store: st, NodeID: id, Advertise: "http://127.0.0.1:1/" + id, MaxChannels: 2, Logger: logger})
		if err := cl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		m := New(Config{
			Store: st, Cluster: cl, FollowEvery: 300 * time.Millisecond, Logger: logger,
			Resolver: input.Resolver{MediaRoot: filepath.Join(dir, id)}, FFmpeg: ffmpeg,
			Backoff: []time.Duration{100 * time.Millisecond},
		})
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = m.Close(ctx)
			_ = cl.Close(ctx)
			_ = st.Close()
		})
		out = append(out, m)
	}
	return out
}

// waitOn polls a node until the channel is in state want, held by a node
// (any when on is "", none when on is "-").
func waitOn(t *testing.T, m *Manager, name string, want resource.ChannelState, on string) resource.Channel {
	t.Helper()
	var ch resource.Channel
	poll.Until(t, fmt.Sprintf("channel %s to be %s on %q", name, want, on), 90*time.Second, func() (bool, string) {
		var err error
		ch, err = m.GetChannel(context.Background(), name)
		held := ch.Node != ""
		switch on {
		case "":
		case "-":
			held = !held
		default:
			held = ch.Node == on
		}
		return err == nil && ch.State == want && held, fmt.Sprintf("%s on %q (%s) %v", ch.State, ch.Node, ch.StateReason, err)
	})
	return ch
}

// TestCommandsReachAChannelThroughAnyNode drives one channel through the
// API of two nodes: made through one, it rests unheld; started through
// either, it runs where placement puts it; stopped, updated and deleted
// through the node that does not hold it, the command reaches it.
func TestCommandsReachAChannelThroughAnyNode(t *testing.T) {
	ms := clusterManagers(t, "a", "b")
	a, b := ms[0], ms[1]
	ctx := context.Background()
	smallPattern(t, a, "bars")
	if _, err := b.GetInput(ctx, "bars"); err != nil {
		t.Fatalf("the input made through a, read through b: %v", err)
	}
	if _, err := b.CreateChannel(ctx, "", channelSpec("x", "bars")); err != nil {
		t.Fatal(err)
	}
	// Created, it rests: no node holds it.
	waitOn(t, a, "x", resource.StateIdle, "-")

	if _, err := a.StartChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	ch := waitOn(t, b, "x", resource.StateRunning, "")
	holder, other := a, b
	if ch.Node == "b" {
		holder, other = b, a
	}
	// The other node shows the holder's live figures from its reports.
	poll.Until(t, "the holder's live figures on the other node", time.Minute, func() (bool, string) {
		got, _ := other.GetChannel(ctx, "x")
		return got.Node == ch.Node && got.Pipeline != nil && got.Pipeline.Segments > 0, fmt.Sprintf("%+v", got.Pipeline)
	})
	if held, _ := holder.HeldChannels(ctx); len(held) != 1 {
		t.Errorf("the holder runs %d channels, want 1", len(held))
	}
	if held, _ := other.HeldChannels(ctx); len(held) != 0 {
		t.Errorf("the other node runs %d channels, want 0", len(held))
	}

	// Stop through the node that does not hold it.
	if _, err := other.StopChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	waitOn(t, holder, "x", resource.StateIdle, "-")

	// Update through either while it rests: the node that received it
	// carries it out, and every node reads the new spec at once.
	spec := channelSpec("x", "bars")
	spec.Encoder.Preset = "superfast"
	if _, err := other.UpdateChannel(ctx, "x", "", spec); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if got, err := m.GetChannel(ctx, "x"); err != nil || got.Encoder.Preset != "superfast" {
			t.Errorf("the spec right after the update: %+v %v", got.Encoder, err)
		}
	}
	waitOn(t, a, "x", resource.StateIdle, "-")

	// Start again, and delete through the node that does not hold it.
	if _, err := b.StartChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	ch = waitOn(t, a, "x", resource.StateRunning, "")
	other = a
	if ch.Node == "a" {
		other = b
	}
	if _, err := other.DeleteChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		poll.Until(t, "channel x to be deleted", time.Minute, func() (bool, string) {
			_, err := m.GetChannel(ctx, "x")
			return errors.Is(err, resource.ErrNotFound), fmt.Sprint(err)
		})
	}
	if _, err := a.StartChannel(ctx, "x"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("starting a deleted channel: %v", err)
	}
}

// TestAnAutoStartChannelIsPlaced creates autoStart channels through one
// node: each is placed, the two nodes run one each.
func TestAnAutoStartChannelIsPlaced(t *testing.T) {
	ms := clusterManagers(t, "a", "b")
	a, b := ms[0], ms[1]
	ctx := context.Background()
	smallPattern(t, a, "bars")
	for _, name := range []string{"p", "q"} {
		spec := channelSpec(name, "bars")
		spec.AutoStart = true
		if _, err := a.CreateChannel(ctx, "", spec); err != nil {
			t.Fatal(err)
		}
	}
	p := waitOn(t, b, "p", resource.StateRunning, "")
	q := waitOn(t, b, "q", resource.StateRunning, "")
	if p.Node == q.Node {
		t.Errorf("both channels run on node %s", p.Node)
	}
	// A node's clean stop hands its channel to the other.
	leaving, stays := a, b
	if p.Node == "b" {
		leaving, stays = b, a
	}
	ctxc, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := leaving.Close(ctxc); err != nil {
		t.Fatal(err)
	}
	remaining := "b"
	if stays == a {
		remaining = "a"
	}
	waitOn(t, stays, "p", resource.StateRunning, remaining)
}
