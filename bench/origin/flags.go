package main

import (
	"errors"
	"io"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
)

// config is the command line.
type config struct {
	harness.Flags
	wrk         string
	nginx       string
	duration    time.Duration
	connections int
	threads     int
	clients     int
	blockFor    time.Duration
	spoolMB     int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("origin", `Usage: go run ./bench/origin [flags]

Measures Sluice's origin against nginx serving the same bytes: a running
channel's media playlist and one of its segments are copied to files under
the same paths, nginx (Debian) serves them, and wrk on loopback requests the
playlist and the segment from each server in turn. Prints requests per
second and the 99th-percentile latency, and the Sluice/nginx ratio. Then
--clients LL-HLS clients do blocking playlist reloads against a running
low-latency channel for --block-for, and the origin's CPU and memory are
reported.

Flags:
`, stderr)
	c.Register(fs, "the source")
	fs.StringVar(&c.wrk, "wrk", "wrk", "wrk binary")
	fs.StringVar(&c.nginx, "nginx", "nginx", "nginx binary")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "wrk run length per server and file")
	fs.IntVar(&c.connections, "connections", 64, "wrk connections")
	fs.IntVar(&c.threads, "threads", 2, "wrk threads")
	fs.IntVar(&c.clients, "clients", 2000, "concurrent LL-HLS clients doing blocking reloads (0 skips that phase)")
	fs.IntVar(&c.spoolMB, "segment-spool-mb", 256, "passed to sluice serve: 0 sends every segment from memory, to compare")
	fs.DurationVar(&c.blockFor, "block-for", 20*time.Second, "how long the LL-HLS clients run")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	if c.duration < time.Second || c.connections < 1 || c.threads < 1 || c.clients < 0 {
		return c, errors.New("--duration, --connections and --threads must be positive")
	}
	return c, nil
}
