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
	proxies     []string
	parts       []string
	rounds      int
	duration    time.Duration
	connections int
	threads     int
	viewers     int
	watch       time.Duration
	cacheMB     int
}

// Contenders and parts of the benchmark.
var (
	allProxies = []string{"sluice", "varnish", "nginx"}
	allParts   = []string{"hits", "viewers"}
)

// parseFlags reads the command line; --help prints the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("edge", `Usage: go run ./bench/edge [flags]

Puts sluice edge, Varnish and nginx (proxy_cache, proxy_cache_lock on) in
front of the same origin, one at a time, in one run:

  hits     cache-hit requests per second and p99 latency with wrk, for a
           1 KB playlist and a 1 MB segment of a static origin, over
           --rounds interleaved rounds per proxy (median reported);
  viewers  --viewers simulated viewers follow a live Sluice channel through
           each proxy for --watch; the origin's requests per segment
           (target: one per object per edge) and per second of playlist.

Prints each contender's figures and Sluice's ratio to Varnish and nginx;
--json also writes the results to a file.

Flags:
`, stderr)
	c.Register(fs, "the live channel's encoder")
	proxies := fs.String("proxies", "sluice,varnish,nginx", "contenders, comma-separated: sluice, varnish, nginx")
	parts := fs.String("parts", "hits,viewers", "parts to run, comma-separated: hits, viewers")
	fs.IntVar(&c.rounds, "rounds", 3, "wrk rounds per object and proxy")
	fs.DurationVar(&c.duration, "duration", 8*time.Second, "length of one wrk round")
	fs.IntVar(&c.connections, "connections", 64, "wrk connections")
	fs.IntVar(&c.threads, "threads", 2, "wrk threads")
	fs.IntVar(&c.viewers, "viewers", 1000, "simulated viewers of the live channel")
	fs.DurationVar(&c.watch, "watch", 20*time.Second, "how long the viewers watch through each proxy")
	fs.IntVar(&c.cacheMB, "cache-mb", 256, "cache size of every proxy, in MiB")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.proxies, err = harness.SplitNames("proxies", "proxy", *proxies, allProxies); err != nil {
		return c, err
	}
	if c.parts, err = harness.SplitNames("parts", "part", *parts, allParts); err != nil {
		return c, err
	}
	if c.rounds < 1 || c.duration < time.Second || c.connections < 1 || c.threads < 1 || c.viewers < 1 || c.watch < 4*time.Second || c.cacheMB < 16 {
		return c, errors.New("--rounds, --connections, --threads and --viewers must be positive, --duration at least 1s, --watch at least 4s, --cache-mb at least 16")
	}
	return c, nil
}
