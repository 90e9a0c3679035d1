package channel

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// restartReasons are the reasons of a channel's changes from the newest
// "restart requested" stop on; none before a restart.
func restartReasons(t *testing.T, m *Manager, name string) []string {
	t.Helper()
	h, err := m.History(context.Background(), name, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	restarted := false
	for _, c := range h {
		if strings.HasPrefix(c.Reason, "restart requested: stopping") {
			out, restarted = nil, true
		}
		out = append(out, string(c.To)+" "+c.Reason)
	}
	if !restarted {
		return nil
	}
	return out
}

// TestRestartIsOneCommand: a running channel restarted goes through
// STOPPING, IDLE and STARTING back to RUNNING in one command, each step in
// its history with the restart's reason, its playlists going on after a
// discontinuity; a channel that does not run is started.
func TestRestartIsOneCommand(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	runningChannel(t, m, "live")
	served, _ := m.Lookup("live")
	before := served.Timeline.NextNumber()

	ch, err := m.RestartChannel(ctx, "live")
	if err != nil || ch.State != resource.StateStopping {
		t.Fatalf("restart: %s %v, want STOPPING at once", ch.State, err)
	}
	poll.Until(t, "the restarted channel runs", time.Minute, func() (bool, string) {
		r := restartReasons(t, m, "live")
		return len(r) > 0 && strings.HasPrefix(r[len(r)-1], "RUNNING"), fmt.Sprint(r)
	})
	want := []string{"STOPPING restart requested: stopping first", "IDLE stopped", "STARTING restart requested: starting again"}
	if got := restartReasons(t, m, "live"); len(got) != 4 || !slices.Equal(got[:3], want) {
		t.Errorf("the restart's history %q, want %q then RUNNING", got, want)
	}
	served, _ = m.Lookup("live")
	poll.Until(t, "a segment after the restart", time.Minute, func() (bool, string) {
		snap := served.Timeline.Snapshot(time.Minute)
		if len(snap.Renditions) == 0 {
			return false, "no rendition"
		}
		for _, s := range snap.Renditions[0].Segments {
			if s.Number >= before && s.Discontinuity > 0 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", snap.Renditions[0].Segments)
	})

	if _, err := m.StopChannel(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "live", resource.StateIdle)
	if _, err := m.RestartChannel(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "live", resource.StateRunning)
}

// TestRestartReachesTheHolder: a restart asked through the node that
// does not hold a running channel is carried out by its holder, which
// keeps it: the channel runs again on the same node.
func TestRestartReachesTheHolder(t *testing.T) {
	ms := clusterManagers(t, "a", "b")
	a, b := ms[0], ms[1]
	ctx := context.Background()
	smallPattern(t, a, "bars")
	if _, err := a.CreateChannel(ctx, "", channelSpec("x", "bars")); err != nil {
		t.Fatal(err)
	}
	waitOn(t, a, "x", resource.StateIdle, "-")
	if _, err := b.StartChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	ch := waitOn(t, a, "x", resource.StateRunning, "")
	holder, other := a, b
	if ch.Node == "b" {
		holder, other = b, a
	}
	if _, err := other.RestartChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the holder restarts the channel", time.Minute, func() (bool, string) {
		r := restartReasons(t, holder, "x")
		return len(r) == 4 && r[2] == "STARTING restart requested: starting again" && strings.HasPrefix(r[3], "RUNNING"), fmt.Sprint(r)
	})
	if got := waitOn(t, other, "x", resource.StateRunning, ch.Node); got.Node != ch.Node {
		t.Errorf("the channel moved from %s to %s", ch.Node, got.Node)
	}
	// Restarted through its holder, it stays there too.
	if _, err := holder.RestartChannel(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the second restart", time.Minute, func() (bool, string) {
		h, _ := holder.History(ctx, "x", 100)
		n := 0
		for _, c := range h {
			if c.Reason == "restart requested: starting again" {
				n++
			}
		}
		got, _ := holder.GetChannel(ctx, "x")
		return n == 2 && got.State == resource.StateRunning && got.Node == ch.Node, fmt.Sprintf("%d restarts, %s on %s: %v", n, got.State, got.Node, h)
	})
}
