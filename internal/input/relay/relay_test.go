package relay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/relay"
	"github.com/sluice-video/sluice/internal/input/rtmp"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// cluster is the directory of the test's nodes: which are live, at which
// URL.
type cluster struct {
	mu   sync.Mutex
	urls map[string]string
}

func (c *cluster) NodeURL(_ context.Context, node string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.urls[node]
	return u, ok, nil
}

func (c *cluster) set(node, u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u == "" {
		delete(c.urls, node)
		return
	}
	c.urls[node] = u
}

// node is a node of the test: its ingest with an RTMP listener, the
// internal stream and the recorder of its publishers.
type node struct {
	id       string
	ingest   *ingest.Ingest
	rtmpAddr string
	http     *httptest.Server
	recorder *relay.Recorder
	port     *rtmp.Port
	stopped  sync.Once
}

var cam = resource.Input{
	ID: "in-cam", StreamKey: "k1",
	InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush, SecurityGroups: []string{"local"}},
}

var groups = map[string]resource.SecurityGroup{"local": {SecurityGroupSpec: resource.SecurityGroupSpec{Name: "local", Allow: []string{"127.0.0.0/8"}}}}

func startNode(t *testing.T, id string, key *peer.Key, st *store.Store, dir *cluster) *node {
	t.Helper()
	logger := livetest.Logger(t).With("node", id)
	reg := live.NewRegistry(nil)
	n := &node{id: id}
	puller := &relay.Puller{Self: id, Key: key, Publications: st, Nodes: dir, Hubs: reg, Logger: logger, Interval: 100 * time.Millisecond}
	n.ingest = ingest.New(ingest.Config{Registry: reg, Workers: ingest.Workers{Relay: puller.Run}, Logger: logger})
	srv := &rtmp.Server{Registry: reg, Logger: logger}
	n.port = &rtmp.Port{Server: srv, Name: "RTMP", Addr: "127.0.0.1:0"}
	if err := n.port.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.rtmpAddr = "127.0.0.1:" + strconv.Itoa(n.port.Number())
	mux := http.NewServeMux()
	mux.Handle(relay.StreamPath, &relay.Stream{Key: key, Inputs: n.ingest, Logger: logger})
	n.http = httptest.NewServer(mux)
	n.recorder = &relay.Recorder{Self: id, Store: st, Local: n.ingest, Interval: 100 * time.Millisecond, Logger: logger}
	if err := n.recorder.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.ingest.Apply(cam, groups)
	dir.set(id, n.http.URL)
	t.Cleanup(func() { n.stop(dir) })
	return n
}

// stop ends the node: it leaves the directory, its listeners close.
func (n *node) stop(dir *cluster) {
	n.stopped.Do(func() {
		ctx := context.Background()
		dir.set(n.id, "")
		n.http.CloseClientConnections()
		n.http.Close()
		_ = n.port.Close(ctx)
		_ = n.port.Server.Close(ctx)
		_ = n.ingest.Close(ctx)
		_ = n.recorder.Close(ctx)
	})
}

func publish(t *testing.T, addr string) *exec.Cmd {
	args := append(livetest.Lavfi(320, 180, 48000, 120),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", "rtmp://"+addr+"/live/k1")
	return livetest.FFmpegPublish(t, args...)
}

// TestHolderGetsThePublisherOfAnotherNode: a publisher on node b, the
// channel on node a: a's hub gets b's media, with the publisher named;
// when b dies and the publisher connects to c instead, a follows.
func TestHolderGetsThePublisherOfAnotherNode(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &cluster{urls: map[string]string{}}
	a := startNode(t, "a", key, st, dir)
	b := startNode(t, "b", key, st, dir)

	// Node a runs the channel that wants the input.
	a.ingest.Demand(map[string]bool{"cam": true}, nil)
	hubA, _ := a.ingest.Hub("cam")
	w := livetest.Watch(t, hubA)

	pub := publish(t, b.rtmpAddr)
	livetest.ExpectMedia(t, w, live.H264, live.AAC, 320, 180)
	st1 := hubA.Status()
	if !st1.Connected || st1.Protocol != "rtmp" || !strings.HasPrefix(st1.Publisher, "127.0.0.1:") || !strings.HasSuffix(st1.Publisher, "via node b") || st1.BitrateIn == 0 {
		t.Errorf("the holder's status of the relayed publisher: %+v", st1)
	}
	if node, ok, _ := st.InputPublisher(context.Background(), "in-cam"); !ok || node != "b" {
		t.Errorf("recorded publisher node %q %v, want b", node, ok)
	}
	// Node a itself never records the relayed publisher as its own.
	if ids, _ := st.NodeInputPublishers(context.Background(), "a"); len(ids) != 0 {
		t.Errorf("node a recorded %v", ids)
	}

	// Node b dies with its publisher's connection; the publisher
	// reconnects to node c.
	b.stop(dir)
	_ = pub.Process.Kill()
	// As after a crash, its record stays: node a must not pull from a
	// node that is not live.
	if err := st.SetInputPublisher(context.Background(), "in-cam", "b"); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the relayed session ends on node a", livetest.WaitLong, func() bool {
		_, _, _, ended := w.Snapshot()
		return len(ended) > 0
	})
	c := startNode(t, "c", key, st, dir)
	before := w.Count(live.Video)
	publish(t, c.rtmpAddr)
	poll.Until(t, "node a gets the publisher on node c", livetest.WaitLong, func() (bool, string) {
		s := hubA.Status()
		return s.Connected && strings.HasSuffix(s.Publisher, "via node c") && w.Count(live.Video) > before+50, s.Publisher
	})

	// The channel stops wanting the input on node a: the relay stops.
	a.ingest.Demand(map[string]bool{}, nil)
	poll.UntilTrue(t, "the relay stops once the input is not wanted", livetest.WaitLong, func() bool {
		return !hubA.Status().Connected
	})
}

// TestEachNodeTakesItsOwnPublisherFirst: a publisher on each of two nodes
// (one per pipeline of a STANDARD channel), both nodes wanting the input.
// Each takes its own; when node a's publisher stops, a relays b's (the
// cross-feed); when it comes back, a's own takes the input from the relay
// at once. With ownOnly, node a relays nothing.
func TestEachNodeTakesItsOwnPublisherFirst(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &cluster{urls: map[string]string{}}
	a := startNode(t, "a", key, st, dir)
	b := startNode(t, "b", key, st, dir)
	for _, n := range []*node{a, b} {
		n.ingest.Demand(map[string]bool{"cam": true}, nil)
	}
	hubA, _ := a.ingest.Hub("cam")
	hubB, _ := b.ingest.Hub("cam")
	pubA := publish(t, a.rtmpAddr)
	publish(t, b.rtmpAddr)
	own := func(h *live.Hub) (bool, string) {
		s := h.Status()
		return s.Connected && !strings.Contains(s.Publisher, "via node"), s.Publisher
	}
	poll.Until(t, "node a's own publisher", livetest.WaitLong, func() (bool, string) { return own(hubA) })
	poll.Until(t, "node b's own publisher", livetest.WaitLong, func() (bool, string) { return own(hubB) })
	poll.Until(t, "both publishers recorded", livetest.WaitLong, func() (bool, string) {
		nodes, _ := st.InputPublishers(context.Background(), cam.ID)
		return len(nodes) == 2, strings.Join(nodes, ",")
	})

	// a's publisher stops: a relays b's.
	_ = pubA.Process.Kill()
	poll.Until(t, "node a relays node b's publisher", livetest.WaitLong, func() (bool, string) {
		s := hubA.Status()
		return s.Connected && strings.HasSuffix(s.Publisher, "via node b"), s.Publisher
	})
	// a's publisher comes back: it takes the input from the relay.
	pubA = publish(t, a.rtmpAddr)
	poll.Until(t, "node a's own publisher again", livetest.WaitLong, func() (bool, string) { return own(hubA) })

	// Without cross-feed, a takes only its own publisher: once it stops,
	// a's input stays without one, though b's publishes on.
	a.ingest.Demand(map[string]bool{"cam": true}, map[string]bool{"cam": true})
	_ = pubA.Process.Kill()
	poll.UntilTrue(t, "node a's publisher gone", livetest.WaitLong, func() bool { return !hubA.Status().Connected })
	time.Sleep(time.Second) // ten of the puller's looks, had it run
	if s := hubA.Status(); s.Connected {
		t.Errorf("node a took publisher %s without cross-feed", s.Publisher)
	}
	if ok, pub := own(hubB); !ok {
		t.Errorf("node b's publisher: %s", pub)
	}
}

// publishing is a node's list of local publishers, set by the test.
type publishing struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func (p *publishing) Publishing() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for id, t := range p.ids {
		out[id] = t
	}
	return out
}

// TestClaimHoldsAcrossNodes: a claim records the node at once and
// refuses another live node's claim; syncs keep the record of a claim
// whose publisher is not on the hub yet, and clear it once released
// without one.
func TestClaimHoldsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	live := func() []string { return []string{"a", "b"} }
	localA, localB := &publishing{}, &publishing{}
	recA := &relay.Recorder{Self: "a", Store: st, Local: localA, LiveNodes: live}
	recB := &relay.Recorder{Self: "b", Store: st, Local: localB, LiveNodes: live}

	release, err := recA.Claim(ctx, "in-cam")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recB.Claim(ctx, "in-cam"); !errors.Is(err, relay.ErrElsewhere) || !strings.Contains(err.Error(), "node a") {
		t.Fatalf("b's claim while a has the input: %v", err)
	}
	// A sync before a's publisher is on its hub keeps the claim.
	if err := recA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if node, ok, _ := st.InputPublisher(ctx, "in-cam"); !ok || node != "a" {
		t.Fatalf("after a sync during the claim: %q %v, want a", node, ok)
	}
	// The session could not start: released, the next sync clears it and
	// b may claim.
	release()
	if err := recA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.InputPublisher(ctx, "in-cam"); ok {
		t.Fatal("a released claim without a publisher is still recorded")
	}
	releaseB, err := recB.Claim(ctx, "in-cam")
	if err != nil {
		t.Fatalf("b's claim once a let go: %v", err)
	}
	// b's publisher is on its hub: syncs keep the record after release.
	localB.mu.Lock()
	localB.ids = map[string]time.Time{"in-cam": time.Now()}
	localB.mu.Unlock()
	releaseB()
	if err := recB.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if node, ok, _ := st.InputPublisher(ctx, "in-cam"); !ok || node != "b" {
		t.Fatalf("b's publisher: recorded %q %v", node, ok)
	}
	// Node b dies with its record; a takes the input over.
	dead := &relay.Recorder{Self: "a", Store: st, Local: localA, LiveNodes: func() []string { return []string{"a"} }}
	if _, err := dead.Claim(ctx, "in-cam"); err != nil {
		t.Fatalf("a's claim once b is not live: %v", err)
	}
}
