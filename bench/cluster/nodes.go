package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// node is one `sluice serve` of a benchmark cluster: its id and data
// directory stay across restarts, its process and port change.
type node struct {
	id   string
	data string
	args []string
	srv  *sluice.Server
	// addr, when set, is the address every start listens on (for an edge
	// that names the node); empty takes a free port each time.
	addr string
}

// startNode runs a node of the cluster on database; extra flags follow.
func startNode(ctx context.Context, ws *harness.Workspace, cfg config, id, database string, extra ...string) (*node, error) {
	n := &node{id: id, data: filepath.Join(ws.Dir, id)}
	if err := os.MkdirAll(filepath.Join(n.data, "media"), 0o750); err != nil {
		return nil, err
	}
	n.args = append([]string{"--database", database, "--node-id", id, "--lease", cfg.lease.String(),
		"--rtmp", "", "--srt", "", "--vod-workers", "0", "--log-level", "warn"}, extra...)
	return n, n.start(ctx, ws, cfg)
}

// start runs the node's process; a node that was killed takes its row
// again once its old heartbeat went stale.
func (n *node) start(ctx context.Context, ws *harness.Workspace, cfg config) error {
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: ws.Bin, DataDir: n.data, FFmpeg: cfg.FFmpeg, Args: n.args, Addr: n.addr})
	if err != nil {
		return fmt.Errorf("node %s: %w", n.id, err)
	}
	n.srv = srv
	ws.Cleanup.Add(srv.Stop)
	return nil
}

// nodes reads the cluster's nodes through n.
func (n *node) nodes(ctx context.Context) ([]resource.Node, error) {
	var out []resource.Node
	err := n.srv.GetJSON(ctx, "/api/v1/nodes", &out)
	return out, err
}

// holderOf says which node holds channel, as n sees the cluster.
func (n *node) holderOf(ctx context.Context, channel string) (string, error) {
	nodes, err := n.nodes(ctx)
	if err != nil {
		return "", err
	}
	for _, nd := range nodes {
		if nd.State != resource.NodeLive {
			continue
		}
		for _, c := range nd.Channels {
			if c == channel {
				return nd.ID, nil
			}
		}
	}
	return "", nil
}

// apply applies a stack file through n with the CLI and returns how long
// it took.
func (n *node) apply(ctx context.Context, ws *harness.Workspace, name, body string) (time.Duration, error) {
	path := filepath.Join(ws.Dir, name+".yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return 0, err
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, ws.Bin, "--server", n.srv.URL, "apply", "-f", path).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("apply %s through %s: %w\n%s", name, n.id, err, out)
	}
	return took, nil
}

// edge reads a channel's first media playlist through n and returns its
// newest segment number and its discontinuity sequence; ok is false while
// the playlist lists no segment (or is not served).
func edge(ctx context.Context, base, channel string) (last, disc uint64, ok bool) {
	body, code := fetch(ctx, base+"/live/"+channel+"/hls/index.m3u8")
	if code != http.StatusOK {
		return 0, 0, false
	}
	media := ""
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			media = l
			break
		}
	}
	if media == "" {
		return 0, 0, false
	}
	body, code = fetch(ctx, base+"/live/"+channel+"/hls/"+media)
	if code != http.StatusOK {
		return 0, 0, false
	}
	var seq uint64
	segments := 0
	sc = bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.ParseUint(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
			disc, _ = strconv.ParseUint(strings.TrimPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(l, "#EXT-X-DISCONTINUITY") && !strings.HasPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE"):
			disc++
		case strings.HasPrefix(l, "#EXTINF:"):
			segments++
		}
	}
	if segments == 0 {
		return 0, 0, false
	}
	return seq + uint64(segments) - 1, disc, true
}

var fetchClient = &http.Client{Timeout: 5 * time.Second}

func fetch(ctx context.Context, u string) ([]byte, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0
	}
	resp, err := fetchClient.Do(req)
	if err != nil {
		return nil, 0
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.Bytes(), resp.StatusCode
}

// channels reads every channel through n.
func (n *node) channels(ctx context.Context) ([]resource.Channel, error) {
	code, body, err := n.srv.Get(ctx, "/api/v1/channels")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/channels: %d %s", code, body)
	}
	var out []resource.Channel
	return out, json.Unmarshal(body, &out)
}
