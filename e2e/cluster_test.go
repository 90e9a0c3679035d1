package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// nodesLease is the nodes' lease in TestClusterOfThreeNodes: the default, long
// enough for a node under the race detector on a busy machine to renew in
// time.
const nodesLease = "10s"

// startNode runs `sluice serve` as node id of the cluster on the database,
// advertised at its listener's address.
func startNode(t *testing.T, database, id string, extra ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"--database", database, "--node-id", id, "--advertise", "http://" + addr,
		"--lease", nodesLease, "--max-channels", "2", "--vod-workers", "0"}, extra...)
	s := &server{t: t, bin: sluiceBin.get(t), data: t.TempDir(), addr: addr, args: args}
	s.start()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.stop()
		if t.Failed() {
			t.Logf("node %s's log:\n%s", id, s.log.String())
		}
	})
	return s
}

// nodes reads GET /api/v1/nodes.
func (s *server) nodes() []resource.Node {
	s.t.Helper()
	code, _, body := s.get("/api/v1/nodes")
	var out []resource.Node
	if code != 200 || json.Unmarshal(body, &out) != nil {
		s.t.Fatalf("GET /api/v1/nodes: %d %s", code, body)
	}
	return out
}

// liveNodes names the nodes a node lists as LIVE, by id.
func liveNodes(nodes []resource.Node) []string {
	var out []string
	for _, n := range nodes {
		if n.State == resource.NodeLive {
			out = append(out, n.ID)
		}
	}
	return out
}

// waitHeld polls a node until the channel runs on a node other than the
// ones named, and returns that node's id.
func (s *server) waitHeld(name string, not ...string) string {
	s.t.Helper()
	var ch resource.Channel
	poll.Until(s.t, fmt.Sprintf("channel %s to run on a node other than %v", name, not), 3*time.Minute, func() (bool, string) {
		ch = s.channel(name)
		return ch.State == resource.StateRunning && ch.Node != "" && !slices.Contains(not, ch.Node),
			fmt.Sprintf("%s on %q (%s) %s", ch.State, ch.Node, ch.StateReason, ch.LastError)
	})
	return ch.Node
}

// TestClusterOfThreeNodes runs three `sluice serve` nodes on one
// PostgreSQL database: every node lists all three; channels started
// through any node are spread over them; a change through one node's API
// is read at once through the others; stop and update of a channel reach
// it wherever it runs. A node killed with SIGKILL loses its channel to
// another when its lease expires; a node stopped with SIGTERM hands its
// channel over at once; a node paused (SIGSTOP) past its lease loses its
// channel, and once resumed stops its encoder and never writes over the
// new holder. A fourth process with a live node's id is refused.
func TestClusterOfThreeNodes(t *testing.T) {
	t.Parallel()
	pg := pgserver.Start(t)
	byID := map[string]*server{}
	var all []*server
	for _, id := range []string{"n1", "n2", "n3"} {
		s := startNode(t, pg.URL, id)
		byID[id] = s
		all = append(all, s)
	}
	for _, s := range all {
		poll.Until(t, "every node to list the three as live", time.Minute, func() (bool, string) {
			live := liveNodes(s.nodes())
			return slices.Equal(live, []string{"n1", "n2", "n3"}), fmt.Sprint(live)
		})
	}
	if out, err := all[0].cli("node", "list"); err != nil || !strings.Contains(out, "n1 (this)") || !strings.Contains(out, "n2") || !strings.Contains(out, "n3") {
		t.Errorf("sluice node list: %v\n%s", err, out)
	}

	dir := t.TempDir()
	all[0].applyStack(dir, "spread", `name: spread
inputs:
  - name: bars
    type: TEST_PATTERN
    testPattern: {width: 320, height: 180, fps: 25}
channels:
  - {name: c1, inputAttachments: [{input: bars}], encoder: {ladder: test-360p, preset: ultrafast}}
  - {name: c2, inputAttachments: [{input: bars}], encoder: {ladder: test-360p, preset: ultrafast}}
  - {name: c3, inputAttachments: [{input: bars}], encoder: {ladder: test-360p, preset: ultrafast}}
`)
	for _, name := range []string{"c1", "c2", "c3"} {
		all[0].waitState(name, resource.StateIdle, time.Minute)
	}
	// Each channel is started through another node.
	for i, name := range []string{"c1", "c2", "c3"} {
		if code := all[(i+1)%3].post("/api/v1/channels/"+name+"/start", nil, nil); code >= 300 {
			t.Fatalf("starting %s through %s: %d", name, all[(i+1)%3].addr, code)
		}
	}
	holders := map[string]string{}
	for _, name := range []string{"c1", "c2", "c3"} {
		holders[name] = all[2].waitHeld(name)
	}
	if spread := map[string]bool{holders["c1"]: true, holders["c2"]: true, holders["c3"]: true}; len(spread) != 3 {
		t.Fatalf("the three channels are not spread over the three nodes: %v", holders)
	}
	for _, s := range all {
		for _, n := range s.nodes() {
			if n.Load != 1 || len(n.Channels) != 1 || holders[n.Channels[0]] != n.ID {
				t.Errorf("node %s as %s lists it: %+v, want the one channel it holds", n.ID, s.addr, n)
			}
		}
	}

	// A change through one node is read through the others at once; a
	// stop and an update through a node that does not hold the channel
	// reach it.
	if code := all[1].post("/api/v1/inputs", resource.InputSpec{Name: "more", Type: resource.InputTestPattern}, nil); code != 201 {
		t.Fatalf("creating an input through n2: %d", code)
	}
	for _, s := range []*server{all[0], all[2]} {
		if code, _, body := s.get("/api/v1/inputs/more"); code != 200 {
			t.Errorf("the input made through n2, read through %s: %d %s", s.addr, code, body)
		}
	}
	other := func(holder string) *server {
		for id, s := range byID {
			if id != holder {
				return s
			}
		}
		return nil
	}
	if code := other(holders["c3"]).post("/api/v1/channels/c3/stop", nil, nil); code >= 300 {
		t.Fatalf("stopping c3 through a node that does not hold it: %d", code)
	}
	byID[holders["c3"]].waitState("c3", resource.StateIdle, time.Minute)
	spec := all[1].channel("c3").ChannelSpec
	spec.Encoder.Preset = "superfast"
	body, _ := json.Marshal(spec)
	if code := all[1].put("/api/v1/channels/c3", string(body)); code != 200 {
		t.Fatalf("updating c3 through n2: %d", code)
	}
	for _, s := range all {
		if got := s.channel("c3").Encoder.Preset; got != "superfast" {
			t.Errorf("c3's preset through %s right after the update: %q", s.addr, got)
		}
	}
	all[0].waitState("c3", resource.StateIdle, time.Minute)

	// SIGKILL: the channel runs again on another node once the lease
	// expires.
	killed := holders["c1"]
	byID[killed].kill()
	survivor := other(killed)
	survivor.waitHeld("c1", killed)
	// The new holder writes the takeover into the history as it starts
	// the channel, a moment after it took the lease.
	poll.Until(t, "c1's history to say who took it from whom", time.Minute, func() (bool, string) {
		h := survivor.history("c1")
		return slices.ContainsFunc(h, func(c resource.StateChange) bool {
			return strings.Contains(c.Reason, "took the channel over from node "+killed+", whose lease expired")
		}), fmt.Sprintf("%+v", h)
	})
	poll.Until(t, "the killed node to be listed as lost", time.Minute, func() (bool, string) {
		for _, n := range survivor.nodes() {
			if n.ID == killed {
				return n.State == resource.NodeLost, string(n.State)
			}
		}
		return false, "not listed"
	})
	// It starts again with its id once its old heartbeat is stale.
	byID[killed].start()

	// SIGTERM: the node says goodbye and its channels go to the others at
	// once.
	leaving := survivor.channel("c2").Node
	leaver := byID[leaving]
	seen := len(survivor.history("c2"))
	leaver.stop()
	if !strings.Contains(leaver.log.String(), "said goodbye") {
		t.Errorf("node %s stopped without saying goodbye:\n%s", leaving, leaver.log.String())
	}
	survivor = other(leaving)
	survivor.waitHeld("c2", leaving)
	// Let go, not expired: the next holder did not wait for the lease.
	var took string
	poll.Until(t, "c2's history to say it was taken after the goodbye", time.Minute, func() (bool, string) {
		h := survivor.history("c2")
		for _, c := range h[min(seen, len(h)):] {
			if strings.Contains(c.Reason, "took the channel") {
				took = c.Reason
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", h[min(seen, len(h)):])
	})
	if !strings.Contains(took, "took the channel (epoch") {
		t.Errorf("c2 after its node's goodbye was not taken as a channel let go: %s", took)
	}
	for _, n := range survivor.nodes() {
		if n.ID == leaving && n.State != resource.NodeStopped {
			t.Errorf("node %s after its goodbye: %s", leaving, n.State)
		}
	}
	leaver.start()

	// SIGSTOP past the lease: the other nodes take the paused node's
	// channels. Its encoders are killed meanwhile, so that once resumed it
	// has news to write (the encoders stopped): it stops instead, and the
	// new holders' rows and histories show nothing of it.
	paused := survivor.channel("c2").Node
	holder := byID[paused]
	watcher := other(paused)
	var held []string
	for _, n := range watcher.nodes() {
		if n.ID == paused {
			held = n.Channels
		}
	}
	encoders := children(holder.cmd.Process.Pid)
	if len(held) == 0 || len(encoders) != len(held) {
		t.Fatalf("node %s holds %v and runs encoders %v", paused, held, encoders)
	}
	if err := holder.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for _, name := range held {
		watcher.waitHeld(name, paused)
	}
	for _, pid := range encoders {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := holder.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for _, name := range held {
		poll.Until(t, "the resumed node to say it no longer holds "+name, time.Minute, func() (bool, string) {
			return strings.Contains(holder.log.String(), "no longer holds channel "+name), "not yet"
		})
	}
	poll.Until(t, "the resumed node to run no encoder", time.Minute, func() (bool, string) {
		left := children(holder.cmd.Process.Pid)
		return len(left) == 0, fmt.Sprint(left)
	})
	for _, name := range held {
		h := watcher.history(name)
		at := -1
		for i, c := range h {
			if strings.Contains(c.Reason, "took the channel over from node "+paused) {
				at = i
			}
		}
		if at < 0 {
			t.Fatalf("no takeover of %s from %s in its history: %+v", name, paused, h)
		}
		// The resumed node found its encoders dead: its news (RECOVERING,
		// the encoder stopped) was never written.
		for _, c := range h[at+1:] {
			if c.To == resource.StateRecovering || strings.Contains(c.Reason, "stopped unexpectedly") {
				t.Errorf("%s's history after the takeover holds the old holder's news: %+v", name, h[at:])
			}
		}
		// The new holder may still be starting it again: it runs there
		// in the end, never on the resumed node.
		poll.Until(t, name+" to run on a node other than the resumed one", 2*time.Minute, func() (bool, string) {
			ch := watcher.channel(name)
			if ch.Node == paused {
				t.Fatalf("%s after the old holder resumed: %s on %q", name, ch.State, ch.Node)
			}
			return ch.State == resource.StateRunning && ch.Node != "", fmt.Sprintf("%s on %q", ch.State, ch.Node)
		})
	}
	poll.Until(t, "the resumed node to be live again", time.Minute, func() (bool, string) {
		live := liveNodes(watcher.nodes())
		return slices.Contains(live, paused), fmt.Sprint(live)
	})

	// A process with a live node's id is refused, naming it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dup := exec.CommandContext(ctx, sluiceBin.get(t), "serve", "--database", pg.URL, "--node-id", "n1", "--data", t.TempDir(),
		"--listen", freeAddr(t), "--rtmp", "", "--srt", "", "--vod-workers", "0")
	out, err := dup.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `the node id "n1" is taken: node n1, advertised at http://`+byID["n1"].addr) {
		t.Errorf("a second n1: %v\n%s", err, out)
	}
}
