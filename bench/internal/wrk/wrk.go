// Package wrk runs the wrk HTTP load generator and reads its report, for
// the benchmarks that measure requests per second against an anchor.
package wrk

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Result is one wrk run.
type Result struct {
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

// Options is how wrk loads a server.
type Options struct {
	Binary      string // default "wrk"
	Threads     int
	Connections int
	Duration    time.Duration
}

// Run loads url with wrk and reads its requests per second and p99.
func Run(ctx context.Context, o Options, url string) (Result, error) {
	bin := o.Binary
	if bin == "" {
		bin = "wrk"
	}
	args := []string{"-t", strconv.Itoa(o.Threads), "-c", strconv.Itoa(o.Connections),
		"-d", strconv.Itoa(int(o.Duration/time.Second)) + "s", "--latency", "--timeout", "10s", url}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput() //nolint:gosec // wrk with the benchmark's own arguments
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return Parse(string(out))
}

// Parse reads a wrk --latency report.
func Parse(out string) (Result, error) {
	var r Result
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
