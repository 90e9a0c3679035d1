package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/internal/resource"
)

// rig is everything the soak runs: the server, its publishers, the
// proxies that carry network faults, and the edge.
type rig struct {
	cfg      config
	ws       *harness.Workspace
	log      *report.Log
	node     *node
	rtmpPub  *publisher
	srtPub   *publisher
	channels []string
	// rtmpProxy sits between the RTMP publisher and the server, edgeProxy
	// between the edge and the origin.
	rtmpProxy, edgeProxy *proxy
	// srtRelay and rtpRelay are UDP relays before the SRT port and the
	// RTP input; rtpPub publishes through the latter (udpfaults.go).
	srtRelay, rtpRelay *udpRelay
	rtpPub             *publisher
	// gaps are the segment.gap events received, for the DVR check.
	gaps    gapLog
	edgeURL string
	// tmpfs is set when the data directory is a small file system of its
	// own, which the disk-full fault fills.
	tmpfs bool
	feed  *jobFeed
	// cl is the cluster of --cluster (cluster.go); nil for one server.
	cl *cluster
}

// soak runs the whole soak and returns its results; an error means it
// could not run, not that something did not hold.
func soak(ctx context.Context, cfg config) (*results, error) {
	ws, err := harness.Start(ctx, "soak", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return nil, err
	}
	r := &rig{cfg: cfg, ws: ws, log: ws.Log, channels: soakChannels}
	if cfg.cluster {
		return soakCluster(ctx, r)
	}
	if err := r.setUp(ctx); err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// setUp starts the server, the publishers, the edge and the pipeline and
// waits until every channel is on air.
func (r *rig) setUp(ctx context.Context) error {
	if err := r.mountData(); err != nil {
		return err
	}
	src := media.Source{Width: 320, Height: 180, FPS: 25, Seconds: 6}
	loop, err := r.ws.Generate(ctx, src, "loop.mp4")
	if err != nil {
		return err
	}
	r.node, err = newNode(r.ws, r.cfg.FFmpeg, soakStack("loop.mp4"))
	if err != nil {
		return err
	}
	r.log.Printf("starting sluice serve on %s", r.node.addr)
	if err := r.node.start(ctx); err != nil {
		return err
	}
	if r.rtmpProxy, err = startProxy(r.node.rtmp); err != nil {
		return err
	}
	r.ws.Cleanup.Add(r.rtmpProxy.close)
	if r.edgeProxy, err = startProxy(r.node.addr); err != nil {
		return err
	}
	r.ws.Cleanup.Add(r.edgeProxy.close)
	if err := r.startUDPPaths(ctx); err != nil {
		return err
	}
	if err := r.startPublishers(ctx); err != nil {
		return err
	}
	if err := r.startEdge(ctx, "http://"+r.edgeProxy.addr()); err != nil {
		return err
	}
	feed := &jobFeed{node: r.node, source: loop}
	if err := feed.create(ctx, r.ws.MediaPath("")); err != nil {
		return err
	}
	r.feed = feed
	r.log.Printf("waiting for every channel to be on air")
	for _, ch := range r.channels {
		if _, err := r.node.server().WaitState(ctx, ch, 2*time.Minute, resource.StateRunning); err != nil {
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

// mountData puts the data directory on a small file system of its own
// when the disk-full fault is wanted and the soak may mount one (root).
func (r *rig) mountData() error {
	if !r.wants(faultDiskFull) {
		return nil
	}
	r.tmpfs = r.mountSmall(r.ws.DataDir, "512m")
	if !r.tmpfs {
		return nil
	}
	return os.MkdirAll(r.ws.MediaPath(""), 0o750)
}

// wants reports whether the schedule has the fault.
func (r *rig) wants(fault string) bool {
	for _, f := range r.cfg.faults {
		if f == fault {
			return true
		}
	}
	return false
}

// mountSmall mounts a file system of size (tmpfs) on dir, unmounted
// with the cleanup, and reports whether it could: only root may, and
// the disk-full fault is skipped without it.
func (r *rig) mountSmall(dir, size string) bool {
	if os.Geteuid() != 0 {
		r.log.Printf("the disk-full fault is skipped: mounting a small file system for %s needs root", dir)
		return false
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "sluice-soak", dir).CombinedOutput() //nolint:gosec // the soak's own workspace
	if err != nil {
		r.log.Printf("the disk-full fault is skipped: mounting a file system for %s failed: %v %s", dir, err, strings.TrimSpace(string(out)))
		return false
	}
	r.ws.Cleanup.Add(func() { _ = exec.Command("umount", "-l", dir).Run() }) //nolint:gosec // the soak's own mount
	return true
}

// startPublishers starts an RTMP publisher (through the fault proxy) and
// an SRT publisher at the endpoints their inputs name.
func (r *rig) startPublishers(ctx context.Context) error {
	endpoint := func(input string) (string, error) {
		// The server applies its stack once it serves: wait for the input.
		var in resource.Input
		deadline := time.Now().Add(time.Minute)
		for {
			err := r.node.server().GetJSON(ctx, "/api/v1/inputs/"+input, &in)
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return "", err
			}
			sleep(ctx, 200*time.Millisecond)
		}
		if len(in.Endpoints) == 0 {
			return "", fmt.Errorf("input %s names no endpoint", input)
		}
		return in.Endpoints[0], nil
	}
	rtmpURL, err := endpoint("cam-rtmp")
	if err != nil {
		return err
	}
	srtURL, err := endpoint("cam-srt")
	if err != nil {
		return err
	}
	r.rtmpPub = &publisher{name: "rtmp", ffmpeg: r.cfg.FFmpeg, format: "flv", logDir: r.ws.Dir}
	r.rtmpPub.setURL(strings.Replace(rtmpURL, r.node.rtmp, r.rtmpProxy.addr(), 1))
	r.srtPub = &publisher{name: "srt", ffmpeg: r.cfg.FFmpeg, format: "mpegts", logDir: r.ws.Dir}
	r.srtPub.setURL(strings.Replace(srtURL, r.node.srt, r.srtRelay.addr(), 1) + "&pkt_size=1316")
	r.ws.Cleanup.Add(r.rtmpPub.stop)
	r.ws.Cleanup.Add(r.srtPub.stop)
	return errors.Join(r.rtmpPub.start(1), r.srtPub.start(1))
}

// startEdge runs a sluice edge in front of origins (an origin group,
// the first primary): the server behind the edge proxy, or the nodes.
func (r *rig) startEdge(ctx context.Context, origins ...string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(r.ws.Dir, "edge.log"))
	if err != nil {
		return err
	}
	args := []string{"edge", "--listen", addr, "--cache-size", "128MiB", "--max-conns-per-client", "0"}
	for _, o := range origins {
		args = append(args, "--origin", o)
	}
	proc, err := child.Start(r.ws.Bin, args, child.Options{Stdout: logFile, Stderr: logFile})
	_ = logFile.Close()
	if err != nil {
		return err
	}
	r.ws.Cleanup.Add(func() { proc.Stop(10 * time.Second) })
	r.edgeURL = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.edgeURL + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.Done():
			return proc.ExitedEarly("sluice edge")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sluice edge did not answer within 30s (log: %s)", filepath.Join(r.ws.Dir, "edge.log"))
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// run drives the load and the faults for the configured duration, then
// stops them and checks what must hold afterwards.
func (r *rig) run(ctx context.Context) (*results, error) {
	res := &results{Duration: r.cfg.duration}
	smp := &sampler{node: r.node, db: filepath.Join(r.ws.DataDir, "sluice.db")}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	// The baseline: channels on air and publishers connected, no viewers.
	sleep(ctx, 5*time.Second)
	res.Baseline = smp.take(ctx)
	r.log.Printf("baseline: %d goroutines, %d descriptors, %d MiB resident", res.Baseline.goroutines, res.Baseline.fds, res.Baseline.rss>>20)
	go smp.run(sampleCtx, r.cfg.sample)

	if err := r.load(ctx, res, "", func() string { return r.node.server().URL }, r.node.server().URL); err != nil {
		return nil, err
	}
	r.log.Printf("load and faults stopped; waiting for the server to return to its baseline")
	res.Restarts = r.node.restarts()

	res.Settled, res.SettledAfter = r.settle(ctx, smp, res.Baseline)
	r.log.Printf("waiting for the on-demand jobs to end")
	acc, err := r.feed.settle(ctx, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	res.Jobs = acc
	stopSampling()
	res.Samples = smp.all()
	r.afterwards(ctx, res)
	res.findings()
	return res, nil
}

// settle waits until the server's goroutines and descriptors are back
// near the baseline, and returns the last sample and how long it took
// (-1: they did not come back within --settle).
func (r *rig) settle(ctx context.Context, smp *sampler, base sample) (sample, time.Duration) {
	began := time.Now()
	var last sample
	for {
		last = smp.read(ctx)
		if last.goroutines >= 0 && nearBaseline(base, last) {
			return last, time.Since(began)
		}
		if time.Since(began) > r.cfg.settle || ctx.Err() != nil {
			return last, -1
		}
		sleep(ctx, 5*time.Second)
	}
}

// nearBaseline allows for what a server legitimately holds after load:
// idle keep-alive connections and pooled workers.
func nearBaseline(base, s sample) bool {
	return float64(s.goroutines) <= float64(base.goroutines)*1.25+50 && s.fds <= base.fds+30
}

// windows are the spans the faults cover: from each start until every
// channel listed a new segment after its end, plus two segments for
// viewers to catch up; a fault the channels did not recover from covers
// the rest of the run.
func windows(faults []faultRecord, end time.Time) []window {
	var ws []window
	for _, f := range faults {
		to := end
		if f.Segment >= 0 {
			to = f.End.Add(f.Segment + 4*time.Second)
		}
		ws = append(ws, window{from: f.Start, to: to})
	}
	return ws
}
