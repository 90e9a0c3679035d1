package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// standardStack is a STANDARD TEST_PATTERN channel and a STANDARD RTMP
// channel, whose publisher pushes to both pipelines' endpoints.
const standardStack = `name: standard
securityGroups:
  - {name: studio, allow: [127.0.0.0/8]}
inputs:
  - {name: bars, type: TEST_PATTERN}
  - {name: cam, type: RTMP_PUSH, securityGroups: [studio]}
channels:
  - name: pat
    channelClass: STANDARD
    autoStart: true
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 6}]
  - name: cast
    channelClass: STANDARD
    autoStart: true
    inputAttachments: [{input: cam}]
    inputLoss: {fill: BLACK}
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 6}]
`

// startStandardPair runs two nodes, node-a and node-b, on a PostgreSQL of
// their own, with room for two STANDARD channels, and applies stack
// through node-a. It returns the nodes in that order and by id.
func startStandardPair(t *testing.T, stack string) ([]*clusterNode, map[string]*clusterNode) {
	t.Helper()
	pg := pgserver.Start(t)
	args := []string{"--max-channels", "4"}
	nodes := []*clusterNode{
		startClusterNode(t, "node-a", pg.URL, args),
		startClusterNode(t, "node-b", pg.URL, args),
	}
	nodes[0].applyStack(t.TempDir(), "standard", stack)
	return nodes, map[string]*clusterNode{"node-a": nodes[0], "node-b": nodes[1]}
}

// publishToPipeline pushes a test picture with sound for seconds to the
// RTMP endpoint of pipeline p: one publisher process per endpoint, as
// OBS with a second output.
func publishToPipeline(t *testing.T, p resource.PipelineReport, seconds int) *exec.Cmd {
	t.Helper()
	var url string
	for _, u := range p.InputEndpoints {
		if strings.HasPrefix(u, "rtmp://") {
			url = u
		}
	}
	if url == "" || p.Node == "" {
		t.Fatalf("pipeline %d has no RTMP endpoint on its node: %+v", p.Index, p)
	}
	args := append(livetest.Lavfi(640, 360, 48000, seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", url)
	return livetest.FFmpegPublish(t, args...)
}

// describe says where a channel's pipelines run and how, for logs.
func describe(ch resource.Channel) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", ch.State, ch.StateReason)
	for _, p := range ch.Pipelines {
		fmt.Fprintf(&b, "; pipeline %d %s on %q (%s)", p.Index, p.State, p.Node, p.Reason)
	}
	if ch.Degraded != "" {
		b.WriteString("; degraded: " + ch.Degraded)
	}
	return b.String()
}

// waitApart polls a node until both pipelines of a channel deliver on two
// nodes, not degraded.
func waitApart(t *testing.T, n *clusterNode, name string) resource.Channel {
	t.Helper()
	var ch resource.Channel
	poll.Until(t, "both pipelines of "+name+" run on two nodes", 3*time.Minute, func() (bool, string) {
		ch = n.channel(name)
		ok := ch.State == resource.StateRunning && len(ch.Pipelines) == 2 && ch.Degraded == "" && len(ch.Warnings) == 0 &&
			ch.Pipelines[0].State == resource.PipelineRunning && ch.Pipelines[1].State == resource.PipelineRunning &&
			ch.Pipelines[0].Node != "" && ch.Pipelines[1].Node != "" && ch.Pipelines[0].Node != ch.Pipelines[1].Node
		return ok, describe(ch)
	})
	return ch
}

// eventsOf lists the events of a type a node kept.
func eventsOf(t *testing.T, n *clusterNode, typ string) []resource.Event {
	t.Helper()
	code, _, body := n.get("/api/v1/events?limit=1000&type=" + typ)
	var page struct {
		Events []resource.Event `json:"events"`
	}
	if code != 200 || json.Unmarshal(body, &page) != nil {
		t.Fatalf("events on %s: %d %s", n.id, code, body)
	}
	return page.Events
}

// pipelinesMetric reads sluice_channel_pipelines_running of a channel on
// a node (-1 when the node does not report it).
func pipelinesMetric(t *testing.T, n *clusterNode, channel string) int {
	t.Helper()
	_, _, body := n.get("/metrics")
	prefix := `sluice_channel_pipelines_running{channel="` + channel + `"} `
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return -1
}

// encoderOf finds the ffmpeg process of a node whose command line holds
// marker.
func encoderOf(t *testing.T, n *clusterNode, marker string) int {
	t.Helper()
	for _, pid := range children(n.cmd.Process.Pid) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), "ffmpeg") && strings.Contains(string(cmdline), marker) {
			return pid
		}
	}
	return 0
}

// TestClusterStandardPipelines runs two nodes on one PostgreSQL with a
// STANDARD TEST_PATTERN channel and a STANDARD RTMP channel whose
// publisher pushes to both pipelines' endpoints. Each channel runs a
// pipeline on each node, each pipeline of the RTMP channel taking the
// publisher connected to its own node; `sluice channel get` shows both.
// One pipeline's encoder is killed, then one publisher: the channels run
// on, the pipeline restarts, the publisher's loss is fed from the other
// node. The node of pipeline 1 is killed: the channels stay RUNNING,
// degraded with an event and the metric at 1, and their lost pipelines
// start on the node left; the node comes back and each channel returns to
// two nodes by itself.
func TestClusterStandardPipelines(t *testing.T) {
	nodes, byID := startStandardPair(t, standardStack)
	a := nodes[0]

	pat := waitApart(t, a, "pat")
	if got := nodes[1].channel("pat"); got.Pipelines[0].Node != pat.Pipelines[0].Node || got.Pipelines[1].Node != pat.Pipelines[1].Node {
		t.Errorf("the nodes disagree on pat's pipelines: %s / %s", describe(pat), describe(got))
	}
	out, err := a.cli("channel", "get", "pat")
	if err != nil || !strings.Contains(out, "Class:") || !strings.Contains(out, "STANDARD") || !strings.Contains(out, "Node:") ||
		!strings.Contains(out, "Pipeline 0:") || !strings.Contains(out, "Pipeline 1:") || !strings.Contains(out, "RUNNING on node") {
		t.Errorf("sluice channel get pat: %v\n%s", err, out)
	}

	// The publisher pushes to each pipeline's endpoint on its node.
	cast := a.channel("cast")
	if len(cast.Pipelines) != 2 {
		t.Fatalf("cast: %s", describe(cast))
	}
	publishers := map[string]*exec.Cmd{}
	publish := func(p resource.PipelineReport) { publishers[p.Node] = publishToPipeline(t, p, 900) }
	poll.Until(t, "cast's pipelines on their nodes", 3*time.Minute, func() (bool, string) {
		cast = a.channel("cast")
		return len(cast.Pipelines) == 2 && cast.Pipelines[0].Node != "" && cast.Pipelines[1].Node != "" && cast.Pipelines[0].Node != cast.Pipelines[1].Node, describe(cast)
	})
	for _, p := range cast.Pipelines {
		if p.Node == "" {
			t.Fatalf("cast: %s", describe(cast))
		}
		publish(p)
	}
	// Each pipeline encodes the publisher of its own node.
	ownPublisher := func(n *clusterNode) (bool, string) {
		code, _, body := n.get("/api/v1/inputs/cam")
		var in resource.Input
		if code != 200 || json.Unmarshal(body, &in) != nil || in.Live == nil {
			return false, string(body)
		}
		return in.Live.Connected && !strings.Contains(in.Live.Publisher, "via node"), in.Live.Publisher
	}
	for _, n := range nodes {
		poll.Until(t, "node "+n.id+"'s own publisher of cam", 2*time.Minute, func() (bool, string) { return ownPublisher(n) })
	}
	cast = waitApart(t, a, "cast")
	poll.Until(t, "both pipelines of cast encode their input", 2*time.Minute, func() (bool, string) {
		cast = a.channel("cast")
		return cast.Degraded == "" && cast.Pipelines[0].InputActive && cast.Pipelines[1].InputActive, describe(cast)
	})

	// One pipeline's encoder dies: it restarts where it runs; the channel
	// runs on.
	patOn := byID[pat.Pipelines[1].Node]
	pid := encoderOf(t, patOn, "smptehdbars")
	if pid == 0 {
		t.Fatalf("no encoder of pat on %s", patOn.id)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "pat's pipeline 1 restarts its encoder", 2*time.Minute, func() (bool, string) {
		pat = a.channel("pat")
		return pat.State == resource.StateRunning && pat.Pipelines[1].Restarts >= 1 && pat.Pipelines[1].State == resource.PipelineRunning, describe(pat)
	})

	// One publisher stops: its node's pipeline takes the other node's
	// publisher (cross-feed); the channel runs on.
	lonely := byID[cast.Pipelines[1].Node]
	other := byID[cast.Pipelines[0].Node]
	_ = publishers[lonely.id].Process.Kill()
	poll.Until(t, "node "+lonely.id+" relays the publisher of node "+other.id, 2*time.Minute, func() (bool, string) {
		code, _, body := lonely.get("/api/v1/inputs/cam")
		var in resource.Input
		if code != 200 || json.Unmarshal(body, &in) != nil || in.Live == nil {
			return false, string(body)
		}
		return in.Live.Connected && strings.Contains(in.Live.Publisher, "via node "+other.id), in.Live.Publisher
	})
	poll.Until(t, "cast's pipeline 1 encodes the relayed input", 2*time.Minute, func() (bool, string) {
		cast = a.channel("cast")
		return cast.State == resource.StateRunning && cast.Pipelines[1].InputActive && cast.Degraded == "", describe(cast)
	})
	// The publisher comes back to its node: the pipeline takes it again.
	publish(cast.Pipelines[1])
	poll.Until(t, "node "+lonely.id+"'s own publisher again", 2*time.Minute, func() (bool, string) { return ownPublisher(lonely) })

	// The node of pat's pipeline 1 dies: both channels run on, degraded,
	// and start their lost pipelines on the node left.
	pat = waitApart(t, a, "pat")
	victim := byID[pat.Pipelines[1].Node]
	survivor := byID[pat.Pipelines[0].Node]
	before := len(eventsOf(t, survivor, resource.EventPipelineDegraded))
	t.Logf("killing node %s", victim.id)
	killed := time.Now()
	victim.kill()
	poll.Until(t, "pat degraded on "+survivor.id, time.Minute, func() (bool, string) {
		pat = survivor.channel("pat")
		return pat.State == resource.StateRunning && pat.Degraded != "", describe(pat)
	})
	poll.Until(t, "the degradation told, the metric at 1 or back at 2", 2*time.Minute, func() (bool, string) {
		n := len(eventsOf(t, survivor, resource.EventPipelineDegraded))
		m := pipelinesMetric(t, survivor, "pat")
		return n > before && m >= 1, fmt.Sprintf("%d degraded events, metric %d", n, m)
	})
	for _, name := range []string{"pat", "cast"} {
		poll.Until(t, "both pipelines of "+name+" on "+survivor.id, 3*time.Minute, func() (bool, string) {
			ch := survivor.channel(name)
			ok := ch.State == resource.StateRunning && len(ch.Pipelines) == 2 && ch.Pipelines[0].Node == survivor.id && ch.Pipelines[1].Node == survivor.id &&
				ch.Pipelines[0].State == resource.PipelineRunning && ch.Pipelines[1].State == resource.PipelineRunning && len(ch.Warnings) == 1
			return ok, describe(ch) + fmt.Sprintf(" warnings %v", ch.Warnings)
		})
		// Before the kill the channel may have been RECOVERING for a moment
		// while its other pipeline's first report was on its way (the
		// publisher's arrival restarts both encoders); after it, never.
		for _, h := range survivor.history(name) {
			if h.At.Before(killed) {
				continue
			}
			if h.To == resource.StateRecovering || h.To == resource.StateStarting && h.From == resource.StateRunning {
				t.Errorf("%s left RUNNING while one pipeline ran: %s → %s (%s)", name, h.From, h.To, h.Reason)
			}
		}
	}
	poll.Until(t, "the metric back at 2", time.Minute, func() (bool, string) {
		m := pipelinesMetric(t, survivor, "pat")
		return m == 2, fmt.Sprint(m)
	})
	if n := len(eventsOf(t, survivor, resource.EventPipelineRecovered)); n == 0 {
		t.Error("no channel.pipeline.recovered once both pipelines ran again")
	}

	// The node comes back: each channel returns to two nodes by itself.
	victim.restart()
	waitApart(t, survivor, "pat")
	waitApart(t, survivor, "cast")
}
