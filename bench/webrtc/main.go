// Command webrtc measures what WebRTC viewers cost a Sluice node: the CPU
// per WHEP viewer, and how many viewers one core serves with every
// session receiving at least 95 % of the frames. A test-pattern channel
// with one rung and a WEBRTC output runs; viewers (Pion peers in this
// process, counting what arrives) join in steps, and at each step the
// server's CPU (the process and its encoder) and every session's frames
// are read over a window. The server and its encoder run on CPUs of their
// own (--server-cpus), the viewers on the others (--viewer-cpus): the
// viewers cost more than the server, and would otherwise take its CPU.
//
//	go run ./bench/webrtc [--steps 25,50,100,150,200,250,300] [--window 20s] [--server-cpus 0 --viewer-cpus 1] [--json FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
	"github.com/sluice-video/sluice/internal/whep"
)

func main() { harness.Main("webrtc", parseFlags, run) }

type config struct {
	harness.Flags
	steps  []int
	window time.Duration
	settle time.Duration
	share  float64
	fps    int
	// serverCPUs and viewerCPUs keep the server (with its encoder) and
	// this process apart; both empty: no pinning.
	serverCPUs, viewerCPUs []int
	// serverShare, when above 0, holds the server and its encoder to
	// that many cores of CPU time (a cgroup quota).
	serverShare float64
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{fps: 30}
	fs := harness.NewFlagSet("webrtc", `Usage: go run ./bench/webrtc [flags]

Measures the CPU a WebRTC (WHEP) viewer costs a Sluice node and how many
viewers it serves with every session receiving at least --share of the
frames. A TEST_PATTERN channel (one rung, 640x360, 30 fps, 1 Mb/s,
ultrafast) with a WEBRTC output runs; Pion viewers in this process join
in steps; at each step, after --settle, the server's CPU (sluice serve
and its encoder, from /proc) and the frames every session received are
read over --window. The server and its encoder run on --server-cpus,
the viewers (this process) on --viewer-cpus (sched_setaffinity, as
taskset does), so that the viewers, which cost more than the server, do
not take its CPU; viewers per core is the last step that passed over the
server's CPUs. The run stops at the first step that fails, or when the
viewers' own CPUs are saturated (the server's limit is then beyond it).

Flags:
`, stderr)
	c.Register(fs, "nothing else")
	steps := fs.String("steps", "25,50,100,150,200,250,300", "viewer counts, ascending, comma-separated")
	defServer, defViewers := "", ""
	if runtime.NumCPU() >= 2 {
		defServer, defViewers = "0", fmt.Sprintf("1-%d", runtime.NumCPU()-1)
	}
	serverCPUs := fs.String("server-cpus", defServer, "CPUs of sluice serve and its encoder (taskset's list form); empty: no pinning")
	viewerCPUs := fs.String("viewer-cpus", defViewers, "CPUs of the viewers (this process); empty: no pinning")
	fs.Float64Var(&c.serverShare, "server-share", 0, "hold sluice serve and its encoder to this many cores of CPU time with a cgroup quota (such as 0.5), for when the viewers' CPUs saturate before the server's; needs a writable cgroup cpu controller; 0: no quota")
	fs.DurationVar(&c.window, "window", 20*time.Second, "measured window per step")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "wait after the last viewer of a step receives video, before the window")
	fs.Float64Var(&c.share, "share", 0.95, "share of the frames every session must receive for a step to pass")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.serverCPUs, err = child.ParseCPUs(*serverCPUs); err != nil {
		return c, fmt.Errorf("--server-cpus: %w", err)
	}
	if c.viewerCPUs, err = child.ParseCPUs(*viewerCPUs); err != nil {
		return c, fmt.Errorf("--viewer-cpus: %w", err)
	}
	for _, cpu := range c.serverCPUs {
		if slices.Contains(c.viewerCPUs, cpu) {
			return c, fmt.Errorf("CPU %d is in both --server-cpus and --viewer-cpus", cpu)
		}
	}
	for _, s := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 5000 || (len(c.steps) > 0 && n <= c.steps[len(c.steps)-1]) {
			return c, fmt.Errorf("--steps: %q is not an ascending count of viewers between 1 and 5000", s)
		}
		c.steps = append(c.steps, n)
	}
	switch {
	case c.serverShare < 0 || c.serverShare > float64(runtime.NumCPU()):
		return c, fmt.Errorf("--server-share must be between 0 and %d cores", runtime.NumCPU())
	case c.window < 5*time.Second || c.window > 10*time.Minute:
		return c, errors.New("--window must be between 5s and 10m")
	case c.share <= 0 || c.share > 1:
		return c, errors.New("--share must be in (0, 1]")
	}
	return c, nil
}

const stack = `name: webrtc-bench
inputs:
  - {name: bars, type: TEST_PATTERN}
channels:
  - name: rtc
    autoStart: true
    inputAttachments: [{input: bars}]
    encoder:
      video: [{name: 360p, width: 640, height: 360, bitrate: 1000k, maxBitrate: 1500k, fps: 30, profile: main, preset: ultrafast}]
    outputs: [{name: rtc, type: WEBRTC}]
`

const whepPath = "/live/rtc/rtc/whep"

// step is one viewer count's figures.
type step struct {
	Viewers int `json:"viewers"`
	// ServerCores is the CPU of sluice serve and its encoder over the
	// window, in cores; PerViewerMs the part above the step without
	// viewers, per viewer, in CPU milliseconds per second.
	ServerCores float64 `json:"serverCores"`
	PerViewerMs float64 `json:"perViewerCpuMsPerSecond"`
	// ViewerCores is this process's CPU (the Pion viewers).
	ViewerCores float64 `json:"viewerProcessCores"`
	// MinShare and MedianShare are the sessions' frames received over
	// the frames the channel made in the window; Below how many sessions
	// received less than the required share.
	MinShare    float64 `json:"minFrameShare"`
	MedianShare float64 `json:"medianFrameShare"`
	Below       int     `json:"sessionsBelowShare"`
	Pass        bool    `json:"pass"`
	// ViewersSaturated says the viewers used nearly all their CPUs: a
	// step that failed then says nothing of the server.
	ViewersSaturated bool `json:"viewersSaturated"`
	// NoKeyFrame is how many viewers had no key frame a minute after
	// they joined.
	NoKeyFrame int    `json:"viewersWithoutKeyFrame,omitempty"`
	Load       string `json:"loadAverage"`
	// frames is what each viewer received in the window.
	frames []int64
}

// pinning is where the processes ran, as /proc says.
type pinning struct {
	Server  string `json:"server"`
	Encoder string `json:"encoder"`
	Viewers string `json:"viewers"`
}

type webrtcReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	Pinning   *pinning       `json:"pinning,omitempty"`
	// ServerShare is the server's CPU quota in cores (0: none).
	ServerShare float64 `json:"serverShareCores,omitempty"`
	Base        step    `json:"withoutViewers"`
	Steps       []step  `json:"steps"`
	// Served is the largest step that passed; PerCore the same over the
	// server's CPUs (when pinned); PerViewerMs its CPU per viewer.
	Served      int     `json:"viewersServed"`
	PerCore     float64 `json:"viewersPerCore,omitempty"`
	PerViewerMs float64 `json:"cpuPerViewerMsPerSecond"`
	// Ended says what ended the run: a step that failed, the viewers'
	// CPUs, or the last step.
	Ended string `json:"ended"`
	Error string `json:"error,omitempty"`
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "webrtc", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep := webrtcReport{Benchmark: "webrtc", Command: report.CommandLine("go run ./bench/webrtc", os.Args[1:]), Machine: ws.Machine(ctx)}
	err = measure(ctx, cfg, ws, &rep)
	if err != nil {
		rep.Error = err.Error()
		rep.Ended = "an error"
		ws.Log.Printf("error: %v", err)
	}
	printReport(os.Stdout, cfg, &rep)
	return ws.Finish(ctx, rep, err != nil)
}

func measure(ctx context.Context, cfg config, ws *harness.Workspace, rep *webrtcReport) error {
	udp, err := freeUDPPort()
	if err != nil {
		return err
	}
	if len(cfg.viewerCPUs) > 0 {
		if err := child.PinSelf(cfg.viewerCPUs); err != nil {
			return err
		}
	}
	var quota *child.Quota
	if cfg.serverShare > 0 {
		if quota, err = child.NewQuota(fmt.Sprintf("sluice-bench-webrtc-%d", os.Getpid()), cfg.serverShare); err != nil {
			return fmt.Errorf("--server-share: %w", err)
		}
		// Removed after the server stopped (cleanups run last first).
		ws.Cleanup.Add(quota.Close)
		rep.ServerShare = cfg.serverShare
		ws.Log.Printf("the server's CPU quota: %.2f cores (%s)", cfg.serverShare, quota.Dir())
	}
	srv, err := ws.ServeOn(ctx, cfg.serverCPUs, cfg.FFmpeg, stack, "--webrtc-udp", udp, "--webrtc-sessions", "0", "--rtmp", "", "--srt", "127.0.0.1:0")
	if err != nil {
		return err
	}
	held := func() error {
		if quota == nil {
			return nil
		}
		return quota.Add(procfs.Tree(srv.Pid())...)
	}
	if err := held(); err != nil {
		return err
	}
	if _, err := srv.WaitState(ctx, "rtc", 2*time.Minute, resource.StateRunning); err != nil {
		return err
	}
	if len(cfg.serverCPUs) > 0 || len(cfg.viewerCPUs) > 0 {
		rep.Pinning = where(srv.Pid())
		ws.Log.Printf("CPUs: sluice serve %s, its encoder %s, the viewers %s", rep.Pinning.Server, rep.Pinning.Encoder, rep.Pinning.Viewers)
	}
	u := srv.URL + whepPath
	client := &http.Client{Timeout: 30 * time.Second}
	// The baseline: the channel encoding, no viewer.
	if err := held(); err != nil { // the encoder, started since
		return err
	}
	if err := harness.Sleep(ctx, cfg.settle); err != nil {
		return err
	}
	base, err := window(ctx, cfg, srv.Pid(), nil)
	if err != nil {
		return err
	}
	rep.Base = base
	ws.Log.Printf("no viewer: the server uses %.2f cores", base.ServerCores)
	var viewers []*rtcpeer.Viewer
	defer func() {
		var wg sync.WaitGroup
		for _, v := range viewers {
			wg.Go(func() { _ = v.Close(context.WithoutCancel(ctx), u) })
		}
		wg.Wait()
	}()
	rep.Ended = "the last step"
	for _, n := range cfg.steps {
		ws.Log.Printf("%d viewers: joining", n)
		if len(cfg.viewerCPUs) > 0 {
			// Threads made since are pinned already (they inherit it);
			// again, in case the runtime made one from elsewhere.
			if err := child.PinSelf(cfg.viewerCPUs); err != nil {
				return err
			}
		}
		more, err := join(ctx, client, u, n-len(viewers))
		viewers = append(viewers, more...)
		if err != nil {
			return fmt.Errorf("step %d: %w", n, err)
		}
		waiting, err := receiving(ctx, viewers)
		if err != nil {
			return err
		}
		if waiting > 0 {
			// They count in the window, below the share.
			ws.Log.Printf("%d viewers: %d received no key frame in %s", n, waiting, keyFrameWait)
		}
		if err := harness.Sleep(ctx, cfg.settle); err != nil {
			return err
		}
		before := sessions(ctx, srv)
		st, err := window(ctx, cfg, srv.Pid(), viewers)
		if err != nil {
			return err
		}
		st.NoKeyFrame = waiting
		if !st.Pass {
			explain(ws, viewers, st.frames, before, sessions(ctx, srv))
		}
		st.PerViewerMs = (st.ServerCores - base.ServerCores) / float64(n) * 1000
		if len(cfg.viewerCPUs) > 0 {
			st.ViewersSaturated = st.ViewerCores >= 0.9*float64(len(cfg.viewerCPUs))
		}
		rep.Steps = append(rep.Steps, st)
		ws.Log.Printf("%d viewers: server %.2f cores (%.1f ms/s per viewer), viewers' process %.2f cores, frames received min %.1f %% median %.1f %%, %d below %.0f %%",
			n, st.ServerCores, st.PerViewerMs, st.ViewerCores, st.MinShare*100, st.MedianShare*100, st.Below, cfg.share*100)
		if st.Pass {
			rep.Served, rep.PerViewerMs = n, st.PerViewerMs
			switch {
			case cfg.serverShare > 0:
				rep.PerCore = float64(n) / cfg.serverShare
			case len(cfg.serverCPUs) > 0:
				rep.PerCore = float64(n) / float64(len(cfg.serverCPUs))
			}
		}
		if err := held(); err != nil { // an encoder that restarted
			return err
		}
		if st.ViewersSaturated {
			rep.Ended = "the viewers' CPUs"
			break
		}
		if !st.Pass {
			rep.Ended = fmt.Sprintf("a step that failed (%d viewers)", n)
			break
		}
	}
	return nil
}

// where reads the CPUs the server, its encoder and this process may run
// on.
func where(server int) *pinning {
	p := &pinning{Server: child.AllowedCPUs(server), Viewers: child.AllowedCPUs(os.Getpid()), Encoder: "-"}
	for _, pid := range procfs.Tree(server) {
		if pid != server {
			p.Encoder = child.AllowedCPUs(pid)
			break
		}
	}
	return p
}

// joinWave is how many viewers offer at once: a step of hundreds joins in
// waves, as viewers arrive at a channel, so that no handshake waits
// behind hundreds of others.
const joinWave = 25

// join starts n viewers, a wave at a time, each offering again when its
// session does not connect.
func join(ctx context.Context, client *http.Client, u string, n int) ([]*rtcpeer.Viewer, error) {
	var all []*rtcpeer.Viewer
	for len(all) < n {
		k := min(joinWave, n-len(all))
		out := make([]*rtcpeer.Viewer, k)
		errs := make([]error, k)
		var wg sync.WaitGroup
		for i := range k {
			wg.Go(func() { out[i], errs[i] = rtcpeer.Join(ctx, client, u, time.Minute) })
		}
		wg.Wait()
		all = append(all, slices.DeleteFunc(out, func(v *rtcpeer.Viewer) bool { return v == nil })...)
		if err := errors.Join(errs...); err != nil {
			return all, err
		}
	}
	return all, nil
}

// keyFrameWait bounds the wait for every viewer's first key frame.
const keyFrameWait = time.Minute

// receiving waits until every viewer has received a key frame, for
// keyFrameWait at most, and says how many have not.
func receiving(ctx context.Context, vs []*rtcpeer.Viewer) (int, error) {
	deadline := time.Now().Add(keyFrameWait)
	for {
		waiting := 0
		for _, v := range vs {
			if v.KeyFrames.Load() == 0 {
				waiting++
			}
		}
		if waiting == 0 || time.Now().After(deadline) {
			return waiting, nil
		}
		if err := harness.Sleep(ctx, 250*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// sessions reads the server's list of the channel's WebRTC sessions, by
// public id; empty when it cannot (it only explains).
func sessions(ctx context.Context, srv *sluice.Server) map[string]whep.Info {
	out := map[string]whep.Info{}
	code, body, err := srv.Get(ctx, "/api/v1/channels/rtc/webrtc-sessions")
	var list []whep.Info
	if err == nil && code == http.StatusOK && json.Unmarshal(body, &list) == nil {
		for _, i := range list {
			out[i.ID] = i
		}
	}
	return out
}

// explain logs, for the sessions of a failed step that received least,
// what the server says it sent them over the window: a viewer the server
// sent every frame lost them on the way or in its own process.
func explain(ws *harness.Workspace, vs []*rtcpeer.Viewer, frames []int64, before, after map[string]whep.Info) {
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(frames[a] - frames[b]) })
	for _, i := range order[:min(5, len(order))] {
		id := whep.PublicID(vs[i].SessionKey())
		b, a := before[id], after[id]
		ws.Log.Printf("  session %s: received %d frames in the window (%d key frames so far); the server sent %d, skipped %d, %d packets, %d lost, %d NACKs; state %s, estimate %d b/s",
			id, frames[i], vs[i].KeyFrames.Load(), a.Frames-b.Frames, a.Dropped-b.Dropped, a.PacketsSent-b.PacketsSent, a.PacketsLost-b.PacketsLost, a.NACKs-b.NACKs, a.State, a.EstimateBps)
	}
}

// window reads the CPU and the frames of every viewer over cfg.window.
func window(ctx context.Context, cfg config, pid int, vs []*rtcpeer.Viewer) (step, error) {
	self := os.Getpid()
	before := make([]int64, len(vs))
	for i, v := range vs {
		before[i] = v.VideoFrames.Load()
	}
	s0, own0 := procfs.SampleTree(pid), procfs.SampleTree(self)
	if err := harness.Sleep(ctx, cfg.window); err != nil {
		return step{}, err
	}
	s1, own1 := procfs.SampleTree(pid), procfs.SampleTree(self)
	wall := s1.At.Sub(s0.At).Seconds()
	used, _ := s1.CPUSince(s0)
	own, _ := own1.CPUSince(own0)
	st := step{Viewers: len(vs), ServerCores: used.Seconds() / wall, ViewerCores: own.Seconds() / wall, Load: loadAverage(), Pass: true}
	if len(vs) == 0 {
		return st, nil
	}
	made := float64(cfg.fps) * wall
	shares := make([]float64, len(vs))
	st.frames = make([]int64, len(vs))
	for i, v := range vs {
		st.frames[i] = v.VideoFrames.Load() - before[i]
		shares[i] = min(1, float64(st.frames[i])/made)
		if shares[i] < cfg.share {
			st.Below++
		}
	}
	slices.Sort(shares)
	st.MinShare, st.MedianShare = shares[0], report.Median(shares)
	st.Pass = st.Below == 0
	return st, nil
}

func printReport(w io.Writer, cfg config, rep *webrtcReport) {
	fmt.Fprintln(w)
	for _, l := range rep.Machine.Lines() {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	if p := rep.Pinning; p != nil {
		fmt.Fprintf(w, "CPUs: sluice serve %s, its encoder %s, the viewers %s\n\n", p.Server, p.Encoder, p.Viewers)
	}
	t := report.Table{
		Title:  "WebRTC viewers of one channel (one 640x360 30 fps rung, Opus), per step",
		Header: []string{"viewers", "server cores", "CPU per viewer", "viewers' process", "frames: min", "median", "below", "pass", "load"},
	}
	t.Rows = append(t.Rows, []string{"0", fmt.Sprintf("%.2f", rep.Base.ServerCores), "–", "–", "–", "–", "–", "–", rep.Base.Load})
	for _, s := range rep.Steps {
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(s.Viewers), fmt.Sprintf("%.2f", s.ServerCores), fmt.Sprintf("%.1f ms/s", s.PerViewerMs),
			fmt.Sprintf("%.2f cores", s.ViewerCores), fmt.Sprintf("%.1f %%", s.MinShare*100), fmt.Sprintf("%.1f %%", s.MedianShare*100),
			strconv.Itoa(s.Below), strconv.FormatBool(s.Pass), s.Load,
		})
	}
	t.Notes = []string{
		"server cores: sluice serve and its encoder, from /proc, over the window; CPU per viewer: above the step without viewers.",
		fmt.Sprintf("frames: each session's video frames received over the %d fps the channel makes, in the window; below: sessions under %.0f %%.", cfg.fps, cfg.share*100),
		"viewers' process: the Pion viewers of this benchmark, on the same machine (on their own CPUs when pinned); load: /proc/loadavg at the end of the window.",
		fmt.Sprintf("viewers served: %d (the largest step every session of which received at least %.0f %% of the frames), at %.1f ms/s of server CPU per viewer; the run ended at %s.", rep.Served, cfg.share*100, rep.PerViewerMs, rep.Ended),
	}
	if rep.PerCore > 0 {
		on := fmt.Sprintf("on %d CPU(s)", len(cfg.serverCPUs))
		if rep.ServerShare > 0 {
			on = fmt.Sprintf("held to %.2f cores of CPU time", rep.ServerShare)
		}
		at := ""
		if strings.HasPrefix(rep.Ended, "the viewers") {
			at = "at least "
		}
		t.Notes = append(t.Notes, fmt.Sprintf("viewers per core: %s%.0f (the server and its encoder %s).", at, rep.PerCore, on))
	}
	if strings.HasPrefix(rep.Ended, "the viewers") {
		t.Notes = append(t.Notes, "the viewers' CPUs saturated before the server's: the server's limit is beyond the last step; --server-share holds the server to a part of a core, so that its limit comes first.")
	}
	_ = t.Write(w)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func freeUDPPort() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}
