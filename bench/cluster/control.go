package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// controlResult is one engine's control-plane figures.
type controlResult struct {
	Engine    string  `json:"engine"`
	Resources int     `json:"resources"`
	ApplyMs   float64 `json:"applyMilliseconds"`
	// ReapplyMs is a second apply of the same stack: a plan with nothing
	// to change.
	ReapplyMs float64 `json:"reapplyMilliseconds"`
	GetP50Ms  float64 `json:"getP50Milliseconds"`
	GetP99Ms  float64 `json:"getP99Milliseconds"`
	ListP50Ms float64 `json:"listP50Milliseconds"`
	ListP99Ms float64 `json:"listP99Milliseconds"`
	Channels  int     `json:"channels"`
}

// controlStack is a stack of n resources: security groups, and as many
// TEST_PATTERN inputs as channels that do not start.
func controlStack(n int) (string, int) {
	groups := max(1, n/20)
	pairs := (n - groups) / 2
	var b strings.Builder
	b.WriteString("name: control\nsecurityGroups:\n")
	for i := range groups {
		fmt.Fprintf(&b, "  - {name: g%03d, allow: [10.%d.0.0/16]}\n", i, i)
	}
	b.WriteString("inputs:\n")
	for i := range pairs {
		fmt.Fprintf(&b, "  - {name: in%03d, type: TEST_PATTERN}\n", i)
	}
	b.WriteString("channels:\n")
	for i := range pairs {
		fmt.Fprintf(&b, "  - name: ch%03d\n    inputAttachments: [{input: in%03d}]\n    encoder: {ladder: test-360p}\n", i, i)
	}
	return b.String(), pairs
}

// measureControl runs one server on SQLite and one node on PostgreSQL and
// measures the same API work on both.
func measureControl(ctx context.Context, ws *harness.Workspace, cfg config, pg *backing.Postgres) ([]controlResult, error) {
	stack, channels := controlStack(cfg.resources)
	resources := max(1, cfg.resources/20) + 2*channels
	db, err := pg.Database(ctx, "control")
	if err != nil {
		return nil, err
	}
	var out []controlResult
	for _, eng := range []struct{ name, database string }{{"SQLite", ""}, {"PostgreSQL", db}} {
		dir := filepath.Join(ws.Dir, "control-"+strings.ToLower(eng.name))
		if err := os.MkdirAll(filepath.Join(dir, "media"), 0o750); err != nil {
			return out, err
		}
		args := []string{"--rtmp", "", "--srt", "", "--vod-workers", "0", "--log-level", "warn"}
		if eng.database != "" {
			args = append(args, "--database", eng.database, "--node-id", "control-1")
		}
		srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: ws.Bin, DataDir: dir, FFmpeg: cfg.FFmpeg, Args: args})
		if err != nil {
			return out, fmt.Errorf("%s: %w", eng.name, err)
		}
		ws.Cleanup.Add(srv.Stop)
		n := &node{id: eng.name, data: dir, srv: srv}
		res := controlResult{Engine: eng.name, Resources: resources, Channels: channels}
		ws.Log.Printf("%s: applying a stack of %d resources", eng.name, resources)
		took, err := n.apply(ctx, ws, "control-"+strings.ToLower(eng.name), stack)
		if err != nil {
			return out, err
		}
		res.ApplyMs = ms(took)
		if took, err = n.apply(ctx, ws, "control-"+strings.ToLower(eng.name)+"-again", stack); err != nil {
			return out, err
		}
		res.ReapplyMs = ms(took)
		get, err := latencies(ctx, srv, cfg.samples, func(i int) string { return fmt.Sprintf("/api/v1/channels/ch%03d", i%channels) })
		if err != nil {
			return out, fmt.Errorf("%s: %w", eng.name, err)
		}
		list, err := latencies(ctx, srv, max(cfg.samples/4, 10), func(int) string { return "/api/v1/channels" })
		if err != nil {
			return out, fmt.Errorf("%s: %w", eng.name, err)
		}
		res.GetP50Ms, res.GetP99Ms = percentile(get, 50), percentile(get, 99)
		res.ListP50Ms, res.ListP99Ms = percentile(list, 50), percentile(list, 99)
		out = append(out, res)
		srv.Stop()
	}
	return out, nil
}

// latencies times n GETs, one after the other, in milliseconds.
func latencies(ctx context.Context, srv *sluice.Server, n int, path func(i int) string) ([]float64, error) {
	out := make([]float64, 0, n)
	for i := range n {
		start := time.Now()
		code, body, err := srv.Get(ctx, path(i))
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", path(i), code, body)
		}
		out = append(out, ms(time.Since(start)))
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the p-th percentile of xs (nearest rank).
func percentile(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[min(max(i, 0), len(s)-1)]
}

func controlTable(cfg config, rs []controlResult) report.Table {
	t := report.Table{
		Title:  fmt.Sprintf("Control plane: the same API work on SQLite and on PostgreSQL (%d requests per figure, one at a time)", cfg.samples),
		Header: []string{"engine", "stack", "apply", "apply again", "GET channel p50", "p99", "GET channels p50", "p99", "channels"},
	}
	for _, r := range rs {
		t.Rows = append(t.Rows, []string{
			r.Engine, fmt.Sprintf("%d resources", r.Resources),
			fmt.Sprintf("%.0f ms", r.ApplyMs), fmt.Sprintf("%.0f ms", r.ReapplyMs),
			fmt.Sprintf("%.2f ms", r.GetP50Ms), fmt.Sprintf("%.2f ms", r.GetP99Ms),
			fmt.Sprintf("%.2f ms", r.ListP50Ms), fmt.Sprintf("%.2f ms", r.ListP99Ms), fmt.Sprint(r.Channels),
		})
	}
	t.Notes = append(t.Notes, "apply is `sluice apply -f` through the CLI (process start included); the channels do not start.")
	return t
}
