package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// publisherArgs is the ffmpeg publisher both contenders receive: a test
// picture and a tone, encoded in real time and sent over the protocol to
// url (FLV for RTMP, MPEG-TS otherwise).
func publisherArgs(cfg config, p protocol, url string) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=30,%s", cfg.size, markerFilter()),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
		"-b:v", cfg.bitrate, "-maxrate", cfg.bitrate, "-bufsize", cfg.bitrate,
		"-c:a", "aac", "-b:a", "128k", "-f", p.format, url,
	}
}

// stackYAML is the Sluice side: one push input feeding a channel on the
// test ladder with 1 s segments and one HLS output, started once created.
func stackYAML(p protocol, port int) string {
	return `name: ingest-bench
securityGroups:
  - name: loopback
    allow: [127.0.0.0/8]
inputs:
` + p.inputYAML(port) + `channels:
  - name: ingest
    autoStart: true
    inputAttachments:
      - input: cam
    encoder:
      ladder: test-360p
      segmentSeconds: 1
    outputs:
      - name: hls
        type: HLS
        windowSeconds: 30
`
}

// runSluice publishes into a Sluice push input attached to a running
// channel and measures it. Each protocol gets a server of its own.
func runSluice(ctx context.Context, ws *harness.Workspace, cfg config, p protocol) (contenderResult, error) {
	port, err := p.freePort()
	if err != nil {
		return contenderResult{}, err
	}
	stack := filepath.Join(ws.Dir, "stack-"+p.Name+".yaml")
	if err := os.WriteFile(stack, []byte(stackYAML(p, port)), 0o600); err != nil {
		return contenderResult{}, err
	}
	data := filepath.Join(ws.Dir, "data-"+p.Name)
	if err := os.MkdirAll(data, 0o750); err != nil {
		return contenderResult{}, err
	}
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: ws.Bin, DataDir: data, FFmpeg: cfg.FFmpeg,
		Apply: []string{stack}, Args: p.serveArgs(port)})
	if err != nil {
		return contenderResult{}, err
	}
	defer srv.Stop()
	// The server applies the stack once it is up: wait for the input.
	var in resource.Input
	for try := 0; ; try++ {
		err := getJSON(ctx, srv.URL+"/api/v1/inputs/cam", &in)
		if err == nil {
			break
		}
		if try > 150 {
			return contenderResult{}, fmt.Errorf("%w (log: %s)", err, srv.LogPath)
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return contenderResult{}, err
		}
	}
	if len(in.Endpoints) == 0 {
		return contenderResult{}, errors.New("the input reports no endpoint")
	}
	name := "sluice-" + p.Name
	pub, err := startPublisher(ctx, ws, cfg, p, p.publishURL(in.Endpoints[0]), name)
	if err != nil {
		return contenderResult{}, err
	}
	defer pub.Stop(5 * time.Second)
	ws.Log.Printf("%s: publishing to %s; waiting for the channel to encode it", name, in.Endpoints[0])
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ch, err := srv.Channel(ctx, "ingest")
		if err != nil {
			return contenderResult{}, err
		}
		if p := ch.Pipeline; ch.State == resource.StateRunning && p != nil && p.ActiveInput == "cam" && !p.Filling {
			break
		}
		if time.Now().After(deadline) {
			return contenderResult{}, fmt.Errorf("channel %s is %s and does not encode the publisher (log: %s)", ch.Name, ch.State, srv.LogPath)
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return contenderResult{}, err
		}
	}
	_, multi, err := srv.Get(ctx, "/live/ingest/hls/index.m3u8")
	if err != nil {
		return contenderResult{}, err
	}
	variant := lastVariant(string(multi))
	if variant == "" {
		return contenderResult{}, errors.New("the multivariant playlist lists no variant")
	}
	dir := path.Dir("/live/ingest/hls/" + variant)
	get := func(ctx context.Context, uri string) ([]byte, error) {
		code, body, err := srv.Get(ctx, path.Join(dir, uri))
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET %s: %d", uri, code)
		}
		return body, err
	}
	return measure(ctx, ws, name, srv.Pid(), get, path.Base(variant), cfg)
}

// runBare publishes into ffmpeg receiving the protocol itself, encoding
// the same two rungs into HLS with 1 s segments: the anchor.
func runBare(ctx context.Context, ws *harness.Workspace, cfg config, p protocol) (contenderResult, error) {
	port, err := p.freePort()
	if err != nil {
		return contenderResult{}, err
	}
	name := "bare-" + p.Name
	input, url := p.bareInput(loopback(port))
	out := filepath.Join(ws.Dir, name)
	for _, r := range []string{"r0", "r1"} {
		if err := os.MkdirAll(filepath.Join(out, r), 0o750); err != nil {
			return contenderResult{}, err
		}
	}
	hls := func(dir string) []string {
		return []string{"-f", "hls", "-hls_time", "1", "-hls_list_size", "30",
			"-hls_flags", "program_date_time+delete_segments+independent_segments", "-hls_segment_type", "fmp4",
			filepath.Join(out, dir, "index.m3u8")}
	}
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "warning"}, input...)
	args = append(args, "-filter_complex", "[0:v:0]format=yuv420p,split=2[s0][s1];[s0]fps=25,scale=640:360[v0];[s1]fps=25,scale=320:180[v1];[0:a:0]aresample=async=1[a];[a]asplit=2[a0][a1]")
	rung := func(v, a, profile, rate, maxrate string) []string {
		return []string{"-map", v, "-map", a, "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", profile,
			"-b:v", rate, "-maxrate", maxrate, "-bufsize", maxrate, "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
			"-force_key_frames", "expr:gte(t,n_forced*1)", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"}
	}
	args = append(args, rung("[v0]", "[a0]", "main", "600k", "800k")...)
	args = append(args, hls("r0")...)
	args = append(args, rung("[v1]", "[a1]", "baseline", "200k", "300k")...)
	args = append(args, hls("r1")...)
	logFile, err := os.Create(filepath.Join(ws.Dir, name+".log"))
	if err != nil {
		return contenderResult{}, err
	}
	defer logFile.Close()
	enc, err := child.Start(cfg.FFmpeg, args, child.Options{Dir: ws.Dir, Stdout: logFile, Stderr: logFile})
	if err != nil {
		return contenderResult{}, err
	}
	defer enc.Stop(5 * time.Second)
	pub, err := startPublisher(ctx, ws, cfg, p, url, name)
	if err != nil {
		return contenderResult{}, err
	}
	defer pub.Stop(5 * time.Second)
	ws.Log.Printf("%s: publishing to %s", name, url)
	get := func(_ context.Context, uri string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(out, "r1", filepath.Base(uri)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	return measure(ctx, ws, name, enc.Pid(), get, "index.m3u8", cfg)
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// progressPath is where the publisher of a contender writes its
// -progress reports (total_size: the bytes it sent).
func progressPath(ws *harness.Workspace, name string) string {
	return filepath.Join(ws.Dir, name+"-publisher.progress")
}

// startPublisher starts the publisher, trying again while the receiver
// is not listening yet (ffmpeg -listen opens its port a moment after it
// starts).
func startPublisher(ctx context.Context, ws *harness.Workspace, cfg config, p protocol, url, name string) (*child.Process, error) {
	args := append([]string{"-progress", progressPath(ws, name), "-stats_period", "0.5"}, publisherArgs(cfg, p, url)...)
	for try := 1; ; try++ {
		pub, err := child.Start(cfg.FFmpeg, args, child.Options{Dir: ws.Dir, Stderr: os.Stderr})
		if err != nil {
			return nil, err
		}
		select {
		case <-pub.Done():
			if try >= 20 {
				return nil, pub.ExitedEarly("the publisher")
			}
		case <-time.After(3 * time.Second):
			return pub, nil
		case <-ctx.Done():
			pub.Stop(time.Second)
			return nil, ctx.Err()
		}
		if err := harness.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// sentBytes reads the last total_size of a publisher's progress file.
func sentBytes(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	i := strings.LastIndex(string(b), "total_size=")
	if i < 0 {
		return 0, fmt.Errorf("%s: no total_size yet", path)
	}
	v, _, _ := strings.Cut(string(b[i+len("total_size="):]), "\n")
	return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
}
