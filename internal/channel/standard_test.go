package channel

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/redundancy"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// heard records what a manager tells its observer: events and the
// pipelines metric.
type heard struct {
	nopObserver
	mu        sync.Mutex
	events    []resource.Event
	pipelines map[string]int
}

func (h *heard) Event(e resource.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

func (h *heard) PipelinesRunning(channel string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pipelines == nil {
		h.pipelines = map[string]int{}
	}
	if n < 0 {
		delete(h.pipelines, channel)
		return
	}
	h.pipelines[channel] = n
}

// count is how many events of a type were heard.
func (h *heard) count(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// running is the pipelines metric of a channel (-1 when not reported).
func (h *heard) running(channel string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n, ok := h.pipelines[channel]; ok {
		return n
	}
	return -1
}

// clusterNode is one node of a test cluster on PostgreSQL: its cluster
// membership, manager and observer, which the test may stop and start
// again.
type clusterNode struct {
	t    *testing.T
	id   string
	url  string
	dir  string
	st   *store.Store
	cl   *cluster.Cluster
	m    *Manager
	obs  *heard
	down bool
}

// startNode starts node id on the database at url.
func startNode(t *testing.T, url, dir, id string) *clusterNode {
	t.Helper()
	n := &clusterNode{t: t, id: id, url: url, dir: dir}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *clusterNode) start() {
	n.t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, n.url)
	if err != nil {
		n.t.Fatal(err)
	}
	n.st, n.obs, n.down = st, &heard{}, false
	n.cl = cluster.New(cluster.Config{Store: st, NodeID: n.id, Advertise: "http://127.0.0.1:1/" + n.id, MaxChannels: 2, Lease: 3 * time.Second})
	if err := n.cl.Start(ctx); err != nil {
		n.t.Fatal(err)
	}
	n.m = New(Config{
		Store: st, Cluster: n.cl, FollowEvery: 300 * time.Millisecond, Observer: n.obs,
		Resolver: input.Resolver{MediaRoot: filepath.Join(n.dir, n.id)}, FFmpeg: media.Tool(n.t, "ffmpeg"),
		Backoff: []time.Duration{100 * time.Millisecond},
		// Each node merges its own pipelines; the other node's feed is
		// not served here (no HTTP), so each merges what it runs.
		Merge: func(mc MergeConfig) (Merger, error) {
			return redundancy.New(redundancy.Config{Channel: mc.Channel, ChannelID: mc.ChannelID, Timeline: mc.Timeline, Logger: mc.Logger})
		},
	})
	if err := n.m.Start(ctx); err != nil {
		n.t.Fatal(err)
	}
}

// stop stops the node cleanly: its pipelines go to the other nodes.
func (n *clusterNode) stop() {
	if n.down {
		return
	}
	n.down = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = n.m.Close(ctx)
	_ = n.cl.Close(ctx)
	_ = n.st.Close()
}

// standardSpec is a STANDARD channel on input in that starts once
// created.
func standardSpec(name, in string) resource.ChannelSpec {
	spec := channelSpec(name, in)
	spec.ChannelClass = resource.ClassStandard
	spec.AutoStart = true
	return spec
}

// pipelinesOf says where a channel's pipelines run and how, for logs.
func pipelinesOf(ch resource.Channel) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", ch.State, ch.StateReason)
	for _, p := range ch.Pipelines {
		fmt.Fprintf(&b, "; %d %s on %q (%s)", p.Index, p.State, p.Node, p.Reason)
	}
	if ch.Degraded != "" {
		b.WriteString("; degraded: " + ch.Degraded)
	}
	return b.String()
}

// waitPipelines polls a node until both pipelines of a channel deliver,
// apart (on two nodes) or together.
func waitPipelines(t *testing.T, m *Manager, name string, apart bool) resource.Channel {
	t.Helper()
	var ch resource.Channel
	poll.Until(t, fmt.Sprintf("both pipelines of %s to run (apart: %v)", name, apart), 2*time.Minute, func() (bool, string) {
		var err error
		ch, err = m.GetChannel(context.Background(), name)
		if err != nil || ch.State != resource.StateRunning || len(ch.Pipelines) != 2 {
			return false, fmt.Sprintf("%s %v", pipelinesOf(ch), err)
		}
		p0, p1 := ch.Pipelines[0], ch.Pipelines[1]
		ok := p0.State == resource.PipelineRunning && p1.State == resource.PipelineRunning && p0.Node != "" && p1.Node != "" &&
			(p0.Node != p1.Node) == apart && ch.Degraded == ""
		return ok, pipelinesOf(ch)
	})
	return ch
}

// TestStandardChannelOnTwoNodes runs a STANDARD channel on a cluster of
// two nodes: its pipelines on both, with their reports and lag on either
// node; the node of pipeline 0 stops and the channel runs on, degraded,
// both pipelines on the node left (with the warning); the node comes back
// and the channel returns to two nodes by itself; stopped, no node holds
// a pipeline any more.
func TestStandardChannelOnTwoNodes(t *testing.T) {
	pg := pgserver.Start(t)
	dir := t.TempDir()
	a := startNode(t, pg.URL, dir, "a")
	b := startNode(t, pg.URL, dir, "b")
	nodes := map[string]*clusterNode{"a": a, "b": b}
	ctx := context.Background()
	smallPattern(t, a.m, "bars")
	if _, err := a.m.CreateChannel(ctx, "", standardSpec("s", "bars")); err != nil {
		t.Fatal(err)
	}
	ch := waitPipelines(t, b.m, "s", true)
	if ch.Node != ch.Pipelines[0].Node || len(ch.Warnings) != 0 {
		t.Errorf("the channel's node is %q, pipeline 0's %q; warnings %v", ch.Node, ch.Pipelines[0].Node, ch.Warnings)
	}
	poll.Until(t, "the lag between the pipelines", time.Minute, func() (bool, string) {
		ch, _ = a.m.GetChannel(ctx, "s")
		return ch.PipelineLag != nil && ch.PipelineLag.Segments <= 2, fmt.Sprintf("%+v %s", ch.PipelineLag, pipelinesOf(ch))
	})
	first, second := nodes[ch.Pipelines[0].Node], nodes[ch.Pipelines[1].Node]
	poll.Until(t, "the pipelines metric on the node that reports", time.Minute, func() (bool, string) {
		return first.obs.running("s") == 2 && second.obs.running("s") == -1,
			fmt.Sprintf("%d on %s, %d on %s", first.obs.running("s"), first.id, second.obs.running("s"), second.id)
	})
	if held, _ := second.m.HeldChannels(ctx); len(held) != 0 {
		t.Errorf("the node of pipeline 1 holds %d channels of its own", len(held))
	}
	// The node that stays has seen both pipelines deliver: a pipeline it
	// then loses is a degradation.
	poll.UntilTrue(t, second.id+" to see both pipelines deliver", time.Minute, func() bool {
		second.m.followed.mu.Lock()
		defer second.m.followed.mu.Unlock()
		return second.m.followed.pipes[ch.ID].reached
	})

	// The node of pipeline 0 stops: the channel runs on, on pipeline 1,
	// and pipeline 0 joins it on the node left.
	first.stop()
	ch = waitPipelines(t, second.m, "s", false)
	if len(ch.Warnings) != 1 || !strings.Contains(ch.Warnings[0], "both pipelines run on node "+second.id) {
		t.Errorf("warnings with both pipelines on one node: %v", ch.Warnings)
	}
	if ch.Node != second.id {
		t.Errorf("the channel's node is %q, want %s", ch.Node, second.id)
	}
	poll.Until(t, "the degradation told", time.Minute, func() (bool, string) {
		return second.obs.count(resource.EventPipelineDegraded) >= 1 && second.obs.count(resource.EventPipelineRecovered) >= 1,
			fmt.Sprintf("%d degraded, %d recovered", second.obs.count(resource.EventPipelineDegraded), second.obs.count(resource.EventPipelineRecovered))
	})
	// The channel never stopped running meanwhile.
	if h := history(t, second.m, "s"); slices.Index(h, resource.StateRunning) < 0 || slices.Contains(h[slices.Index(h, resource.StateRunning):], resource.StateRecovering) ||
		slices.Contains(h[slices.Index(h, resource.StateRunning):], resource.StateStarting) {
		t.Errorf("the channel's history %v left RUNNING when one node stopped", h)
	}

	// The node comes back: pipeline 1 moves to it, the channel runs on
	// two nodes again.
	first.start()
	ch = waitPipelines(t, first.m, "s", true)
	if len(ch.Warnings) != 0 {
		t.Errorf("warnings once apart again: %v", ch.Warnings)
	}
	// Both nodes serve the same discontinuity sequence, though one made
	// its merged timeline long after the other: an edge that moves from
	// one node to the other sees no discontinuity.
	poll.Until(t, "both nodes' merged timelines on one discontinuity sequence", time.Minute, func() (bool, string) {
		ma, mb := first.m.mergedTimeline(ch.ID), second.m.mergedTimeline(ch.ID)
		if ma == nil || mb == nil || ma.Produced() == 0 || mb.Produced() == 0 {
			return false, "a node has no merged segments yet"
		}
		return ma.Discontinuity() == mb.Discontinuity(), fmt.Sprintf("%s: %d, %s: %d", first.id, ma.Discontinuity(), second.id, mb.Discontinuity())
	})

	// Stopped, no node runs a pipeline of it.
	if _, err := first.m.StopChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the channel to rest with no pipeline held", time.Minute, func() (bool, string) {
		ch, _ := second.m.GetChannel(ctx, "s")
		leases, _ := second.st.ListLeases(ctx)
		return ch.State == resource.StateIdle && len(leases) == 0, fmt.Sprintf("%s, leases %+v", pipelinesOf(ch), leases)
	})
}

// killEncoder kills a runtime's ffmpeg process, as a crash would.
func killEncoder(t *testing.T, rt *runtime) {
	t.Helper()
	rt.mu.RLock()
	p := rt.pipe
	rt.mu.RUnlock()
	if p == nil {
		t.Fatal("no encoder runs")
	}
	if err := syscall.Kill(p.proc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// TestStandardChannelOnASingleServer runs both pipelines of a STANDARD
// channel on a single server, with the warning; an encoder of either
// pipeline that dies is restarted while the channel runs on; stopped and
// deleted, both pipelines go.
func TestStandardChannelOnASingleServer(t *testing.T) {
	m, ch := singleStandard(t)
	ctx := context.Background()
	if len(ch.Warnings) != 1 || !strings.Contains(ch.Warnings[0], "both pipelines run on this server") || ch.Pipelines[0].Node != "" {
		t.Errorf("a single server's STANDARD channel: warnings %v, node %q", ch.Warnings, ch.Pipelines[0].Node)
	}
	// The origin serves the merged timeline of both pipelines.
	merged, _, ok := m.Packaging("s")
	if !ok || merged == nil || merged != m.mergedTimeline(ch.ID) {
		t.Fatal("the channel's timeline is not its merged timeline")
	}
	grows := func(what string) {
		t.Helper()
		from := merged.NextNumber()
		poll.Until(t, "the merged timeline to grow "+what, time.Minute, func() (bool, string) {
			return merged.NextNumber() > from+1, fmt.Sprintf("next segment %d, was %d", merged.NextNumber(), from)
		})
	}
	grows("with both pipelines")

	// Pipeline 1's encoder dies: it restarts; the channel stays RUNNING.
	sec := m.second(ch.ID, 1)
	if sec == nil {
		t.Fatal("no runtime of pipeline 1")
	}
	killEncoder(t, sec)
	poll.Until(t, "pipeline 1 to restart", time.Minute, func() (bool, string) {
		ch, _ = m.GetChannel(ctx, "s")
		return ch.State == resource.StateRunning && ch.Pipelines[1].State == resource.PipelineRunning && ch.Pipelines[1].Restarts == 1, pipelinesOf(ch)
	})
	// Pipeline 0's: the same, and the channel does not recover.
	own, _ := m.lookup("s")
	poll.UntilTrue(t, "pipeline 0 to hear that pipeline 1 delivers", time.Minute, func() bool {
		own.mu.RLock()
		defer own.mu.RUnlock()
		return own.siblings == 1
	})
	killEncoder(t, own)
	grows("while pipeline 0 restarts")
	poll.Until(t, "pipeline 0 to restart", time.Minute, func() (bool, string) {
		ch, _ = m.GetChannel(ctx, "s")
		return ch.Pipelines[0].State == resource.PipelineRunning && ch.Pipelines[0].Restarts == 1, pipelinesOf(ch)
	})
	if h := history(t, m, "s"); slices.Contains(h, resource.StateRecovering) {
		t.Errorf("the channel recovered while one pipeline ran: %v", h)
	}

	if _, err := m.StopChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "pipeline 1 to stop", time.Minute, func() bool { return m.second(ch.ID, 1) == nil })
	ch = waitFor(t, m, "s", resource.StateIdle)
	if ch.Pipelines[1].State != resource.PipelineIdle {
		t.Errorf("pipeline 1 of a stopped channel: %+v", ch.Pipelines[1])
	}
	if _, err := m.StartChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "pipeline 1 to start again", time.Minute, func() bool { return m.second(ch.ID, 1) != nil })
	if _, err := m.DeleteChannel(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, m, "s")
	poll.UntilTrue(t, "pipeline 1 to go with its channel", time.Minute, func() bool { return m.second(ch.ID, 1) == nil })
}
