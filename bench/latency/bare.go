package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
)

// bareHLS is ffmpeg receiving the publish itself (RTMP with -listen 1, or
// an SRT listener) and encoding the same rung as Sluice's standard HLS
// channel into its own HLS muxer (2 s MPEG-TS segments with program
// date-times), the directory served over HTTP by the benchmark.
type bareHLS struct {
	proc       *child.Process
	srv        *http.Server
	publishURL string
	manifest   string
}

// bareArgs is the receiving ffmpeg's command: the input for the protocol
// on addr, the rung of sluiceRung with 2 s GOPs, and the HLS muxer.
func bareArgs(proto, addr, out string) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "warning"}
	if proto == "srt" {
		args = append(args, "-i", "srt://"+addr+"?mode=listener")
	} else {
		args = append(args, "-listen", "1", "-i", "rtmp://"+addr+"/live/bench")
	}
	gop := fmt.Sprint(2 * frameRate)
	return append(args,
		"-map", "0:v:0", "-map", "0:a?",
		"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main",
		"-b:v", "1000k", "-maxrate", "1500k", "-bufsize", "3000k",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)",
		"-c:a", "aac", "-b:a", "128k",
		"-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
		"-hls_flags", "delete_segments+program_date_time+independent_segments",
		filepath.Join(out, "index.m3u8"),
	)
}

func startBare(ctx context.Context, ffmpeg, dir, proto string) (*bareHLS, error) {
	out := filepath.Join(dir, "ffmpeg-hls-"+proto)
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, err
	}
	var port int
	var err error
	if proto == "srt" {
		port, err = freeUDPPort()
	} else {
		port, err = freeTCPPort()
	}
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "ffmpeg-hls-"+proto+".log"))
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(ffmpeg, bareArgs(proto, loopback(port), out), child.Options{Dir: dir, Stdout: logFile, Stderr: logFile})
	_ = logFile.Close()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	files := http.FileServer(http.Dir(out))
	mux.Handle("/hls/", http.StripPrefix("/hls/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		proc.Stop(stopGrace)
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b := &bareHLS{proc: proc, srv: srv, manifest: "http://" + ln.Addr().String() + "/hls/index.m3u8"}
	if proto == "srt" {
		b.publishURL = "srt://" + loopback(port)
	} else {
		b.publishURL = "rtmp://" + loopback(port) + "/live/bench"
	}
	return b, nil
}

func (b *bareHLS) stop() {
	_ = b.srv.Close()
	b.proc.Stop(stopGrace)
}

// stopGrace is how long a contender has to exit after SIGTERM.
const stopGrace = 3 * time.Second
