package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// runResult is one start of a channel.
type runResult struct {
	Run int `json:"run"`
	// Seconds is from the start request to the moment every media playlist
	// of the multivariant playlist lists a segment of this run.
	Seconds float64 `json:"seconds"`
	// EncoderSeconds is from the start request to the encoder process's
	// start, as the channel's pipeline.startedAt reports it.
	EncoderSeconds float64 `json:"encoderSeconds"`
	// RunningSeconds is from the start request to the server's transition
	// to RUNNING, from the channel's history.
	RunningSeconds float64 `json:"runningSeconds"`
	// Playlists are the media playlists waited for.
	Playlists []string `json:"playlists"`
}

// cycle starts a channel, waits for its first segments, and stops it.
type cycle struct {
	srv      *sluice.Server
	channel  string
	endpoint string
	poll     time.Duration
	timeout  time.Duration
}

// base is the path of the channel's HLS endpoint.
func (c cycle) base() string { return "/live/" + c.channel + "/" + c.endpoint + "/" }

// run measures one start. The channel must be IDLE.
func (c cycle) run(ctx context.Context, n int) (runResult, error) {
	res := runResult{Run: n}
	// Segments of an earlier run stay listed after a stop; only new ones count.
	before, err := c.listed(ctx)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := c.srv.StartChannel(ctx, c.channel); err != nil {
		return res, err
	}
	ready := map[string]bool{}
	deadline := t0.Add(c.timeout)
	for {
		playlists, done, err := c.check(ctx, before, ready)
		if err != nil {
			return res, err
		}
		if done {
			res.Seconds = time.Since(t0).Seconds()
			res.Playlists = playlists
			break
		}
		if time.Now().After(deadline) {
			ch, _ := c.srv.Channel(ctx, c.channel)
			return res, fmt.Errorf("no segment in every media playlist after %s (%d of %d ready, channel %s %s)",
				c.timeout, len(ready), len(playlists), ch.State, ch.LastError)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-c.srv.Done():
			return res, fmt.Errorf("sluice serve ended (log: %s)", c.srv.LogPath)
		case <-time.After(c.poll):
		}
	}
	c.breakdown(ctx, t0, &res)
	return res, nil
}

// listed returns the segments each media playlist lists now.
func (c cycle) listed(ctx context.Context) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	code, body, err := c.srv.Get(ctx, c.base()+"index.m3u8")
	if err != nil || code == http.StatusNotFound {
		return out, err
	}
	for _, p := range mediaPlaylists(string(body)) {
		out[p] = map[string]bool{}
		if code, body, err := c.srv.Get(ctx, c.base()+p); err == nil && code == http.StatusOK {
			for _, s := range segments(string(body)) {
				out[p][s] = true
			}
		}
	}
	return out, nil
}

// check fetches the multivariant playlist and every media playlist not yet
// ready; a playlist is ready once it lists a segment not in before. It
// reports whether every playlist is ready.
func (c cycle) check(ctx context.Context, before map[string]map[string]bool, ready map[string]bool) ([]string, bool, error) {
	code, body, err := c.srv.Get(ctx, c.base()+"index.m3u8")
	if err != nil || code != http.StatusOK {
		return nil, false, err
	}
	playlists := mediaPlaylists(string(body))
	for _, p := range playlists {
		if ready[p] {
			continue
		}
		code, body, err := c.srv.Get(ctx, c.base()+p)
		if err != nil {
			return playlists, false, err
		}
		if code != http.StatusOK {
			continue
		}
		for _, s := range segments(string(body)) {
			if !before[p][s] {
				ready[p] = true
				break
			}
		}
	}
	for _, p := range playlists {
		if !ready[p] {
			return playlists, false, nil
		}
	}
	return playlists, len(playlists) > 0, nil
}

// breakdown adds when the server started the encoder and declared the
// channel RUNNING, relative to the start request. Both come from the
// server's wall clock, which is the benchmark's: same machine.
func (c cycle) breakdown(ctx context.Context, t0 time.Time, res *runResult) {
	// The server may declare RUNNING just after the playlists show it.
	_, _ = c.srv.WaitState(ctx, c.channel, 10*time.Second, resource.StateRunning)
	if ch, err := c.srv.Channel(ctx, c.channel); err == nil && ch.Pipeline != nil {
		res.EncoderSeconds = ch.Pipeline.StartedAt.Sub(t0).Seconds()
	}
	hist, err := c.srv.History(ctx, c.channel)
	if err != nil {
		return
	}
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].To == resource.StateRunning && hist[i].From != resource.StateRunning {
			if !hist[i].At.Before(t0) {
				res.RunningSeconds = hist[i].At.Sub(t0).Seconds()
			}
			return
		}
	}
}

// stop stops the channel and waits until it is IDLE again.
func (c cycle) stop(ctx context.Context) error {
	if err := c.srv.StopChannel(ctx, c.channel); err != nil {
		return err
	}
	_, err := c.srv.WaitState(ctx, c.channel, time.Minute, resource.StateIdle)
	return err
}
