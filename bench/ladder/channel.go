package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// channelPoll is how often the channel is polled while waiting for the
// encoder's next progress report: the CPU sample is taken at most this
// long after the report.
const channelPoll = 50 * time.Millisecond

// sluiceChannel is a running Sluice channel: the `sluice serve` process
// with its encoder child. Its output position is the channel's
// pipeline.outTimeSeconds from the API.
type sluiceChannel struct {
	srv  *sluice.Server
	name string
}

func (c *sluiceChannel) Label() string { return "sluice" }

func (c *sluiceChannel) Root() int { return c.srv.Pid() }

// pipeline fetches the channel and checks that it still runs.
func (c *sluiceChannel) pipeline(ctx context.Context) (resource.PipelineStatus, error) {
	ch, err := c.srv.Channel(ctx, c.name)
	if err != nil {
		return resource.PipelineStatus{}, err
	}
	if ch.State != resource.StateRunning || ch.Pipeline == nil {
		return resource.PipelineStatus{}, fmt.Errorf("channel %s is %s: %s %s", c.name, ch.State, ch.StateReason, ch.LastError)
	}
	return *ch.Pipeline, nil
}

// Next polls the channel until its output position moves, then samples
// the CPU time of the server and its encoder.
func (c *sluiceChannel) Next(ctx context.Context) (reading, error) {
	first, err := c.pipeline(ctx)
	if err != nil {
		return reading{}, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return reading{}, ctx.Err()
		case <-c.srv.Done():
			return reading{}, fmt.Errorf("sluice serve ended (log: %s)", c.srv.LogPath)
		case <-time.After(channelPoll):
		}
		p, err := c.pipeline(ctx)
		if err != nil {
			return reading{}, err
		}
		if p.OutTime != first.OutTime {
			cpu := procfs.SampleTree(c.srv.Pid())
			return reading{OutTime: seconds(p.OutTime), Speed: p.Speed, CPU: cpu}, nil
		}
	}
	return reading{}, fmt.Errorf("channel %s: output position stuck for 30 s", c.name)
}

func (c *sluiceChannel) Latest(ctx context.Context) (reading, error) {
	p, err := c.pipeline(ctx)
	if err != nil {
		return reading{}, err
	}
	return reading{OutTime: seconds(p.OutTime), Speed: p.Speed, CPU: procfs.SampleTree(c.srv.Pid())}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
