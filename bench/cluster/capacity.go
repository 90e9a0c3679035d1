package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/internal/resource"
)

// capacityResult is the capacity part of the report.
type capacityResult struct {
	// Steps are the single node's rounds: how many channels ran and the
	// slowest encoder's speed.
	Steps []capacityStep `json:"steps"`
	// OneNode is how many channels one node ran with every encoder at
	// speed ≥ 1.0.
	OneNode int `json:"oneNode"`
	// ThreeNodes are the channels placement put on each of three nodes
	// given 3 × OneNode channels, and how many ran at speed ≥ 1.0.
	ThreeNodes     map[string]int `json:"threeNodesPlacement,omitempty"`
	ThreeNodesFast int            `json:"threeNodesAtSpeed"`
	ThreeNodesAll  int            `json:"threeNodesChannels"`
	SlowestThree   float64        `json:"threeNodesSlowestSpeed"`
}

type capacityStep struct {
	Channels int     `json:"channels"`
	Slowest  float64 `json:"slowestSpeed"`
}

// fastEnough is the speed an encoder must keep: real time, less the
// rounding of ffmpeg's progress figure.
const fastEnough = 0.99

func patternStack(from, to int) string {
	var b strings.Builder
	b.WriteString("name: capacity\ninputs:\n  - {name: bars, type: TEST_PATTERN}\nchannels:\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "  - name: cap%03d\n    autoStart: true\n    inputAttachments: [{input: bars}]\n    encoder: {ladder: test-360p}\n    outputs: [{name: hls, type: HLS}]\n", i)
	}
	return b.String()
}

// measureCapacity adds channels to one node until an encoder falls behind,
// then gives three nodes three times what one node ran.
func measureCapacity(ctx context.Context, ws *harness.Workspace, cfg config, pg *backing.Postgres) (*capacityResult, error) {
	res := &capacityResult{}
	db, err := pg.Database(ctx, "capacity")
	if err != nil {
		return res, err
	}
	one, err := startNode(ctx, ws, cfg, "cap-1", db, "--max-channels", fmt.Sprint(cfg.maxChans))
	if err != nil {
		return res, err
	}
	for n := 1; n <= cfg.maxChans; n++ {
		if _, err := one.apply(ctx, ws, fmt.Sprintf("capacity-%d", n), patternStack(0, n)); err != nil {
			return res, err
		}
		slowest, running, err := settle(ctx, cfg, one, n)
		if err != nil {
			return res, err
		}
		ws.Log.Printf("one node, %d channels (%d running): slowest encoder at %.3fx", n, running, slowest)
		res.Steps = append(res.Steps, capacityStep{Channels: n, Slowest: slowest})
		if running < n || slowest < fastEnough {
			break
		}
		res.OneNode = n
	}
	one.srv.Stop()
	if res.OneNode == 0 || ctx.Err() != nil {
		return res, ctx.Err()
	}
	// Three nodes, each allowed what one ran, given three times as much.
	db, err = pg.Database(ctx, "capacity3")
	if err != nil {
		return res, err
	}
	var nodes []*node
	for i := 1; i <= 3; i++ {
		n, err := startNode(ctx, ws, cfg, fmt.Sprintf("cap3-%d", i), db, "--max-channels", fmt.Sprint(res.OneNode))
		if err != nil {
			return res, err
		}
		nodes = append(nodes, n)
	}
	total := 3 * res.OneNode
	if _, err := nodes[0].apply(ctx, ws, "capacity-three", patternStack(0, total)); err != nil {
		return res, err
	}
	slowest, running, err := settle(ctx, cfg, nodes[0], total)
	if err != nil {
		return res, err
	}
	res.ThreeNodesAll, res.SlowestThree = total, slowest
	chans, err := nodes[0].channels(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range chans {
		if c.State == resource.StateRunning && c.Pipeline != nil && c.Pipeline.Speed >= fastEnough {
			res.ThreeNodesFast++
		}
	}
	if all, err := nodes[0].nodes(ctx); err == nil {
		res.ThreeNodes = map[string]int{}
		for _, nd := range all {
			res.ThreeNodes[nd.ID] = len(nd.Channels)
		}
	}
	ws.Log.Printf("three nodes, %d channels (%d running): slowest encoder at %.3fx", total, running, slowest)
	for _, n := range nodes {
		n.srv.Stop()
	}
	return res, nil
}

// settle waits until want channels run, lets them run --settle, and
// returns the slowest encoder's speed over three readings a second apart.
func settle(ctx context.Context, cfg config, n *node, want int) (float64, int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	running := 0
	for {
		chans, err := n.channels(ctx)
		if err != nil {
			return 0, 0, err
		}
		running = 0
		for _, c := range chans {
			if strings.HasPrefix(c.Name, "cap") && c.State == resource.StateRunning {
				running++
			}
		}
		if running >= want || time.Now().After(deadline) {
			break
		}
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return 0, 0, err
		}
	}
	if err := harness.Sleep(ctx, cfg.settle); err != nil {
		return 0, 0, err
	}
	slowest := 0.0
	first := true
	for range 3 {
		chans, err := n.channels(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, c := range chans {
			if !strings.HasPrefix(c.Name, "cap") {
				continue
			}
			speed := 0.0
			if c.Pipeline != nil {
				speed = c.Pipeline.Speed
			}
			if first || speed < slowest {
				slowest, first = speed, false
			}
		}
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return 0, 0, err
		}
	}
	return slowest, running, nil
}

func (c *capacityResult) table(cfg config) report.Table {
	t := report.Table{
		Title:  "Capacity: TEST_PATTERN test-360p channels with every encoder at speed ≥ 1.0",
		Header: []string{"nodes", "channels", "running at speed", "slowest speed", "placement"},
	}
	for _, s := range c.Steps {
		t.Rows = append(t.Rows, []string{"1", fmt.Sprint(s.Channels), "", fmt.Sprintf("%.3fx", s.Slowest), ""})
	}
	if c.ThreeNodesAll > 0 {
		var place []string
		for id, n := range c.ThreeNodes {
			place = append(place, fmt.Sprintf("%s:%d", id, n))
		}
		sort.Strings(place)
		t.Rows = append(t.Rows, []string{"3", fmt.Sprint(c.ThreeNodesAll), fmt.Sprint(c.ThreeNodesFast),
			fmt.Sprintf("%.3fx", c.SlowestThree), strings.Join(place, " ")})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("One node: %d channels at speed. Three nodes on one machine share its cores: placement spreads the channels, the machine's CPU bounds them.", c.OneNode))
	return t
}
