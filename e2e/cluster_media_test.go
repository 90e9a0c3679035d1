package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	m3u8 "github.com/Eyevinn/hls-m3u8/m3u8"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// clusterLease is the nodes' lease in the cluster media test: short, so a
// takeover comes quickly, yet long enough that a node of a busy machine
// under the race detector renews in time (a lease lost by accident would
// add a discontinuity the test does not expect).
const clusterLease = 6 * time.Second

// clusterNode is one `sluice serve` node of a test cluster: its id stays
// across restarts, as do its address and data directory.
type clusterNode struct {
	*server
	id string
	// earlier are the logs of its processes before the current one.
	earlier []string
}

// startClusterNode runs a node on the PostgreSQL database with its own
// data directory, advertised at its listener's address.
func startClusterNode(t *testing.T, id, database string, args []string, env ...string) *clusterNode {
	t.Helper()
	s := &server{t: t, bin: sluiceBin.get(t), data: t.TempDir(), addr: freeAddr(t), env: env}
	s.args = append([]string{"--database", database, "--node-id", id, "--advertise", "http://" + s.addr,
		"--lease", clusterLease.String(), "--vod-workers", "0"}, args...)
	s.start()
	n := &clusterNode{server: s, id: id}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			for i, l := range n.earlier {
				t.Logf("node %s log, process %d:\n%s", id, i+1, l)
			}
			t.Logf("node %s log:\n%s", id, s.log.String())
		}
	})
	return n
}

// restart starts a node that was killed again, with the same id, address
// and data directory.
func (n *clusterNode) restart() {
	n.t.Helper()
	n.earlier = append(n.earlier, n.log.String())
	n.start()
}

// signal sends sig to the node's process alone.
func (n *clusterNode) signal(sig syscall.Signal) {
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("signal %v to node %s: %v", sig, n.id, err)
	}
}

// holder says which live node holds channel, as n sees the cluster.
func (n *clusterNode) holder(channel string) string {
	n.t.Helper()
	code, _, body := n.get("/api/v1/nodes")
	var nodes []resource.Node
	if code != 200 || json.Unmarshal(body, &nodes) != nil {
		n.t.Fatalf("GET /api/v1/nodes on %s: %d %s", n.id, code, body)
	}
	for _, nd := range nodes {
		if nd.State == resource.NodeLive && slices.Contains(nd.Channels, channel) {
			return nd.ID
		}
	}
	return ""
}

// timeline is what a monitor saw of a channel's media playlist: every
// answer's newest segment number and the discontinuity sequence of that
// segment.
type timeline struct {
	mu     sync.Mutex
	points []timelinePoint
	stop   chan struct{}
	done   chan struct{}
}

type timelinePoint struct {
	at              time.Time
	last, disc, seq uint64
	from, answer    string
}

// mediaSequenceOf reads a media playlist's EXT-X-MEDIA-SEQUENCE.
func mediaSequenceOf(body []byte) uint64 {
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "#EXT-X-MEDIA-SEQUENCE:"); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}

// lastOf reads a media playlist: its newest segment number and that
// segment's discontinuity sequence.
func lastOf(body []byte) (last, disc uint64, ok bool) {
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || typ != m3u8.MEDIA {
		return 0, 0, false
	}
	mp := pl.(*m3u8.MediaPlaylist)
	segs := segmentsOf(mp)
	if len(segs) == 0 {
		return 0, 0, false
	}
	disc = mp.DiscontinuitySeq
	for _, s := range segs {
		if s.Discontinuity {
			disc++
		}
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(segs[len(segs)-1].URI, ".m4s"), 10, 64)
	return n, disc, err == nil
}

// watchTimeline polls path on whichever of nodes answers, every 250 ms,
// until stopped.
func watchTimeline(nodes func() []*clusterNode, path string) *timeline {
	tl := &timeline{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tl.done)
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			for _, n := range nodes() {
				resp, err := client.Get(n.url(path))
				if err != nil {
					continue
				}
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					continue
				}
				if last, disc, ok := lastOf(b.Bytes()); ok {
					tl.mu.Lock()
					tl.points = append(tl.points, timelinePoint{at: time.Now(), last: last, disc: disc, seq: mediaSequenceOf(b.Bytes()), from: n.id, answer: b.String()})
					tl.mu.Unlock()
					break
				}
			}
			select {
			case <-tl.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return tl
}

func (tl *timeline) end() []timelinePoint {
	close(tl.stop)
	<-tl.done
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.points)
}

func (tl *timeline) newest() (timelinePoint, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.points) == 0 {
		return timelinePoint{}, false
	}
	return tl.points[len(tl.points)-1], true
}

// checkTimeline fails when the newest segment number or the media
// sequence ever goes back, and returns how many times the discontinuity sequence advanced, and by how
// much in all.
func checkTimeline(t *testing.T, channel string, points []timelinePoint) (steps int, advanced uint64) {
	t.Helper()
	for i := 1; i < len(points); i++ {
		p, q := points[i-1], points[i]
		if q.last < p.last {
			t.Errorf("%s: the newest segment went back from %d (node %s) to %d (node %s):\n%s", channel, p.last, p.from, q.last, q.from, q.answer)
		}
		if q.seq < p.seq {
			t.Errorf("%s: the media sequence went back from %d (node %s) to %d (node %s):\n%s", channel, p.seq, p.from, q.seq, q.from, q.answer)
		}
		if q.disc < p.disc {
			t.Errorf("%s: the discontinuity sequence went back from %d to %d", channel, p.disc, q.disc)
		}
		if q.disc > p.disc {
			steps++
			advanced += q.disc - p.disc
		}
	}
	return steps, advanced
}

// TestClusterMoveKeepsPlaying runs three nodes on one PostgreSQL with the
// DVR archives on S3 and one edge over all three; a TEST_PATTERN channel
// and an RTMP channel run, spread by placement, and the RTMP publisher
// sends to a node that does not hold its channel. Every node serves both
// channels; hls.js in Chromium plays through the edge while the node
// holding the TEST_PATTERN channel is killed: the channel runs again on
// another node, the player keeps playing, numbers never go back and the
// discontinuity sequence advances by exactly one; the archive from before
// the move is served after it. Then the RTMP channel's holder is killed,
// then its publisher's node, and the publisher connects to another node:
// its media reaches the channel's new holder. Last, a node is paused past
// its lease: once resumed, it never serves the old timeline.
func TestClusterMoveKeepsPlaying(t *testing.T) {
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	pg := pgserver.Start(t)
	minio := s3server.Start(t)
	env := []string{"AWS_ACCESS_KEY_ID=" + minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + minio.SecretKey}
	args := []string{"--dvr-storage", "s3://dvr/archives?insecure=1&endpoint=" + minio.Endpoint, "--max-channels", "1"}
	nodes := []*clusterNode{
		startClusterNode(t, "node-a", pg.URL, args, env...),
		startClusterNode(t, "node-b", pg.URL, args, env...),
		startClusterNode(t, "node-c", pg.URL, args, env...),
	}
	var alive sync.Map // node id → bool
	for _, n := range nodes {
		alive.Store(n.id, true)
	}
	live := func() []*clusterNode {
		var out []*clusterNode
		for _, n := range nodes {
			if v, _ := alive.Load(n.id); v == true {
				out = append(out, n)
			}
		}
		return out
	}
	byID := func(id string) *clusterNode {
		for _, n := range nodes {
			if n.id == id {
				return n
			}
		}
		t.Fatalf("no node %q", id)
		return nil
	}
	dir := t.TempDir()
	nodes[0].applyStack(dir, "cluster", `name: cluster
securityGroups:
  - {name: studio, allow: [127.0.0.0/8]}
inputs:
  - {name: bars, type: TEST_PATTERN}
  - {name: cam, type: RTMP_PUSH, securityGroups: [studio]}
channels:
  - name: pat
    autoStart: true
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 6, dvrWindowSeconds: 600}]
  - name: cast
    autoStart: true
    inputAttachments: [{input: cam}]
    inputLoss: {fill: BLACK}
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 6}]
`)
	holderOf := func(channel string) *clusterNode {
		var id string
		poll.Until(t, "a node holds channel "+channel, 2*time.Minute, func() (bool, string) {
			for _, n := range live() {
				if id = n.holder(channel); id != "" {
					return true, ""
				}
			}
			return false, "no live node holds it"
		})
		return byID(id)
	}
	// patMoves counts the nodes taken down while they held pat.
	patMoves := 0
	down := func(n *clusterNode, why string, how func()) {
		if h := holderOf("pat"); h == n {
			patMoves++
		}
		t.Logf("%s node %s", why, n.id)
		alive.Store(n.id, false)
		how()
	}
	patHolder, castHolder := holderOf("pat"), holderOf("cast")
	if patHolder == castHolder {
		t.Fatalf("placement put both channels on node %s, which takes one", patHolder.id)
	}
	t.Logf("pat on %s, cast on %s", patHolder.id, castHolder.id)

	// The RTMP publisher sends to the node that holds neither channel:
	// that node's endpoint of the input, the first it lists.
	var pubNode *clusterNode
	for _, n := range nodes {
		if n != patHolder && n != castHolder {
			pubNode = n
		}
	}
	// publishTo publishes to node n once it lists the input's endpoints on
	// at least want nodes (a node that just started reads the others' rows
	// at its first heartbeat).
	publishTo := func(n *clusterNode, want int) *exec.Cmd {
		var in resource.Input
		poll.Until(t, fmt.Sprintf("input cam on %s lists an endpoint on %d nodes", n.id, want), time.Minute, func() (bool, string) {
			code, _, body := n.get("/api/v1/inputs/cam")
			in = resource.Input{}
			return code == 200 && json.Unmarshal(body, &in) == nil && len(in.Endpoints) >= want, fmt.Sprintf("%d %s", code, body)
		})
		t.Logf("publishing to %s: %s", n.id, in.Endpoints[0])
		args := append(livetest.Lavfi(640, 360, 48000, 600),
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-f", "flv", in.Endpoints[0])
		return livetest.FFmpegPublish(t, args...)
	}
	publisher := publishTo(pubNode, 3)
	castMedia := func(holder *clusterNode, via string) {
		t.Helper()
		poll.Until(t, "the publisher's media reaches cast's holder "+holder.id, 2*time.Minute, func() (bool, string) {
			code, _, body := holder.get("/api/v1/inputs/cam")
			var in resource.Input
			if code != 200 || json.Unmarshal(body, &in) != nil || in.Live == nil {
				return false, string(body)
			}
			ch := holder.channel("cast")
			ok := in.Live.Connected && in.Live.BitrateIn > 0 && strings.Contains(in.Live.Publisher, via) &&
				ch.State == resource.StateRunning && ch.Pipeline != nil && !ch.Pipeline.Filling
			return ok, fmt.Sprintf("input %+v, channel %s filling=%v", *in.Live, ch.State, ch.Pipeline != nil && ch.Pipeline.Filling)
		})
	}
	castMedia(castHolder, "via node "+pubNode.id)

	// Every node serves both channels, and their pages.
	for _, n := range nodes {
		for _, ch := range []string{"pat", "cast"} {
			poll.Until(t, ch+" through "+n.id, time.Minute, func() (bool, string) {
				code, _, body := n.get("/live/" + ch + "/hls/360p/index.m3u8")
				_, _, ok := lastOf(body)
				return code == 200 && ok, fmt.Sprintf("%d %s", code, body)
			})
			if code, _, body := n.get("/play/" + ch); code != 200 {
				t.Errorf("/play/%s on %s: %d %s", ch, n.id, code, body)
			}
		}
		if code, _, body := n.get("/"); code != 200 || !strings.Contains(string(body), "pat") || !strings.Contains(string(body), "cast") {
			t.Errorf("the channel list on %s: %d", n.id, code)
		}
	}

	// The API on each node lists the same resources, and the same holder
	// of each channel.
	listed := func(n *clusterNode, kind string) string {
		code, _, body := n.get("/api/v1/" + kind)
		var items []struct {
			Name string `json:"name"`
			Node string `json:"node"`
		}
		if code != 200 || json.Unmarshal(body, &items) != nil {
			t.Fatalf("GET /api/v1/%s on %s: %d %s", kind, n.id, code, body)
		}
		var names []string
		for _, it := range items {
			names = append(names, it.Name+"@"+it.Node)
		}
		slices.Sort(names)
		return strings.Join(names, " ")
	}
	for _, kind := range []string{"security-groups", "inputs", "channels"} {
		want := listed(nodes[0], kind)
		for _, n := range nodes[1:] {
			if got := listed(n, kind); got != want {
				t.Errorf("%s listed by %s: %s; by %s: %s", kind, nodes[0].id, want, n.id, got)
			}
		}
	}

	edge := startEdge(t, "--origin", nodes[0].url(""), "--origin", nodes[1].url(""), "--origin", nodes[2].url(""), "--name", "cluster-edge")
	patLine := watchTimeline(live, "/live/pat/hls/360p/index.m3u8")
	castLine := watchTimeline(live, "/live/cast/hls/360p/index.m3u8")

	// hls.js plays pat through the edge while its holder is killed.
	type played struct {
		res *browser.Result
		err error
	}
	playing := make(chan played, 1)
	watch := 75 * time.Second
	go func() {
		res, err := playInBrowser(t, edge.url("/play/pat?player=hls"), watch)
		playing <- played{res, err}
	}()
	poll.UntilTrue(t, "pat's timeline is watched", time.Minute, func() bool { _, ok := patLine.newest(); return ok })
	time.Sleep(20 * time.Second) // the player plays from the first holder
	before, _ := patLine.newest()
	killedAt := time.Now()
	t.Logf("pat's newest segment before the move: %d", before.last)
	down(patHolder, "killing", patHolder.kill)
	// A newer segment after a discontinuity: the new holder's, not one
	// the killed node made as it died.
	poll.Until(t, "pat runs again on another node", 2*time.Minute, func() (bool, string) {
		p, _ := patLine.newest()
		return p.last > before.last && p.disc > before.disc, fmt.Sprintf("newest %d (discontinuity %d) from %s", p.last, p.disc, p.from)
	})
	moved, _ := patLine.newest()
	t.Logf("pat is back after %v, segment %d", time.Since(killedAt).Round(100*time.Millisecond), moved.last)
	p := <-playing
	if p.err != nil {
		t.Fatalf("hls.js through the edge: %v (errors: %s)", p.err, strings.Join(errorsOf(p.res), "; "))
	}
	if p.res.Fatal != "" {
		t.Fatalf("hls.js gave up: %s (errors: %s)", p.res.Fatal, strings.Join(errorsOf(p.res), "; "))
	}
	samples := p.res.Samples
	if len(samples) < 10 {
		t.Fatalf("hls.js: %d samples", len(samples))
	}
	// The player was still advancing at the end: it went on after the move.
	lastS, prevS := samples[len(samples)-1], samples[len(samples)*3/4]
	if lastS.CurrentTime <= prevS.CurrentTime {
		t.Errorf("hls.js stopped advancing after the move: %.1f s then %.1f s (errors: %s)", prevS.CurrentTime, lastS.CurrentTime, strings.Join(errorsOf(p.res), "; "))
	}
	patHolder.restart()
	alive.Store(patHolder.id, true)

	// The archive of before the move is served after it, from S3, across
	// the discontinuity.
	startAt, endAt := killedAt.Add(-8*time.Second), time.Now().Add(-2*time.Second)
	q := "?start=" + url.QueryEscape(startAt.UTC().Format(time.RFC3339)) + "&end=" + url.QueryEscape(endAt.UTC().Format(time.RFC3339))
	for _, n := range live() {
		pl, body, ok := n.media("/live/pat/hls/360p/index.m3u8" + q)
		if !ok {
			t.Errorf("time-shifted playlist through %s: %s", n.id, body)
			continue
		}
		segs := segmentsOf(pl)
		var nums []uint64
		disc := false
		for _, s := range segs {
			v, _ := strconv.ParseUint(strings.TrimSuffix(s.URI, ".m4s"), 10, 64)
			nums = append(nums, v)
			disc = disc || s.Discontinuity
		}
		if len(nums) == 0 || nums[0] > before.last || nums[len(nums)-1] <= before.last || !disc {
			t.Errorf("time-shifted playlist through %s does not span the move (segments %v, discontinuity %v):\n%s", n.id, nums, disc, body)
			continue
		}
		if code, _, data := n.get("/live/pat/hls/360p/" + segs[0].URI); code != 200 || len(data) == 0 {
			t.Errorf("archived segment %s of the first holder through %s: %d", segs[0].URI, n.id, code)
		}
	}

	// The RTMP channel's holder dies: the channel moves; the new holder
	// relays the publisher from its node.
	castHolder = holderOf("cast")
	down(castHolder, "killing cast's holder,", castHolder.kill)
	var newCast *clusterNode
	poll.Until(t, "cast runs again on another node", 2*time.Minute, func() (bool, string) {
		for _, n := range live() {
			if id := n.holder("cast"); id != "" && id != castHolder.id {
				newCast = byID(id)
				return true, ""
			}
		}
		return false, "not yet"
	})
	via := "via node " + pubNode.id
	if newCast == pubNode {
		via = "127.0.0.1:"
	}
	castMedia(newCast, via)
	// hls.js plays the RTMP channel through the edge from its new holder.
	res, err := playInBrowser(t, edge.url("/play/cast?player=hls"), 20*time.Second)
	if err != nil || res.Fatal != "" || len(res.Samples) < 5 {
		t.Fatalf("hls.js playing cast through the edge: %v (errors: %s)", err, strings.Join(errorsOf(res), "; "))
	}
	if first, last := res.Samples[0], res.Samples[len(res.Samples)-1]; last.CurrentTime-first.CurrentTime < 5 {
		t.Errorf("hls.js played %.1f s of cast in %v", last.CurrentTime-first.CurrentTime, last.At-first.At)
	}
	castHolder.restart()
	alive.Store(castHolder.id, true)

	// The publisher's node dies: the publisher connects to another node,
	// which the holder then relays.
	if newCast != pubNode {
		down(pubNode, "killing the publisher's", pubNode.kill)
		_ = publisher.Process.Kill()
		var next *clusterNode
		for _, n := range live() {
			if n != newCast {
				next = n
			}
		}
		publisher = publishTo(next, 2)
		castMedia(holderOf("cast"), "via node "+next.id)
		pubNode.restart()
		alive.Store(pubNode.id, true)
	}
	_ = publisher

	// A node paused past its lease never serves its old timeline after.
	// Its holder produces first (pat may have just moved).
	settled, _ := patLine.newest()
	poll.Until(t, "pat's holder produces segments", 2*time.Minute, func() (bool, string) {
		p, _ := patLine.newest()
		return p.last > settled.last+1, fmt.Sprintf("newest %d from %s", p.last, p.from)
	})
	stale := holderOf("pat")
	last, _ := patLine.newest()
	t.Logf("pat's newest segment before the pause: %d", last.last)
	down(stale, "pausing pat's holder,", func() { stale.signal(syscall.SIGSTOP) })
	poll.Until(t, "pat runs on another node while its holder is paused", 2*time.Minute, func() (bool, string) {
		p, _ := patLine.newest()
		return p.last > last.last+2 && p.disc > last.disc, fmt.Sprintf("newest %d (discontinuity %d) from %s", p.last, p.disc, p.from)
	})
	taken, _ := patLine.newest()
	stale.signal(syscall.SIGCONT)
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		code, _, body := stale.get("/live/pat/hls/360p/index.m3u8")
		if code == 200 {
			if n, _, ok := lastOf(body); ok && n < taken.last {
				t.Fatalf("the resumed node served its old timeline (segment %d, the new holder was at %d):\n%s", n, taken.last, body)
			}
		} else if code != http.StatusServiceUnavailable {
			t.Errorf("the resumed node answered %d: %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	alive.Store(stale.id, true)

	// Over everything: numbers never went back; pat's discontinuity
	// sequence advanced by exactly one per move.
	patSteps, patAdvanced := checkTimeline(t, "pat", patLine.end())
	if patSteps != patMoves || patAdvanced != uint64(patMoves) {
		t.Errorf("pat's discontinuity sequence advanced %d times by %d in all over %d moves; want exactly one per move", patSteps, patAdvanced, patMoves)
	}
	checkTimeline(t, "cast", castLine.end())
}
