// Command origin measures Sluice's origin against nginx serving the same
// playlist and segment bytes with wrk on loopback, and the origin's CPU and
// memory under thousands of LL-HLS clients doing blocking playlist reloads.
//
//	go run ./bench/origin [--duration 10s] [--clients 2000] [--json FILE]
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/wrk"
	"github.com/sluice-video/sluice/internal/resource"
)

func main() { harness.Main("origin", parseFlags, run) }

// fileResult compares the two servers on one file.
type fileResult struct {
	File   string     `json:"file"`
	Path   string     `json:"path"`
	Bytes  int        `json:"bytes"`
	Sluice wrk.Result `json:"sluice"`
	Nginx  wrk.Result `json:"nginx"`
	Ratio  float64    `json:"sluiceOverNginxRequests"`
}

type originReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	Files     []fileResult   `json:"files"`
	Blocking  *blockResult   `json:"blocking,omitempty"`
}

const stack = `name: origin-bench
inputs:
  - name: source
    type: FILE
    url: "source.mp4"
channels:
  - name: origin
    inputAttachments: [{input: source}]
    # test-360p, plus a 4 Mbit/s rung whose 2 s segments weigh about 1 MB.
    encoder:
      preset: ultrafast
      video:
        - {name: 360p, width: 640, height: 360, bitrate: 600k, maxBitrate: 800k, fps: 25, profile: main}
        - {name: 180p, width: 320, height: 180, bitrate: 200k, maxBitrate: 300k, fps: 25, profile: baseline}
        - {name: 4m, width: 640, height: 360, bitrate: 4000k, maxBitrate: 4400k, fps: 25, profile: main}
    outputs:
      - {name: hls, type: HLS}
      - {name: ll, type: LL_HLS}
`

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "origin", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	log := ws.Log
	if _, err := ws.Generate(ctx, media.Source{Width: 640, Height: 360, FPS: 30, Seconds: cfg.SourceSeconds}, "source.mp4"); err != nil {
		return ws.Fail(ctx, err)
	}
	machine := ws.Machine(ctx)
	srv, err := ws.Serve(ctx, cfg.FFmpeg, stack, "--segment-spool-mb", strconv.Itoa(cfg.spoolMB))
	if err != nil {
		return ws.Fail(ctx, err)
	}
	if _, err := srv.WaitState(ctx, "origin", time.Minute, resource.StateIdle); err != nil {
		return ws.Fail(ctx, err)
	}
	if err := srv.StartChannel(ctx, "origin"); err != nil {
		return ws.Fail(ctx, err)
	}
	if _, err := srv.WaitState(ctx, "origin", 2*time.Minute, resource.StateRunning); err != nil {
		return ws.Fail(ctx, err)
	}
	playlist := "/live/origin/hls/360p/index.m3u8"
	body, err := waitSegments(ctx, srv.URL+playlist, 4)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep := originReport{Benchmark: "origin", Command: report.CommandLine("go run ./bench/origin", os.Args[1:]), Machine: machine}

	if cfg.clients > 0 {
		log.Printf("blocking reloads: %d LL-HLS clients for %v", cfg.clients, cfg.blockFor)
		b, err := blockingClients(ctx, srv, "/live/origin/ll/360p/index.m3u8", cfg.clients, cfg.blockFor)
		if err != nil {
			return ws.Fail(ctx, err)
		}
		rep.Blocking = &b
		log.Printf("blocking reloads: %.0f answers/s, origin CPU %.2f cores, RSS %.0f MiB, %d errors", b.AnswersPerSecond, b.OriginCores, b.OriginRSSMiB, b.Errors)
	}

	// The files both servers serve: the media playlist as it is now, one
	// of its segments and a segment of the 4 Mbit/s rung, under the same
	// paths.
	segPath, segBody, err := firstSegment(ctx, srv.URL, "/live/origin/hls/360p/", body)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	bigBody, err := waitSegments(ctx, srv.URL+"/live/origin/hls/4m/index.m3u8", 2)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	bigPath, bigSeg, err := firstSegment(ctx, srv.URL, "/live/origin/hls/4m/", bigBody)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	root := filepath.Join(ws.Dir, "www")
	for path, data := range map[string][]byte{playlist: body, segPath: segBody, bigPath: bigSeg} {
		p := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return ws.Fail(ctx, err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return ws.Fail(ctx, err)
		}
	}
	// Stop the encoder so that it does not compete for the CPU; the origin
	// keeps serving the stopped channel's window.
	if err := srv.StopChannel(ctx, "origin"); err != nil {
		return ws.Fail(ctx, err)
	}
	if _, err := srv.WaitState(ctx, "origin", time.Minute, resource.StateIdle); err != nil {
		return ws.Fail(ctx, err)
	}
	if _, err := get(ctx, srv.URL+segPath); err != nil {
		return ws.Fail(ctx, fmt.Errorf("the stopped channel's segment is no longer served: %w", err))
	}
	nginx, nginxURL, err := startNginx(ctx, cfg.nginx, ws.Dir, root)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	ws.Cleanup.Add(func() { nginx.Stop(3 * time.Second) })

	failed := false
	for _, f := range []struct {
		name, path string
		size       int
	}{{"media playlist", playlist, len(body)}, {"segment", segPath, len(segBody)}, {"large segment", bigPath, len(bigSeg)}} {
		fr := fileResult{File: f.name, Path: f.path, Bytes: f.size}
		for _, side := range []struct {
			name string
			base string
			into *wrk.Result
		}{{"sluice", srv.URL, &fr.Sluice}, {"nginx", nginxURL, &fr.Nginx}} {
			log.Printf("wrk: %s from %s for %v", f.name, side.name, cfg.duration)
			r, err := wrk.Run(ctx, wrk.Options{Binary: cfg.wrk, Threads: cfg.threads, Connections: cfg.connections, Duration: cfg.duration}, side.base+f.path)
			if err != nil {
				log.Printf("%v", err)
				failed = true
				continue
			}
			*side.into = r
		}
		if fr.Nginx.RequestsPerSecond > 0 {
			fr.Ratio = fr.Sluice.RequestsPerSecond / fr.Nginx.RequestsPerSecond
		}
		rep.Files = append(rep.Files, fr)
	}
	srv.Stop()
	for _, p := range srv.LogProblems() {
		log.Printf("server log: %s", p)
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	_ = filesTable(rep.Files, cfg).Write(os.Stdout)
	if rep.Blocking != nil {
		_ = blockingTable(*rep.Blocking, cfg).Write(os.Stdout)
	}
	return ws.Finish(ctx, rep, failed)
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return b, err
}

// firstSegment fetches the first segment a media playlist under dir lists.
func firstSegment(ctx context.Context, base, dir string, playlist []byte) (string, []byte, error) {
	for _, line := range strings.Split(string(playlist), "\n") {
		if strings.HasSuffix(line, ".m4s") {
			body, err := get(ctx, base+dir+line)
			return dir + line, body, err
		}
	}
	return "", nil, fmt.Errorf("the playlist of %s lists no segment", dir)
}

// waitSegments waits until a media playlist lists n segments.
func waitSegments(ctx context.Context, u string, n int) ([]byte, error) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := get(ctx, u); err == nil && strings.Count(string(b), "#EXTINF") >= n {
			return b, nil
		}
		if err := harness.Sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s did not list %d segments within 90 s", u, n)
}

func filesTable(fs []fileResult, cfg config) report.Table {
	t := report.Table{
		Title:  "Origin throughput, wrk on loopback (requests/s; p99 latency)",
		Header: []string{"file", "bytes", "Sluice req/s", "Sluice p99", "nginx req/s", "nginx p99", "Sluice / nginx", "target"},
	}
	for _, f := range fs {
		t.Rows = append(t.Rows, []string{f.File, fmt.Sprint(f.Bytes),
			fmt.Sprintf("%.0f", f.Sluice.RequestsPerSecond), fmt.Sprintf("%.2f ms", f.Sluice.P99Milliseconds),
			fmt.Sprintf("%.0f", f.Nginx.RequestsPerSecond), fmt.Sprintf("%.2f ms", f.Nginx.P99Milliseconds),
			fmt.Sprintf("%.2f", f.Ratio), "≥ 1.00"})
	}
	t.Notes = []string{fmt.Sprintf("wrk -t%d -c%d -d%v --latency, one server at a time; nginx (2 workers, sendfile) serves the same bytes from files.", cfg.threads, cfg.connections, cfg.duration),
		"Sluice renders the playlist once per timeline change and serves it from memory; segments of 128 KB or more go out with sendfile from its spool (--segment-spool-mb " + strconv.Itoa(cfg.spoolMB) + ")."}
	return t
}
