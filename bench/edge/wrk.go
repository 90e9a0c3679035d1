package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// wrkResult is one wrk round.
type wrkResult struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	P99Milliseconds   float64 `json:"p99Milliseconds"`
	Errors            int     `json:"errors"`
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Line    = regexp.MustCompile(`(?m)^\s*99%\s+([0-9.]+)(us|ms|s)\b`)
	non2xxLine = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	errLine    = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// runWrk loads url with wrk and reads its requests per second and p99.
func runWrk(ctx context.Context, url string, cfg config) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.connections),
		"-d", strconv.Itoa(int(cfg.duration/time.Second)) + "s", "--latency", "--timeout", "10s", url}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput() //nolint:gosec // wrk with the benchmark's own arguments
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := rpsLine.FindStringSubmatch(out)
	p := p99Line.FindStringSubmatch(out)
	if m == nil || p == nil {
		return r, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	r.RequestsPerSecond, _ = strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	switch p[2] {
	case "us":
		v /= 1000
	case "s":
		v *= 1000
	}
	r.P99Milliseconds = v
	if e := non2xxLine.FindStringSubmatch(out); e != nil {
		n, _ := strconv.Atoi(e[1])
		r.Errors += n
	}
	if e := errLine.FindStringSubmatch(out); e != nil {
		for _, s := range e[1:] {
			n, _ := strconv.Atoi(s)
			r.Errors += n
		}
	}
	return r, nil
}
