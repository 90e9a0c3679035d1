package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// cluster is the soak's cluster of --cluster: nodes on one PostgreSQL
// database with their DVR archives and packages on MinIO, each killed,
// paused and restarted on its own data directory and addresses.
type cluster struct {
	r     *rig
	pg    *backing.Postgres
	s3    *backing.MinIO
	db    string
	nodes []*node
	// paths are the fault proxies before each node, by node id
	// (cluster_net.go).
	paths map[string]*nodePaths
	// tmpfs is set when every node's data directory is a small file
	// system of its own, which the disk-full fault fills.
	tmpfs bool

	mu sync.Mutex
	// down are the nodes a fault has killed or paused at this moment.
	down map[*node]bool
	// victim counts the faults aimed at one node, to take turns.
	victim int
}

// clusterLease is the nodes' lease: the default of --lease, which the
// faults that take a node or the database away outlast.
const clusterLease = 10 * time.Second

// soakCluster runs the whole soak on a cluster.
func soakCluster(ctx context.Context, r *rig) (*results, error) {
	c := &cluster{r: r, down: map[*node]bool{}, paths: map[string]*nodePaths{}}
	r.cl = c
	if err := c.setUp(ctx); err != nil {
		return nil, err
	}
	return c.run(ctx)
}

// setUp starts PostgreSQL, MinIO, the nodes, the publishers, the edge and
// the pipeline, applies the stack through one node and waits until every
// channel is on air.
func (c *cluster) setUp(ctx context.Context) error {
	r := c.r
	r.channels = append(append([]string{}, soakChannels...), standardChannel)
	var err error
	if c.pg, err = backing.StartPostgres(ctx, r.ws, ""); err != nil {
		return err
	}
	if c.db, err = c.pg.Database(ctx, "soak"); err != nil {
		return err
	}
	if c.s3, err = backing.StartMinIO(ctx, r.ws); err != nil {
		return err
	}
	src := media.Source{Width: 320, Height: 180, FPS: 25, Seconds: 6}
	loop, err := r.ws.Generate(ctx, src, "loop.mp4")
	if err != nil {
		return err
	}
	storage := func(bucket, prefix string) string {
		return fmt.Sprintf("s3://%s/%s?insecure=1&endpoint=%s", bucket, prefix, c.s3.Endpoint)
	}
	c.tmpfs = r.wants(faultDiskFull)
	for i := range r.cfg.nodes {
		id := fmt.Sprintf("n%d", i+1)
		data := filepath.Join(r.ws.Dir, id)
		if err := os.MkdirAll(data, 0o700); err != nil {
			return err
		}
		// Mounted before the node exists, so that the cleanup stops the
		// node before it unmounts its data directory.
		c.tmpfs = c.tmpfs && r.mountSmall(data, "256m")
		if err := os.MkdirAll(filepath.Join(data, "media"), 0o700); err != nil {
			return err
		}
		n, err := newNode(r.ws, r.cfg.FFmpeg, "")
		if err != nil {
			return err
		}
		n.id, n.data = id, data
		// Room for every channel on two nodes when one is down: placement
		// needs it to move the channels of a node that died. Jobs of a
		// killed node are taken over after the visibility timeout.
		n.args = []string{"--database", c.db, "--node-id", n.id, "--lease", clusterLease.String(),
			"--dvr-storage", storage("dvr", "archives"), "--harvest-storage", storage("harvest", "packages"),
			"--media-allow", r.ws.MediaPath(""), "--max-channels", "4",
			"--job-timeout", "2m", "--visibility-timeout", "150s"}
		n.env = c.s3.Env()
		r.log.Printf("starting node %s on %s", n.id, n.addr)
		if err := n.start(ctx); err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
		if err := c.startPaths(n); err != nil {
			return err
		}
	}
	// The single-server faults that address one server (garbage to the
	// ingest ports) address the first node.
	r.node = c.nodes[0]
	if err := c.apply(ctx, clusterStack(loop)); err != nil {
		return err
	}
	if err := c.startPublishers(ctx); err != nil {
		return err
	}
	if err := r.startEdge(ctx, c.origins()...); err != nil {
		return err
	}
	feed := &jobFeed{node: c.nodes[0], source: loop}
	if err := feed.create(ctx, r.ws.MediaPath("")); err != nil {
		return err
	}
	r.feed = feed
	r.log.Printf("waiting for every channel to be on air")
	for _, ch := range r.channels {
		if _, err := r.api().WaitState(ctx, ch, 3*time.Minute, resource.StateRunning); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	before := r.lastSegments(ctx)
	for !r.allAdvanced(ctx, before) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the channels did not all list new segments within 2 minutes: %v", r.lastSegments(ctx))
		}
		sleep(ctx, time.Second)
	}
	return ctx.Err()
}

// apply applies the stack through the first node with the CLI.
func (c *cluster) apply(ctx context.Context, stack string) error {
	path := filepath.Join(c.r.ws.Dir, "stack.yaml")
	if err := os.WriteFile(path, []byte(stack), 0o600); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, c.r.ws.Bin, "--server", c.nodes[0].server().URL, "apply", "-f", path).CombinedOutput() //nolint:gosec // the sluice binary under test
	if err != nil {
		return fmt.Errorf("applying the stack: %w\n%s", err, out)
	}
	return nil
}

// standardChannel is the cluster's channel of two pipelines.
const standardChannel = "soak-standard"

// clusterStack is the soak's stack with DVR windows on the HLS outputs
// (their archives on MinIO) and a STANDARD channel on the test pattern.
func clusterStack(loopFile string) string {
	stack := strings.ReplaceAll(soakStack(loopFile), "{name: hls, type: HLS}", "{name: hls, type: HLS, dvrWindowSeconds: 300}")
	return stack + `  - name: ` + standardChannel + `
    channelClass: STANDARD
    autoStart: true
    inputAttachments: [{input: pattern}]
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS, dvrWindowSeconds: 300}
      - {name: ll, type: LL_HLS}
`
}

// api is a server that answers the API: the first node no fault has
// taken down (any node answers for every resource).
func (r *rig) api() *sluice.Server {
	if r.cl == nil {
		return r.node.server()
	}
	return r.cl.api()
}

func (c *cluster) api() *sluice.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if !c.down[n] {
			return n.server()
		}
	}
	return c.nodes[0].server()
}

// setDown marks n as taken down by a fault, or back.
func (c *cluster) setDown(n *node, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[n] = down
}

// endpoint is the first publish URL of input that node id's API lists
// (that node's own), through the fault proxy or relay before the node.
func (c *cluster) endpoint(ctx context.Context, id, input string) (string, error) {
	for _, n := range c.nodes {
		if n.id != id {
			continue
		}
		var in resource.Input
		if err := n.server().GetJSON(ctx, "/api/v1/inputs/"+input, &in); err != nil {
			return "", err
		}
		if len(in.Endpoints) == 0 {
			return "", fmt.Errorf("input %s names no endpoint on node %s", input, id)
		}
		return c.through(id, in.Endpoints[0]), nil
	}
	return "", fmt.Errorf("no node %q", id)
}

// holder is the node that holds channel, as the API says ("" while none
// does).
func (c *cluster) holder(ctx context.Context, channel string) string {
	ch, err := c.api().Channel(ctx, channel)
	if err != nil {
		return ""
	}
	return ch.Node
}

// publishURLs are the URLs the RTMP and SRT publishers send to: their
// inputs' endpoints on the nodes that hold their channels, through the
// fault proxy and relay before those nodes.
func (c *cluster) publishURLs(ctx context.Context) (rtmp, srt string, err error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hr, hs := c.holder(rctx, "soak-rtmp"), c.holder(rctx, "soak-srt")
	if hr == "" || hs == "" {
		return "", "", errors.New("a push channel has no holder")
	}
	if rtmp, err = c.endpoint(rctx, hr, "cam-rtmp"); err != nil {
		return "", "", err
	}
	if srt, err = c.endpoint(rctx, hs, "cam-srt"); err != nil {
		return "", "", err
	}
	return rtmp, srt + "&pkt_size=1316", nil
}

// startPublishers starts the RTMP and SRT publishers at the endpoints of
// the nodes that hold their channels.
func (c *cluster) startPublishers(ctx context.Context) error {
	r := c.r
	var rtmp, srt string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		if rtmp, srt, err = c.publishURLs(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("finding where to publish: %w", err)
		}
		sleep(ctx, time.Second)
	}
	r.rtmpPub = &publisher{name: "rtmp", ffmpeg: r.cfg.FFmpeg, format: "flv", logDir: r.ws.Dir}
	r.rtmpPub.setURL(rtmp)
	r.srtPub = &publisher{name: "srt", ffmpeg: r.cfg.FFmpeg, format: "mpegts", logDir: r.ws.Dir}
	r.srtPub.setURL(srt)
	r.ws.Cleanup.Add(r.rtmpPub.stop)
	r.ws.Cleanup.Add(r.srtPub.stop)
	return errors.Join(r.rtmpPub.start(1), r.srtPub.start(1))
}

// followHolders points the publishers at the nodes holding their
// channels as the channels move, as an operator's encoder set to the
// input's endpoints would find them: a publisher whose connection broke
// reconnects there.
func (c *cluster) followHolders(ctx context.Context) {
	for ctx.Err() == nil {
		if rtmp, srt, err := c.publishURLs(ctx); err == nil {
			c.r.rtmpPub.setURL(rtmp)
			c.r.srtPub.setURL(srt)
		}
		sleep(ctx, 2*time.Second)
	}
}

// heldChannels is how many channels (pipelines) each node holds.
func (c *cluster) heldChannels(ctx context.Context) map[string]int {
	var nodes []resource.Node
	out := map[string]int{}
	if err := c.api().GetJSON(ctx, "/api/v1/nodes", &nodes); err != nil {
		return out
	}
	for _, n := range nodes {
		out[n.ID] = len(n.Channels)
	}
	return out
}

// parseFaults reads --faults: the single server's faults, or with
// --cluster the cluster's, whose default it is then.
func (c *config) parseFaults(fs *flag.FlagSet, value string) error {
	known := allFaults
	if c.cluster {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "faults" })
		if !set {
			value = strings.Join(clusterFaults, ",")
		}
		known = clusterFaults
		if c.nodes < 2 {
			return errors.New("--nodes must be at least 2")
		}
	}
	names, err := harness.SplitNames("faults", "fault", value, known)
	if err != nil {
		return err
	}
	c.faults = names
	return nil
}
