package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is the server's resource use at one instant.
type sample struct {
	at  time.Time
	pid int
	// rss is the resident memory in bytes; fds the open descriptors;
	// dbConns the descriptors open on the SQLite database file.
	rss, fds, dbConns int64
	// goroutines comes from the server's /metrics; -1 when it did not
	// answer (paused, restarting).
	goroutines int64
}

// sampler reads the server's memory, descriptors and goroutines at a
// fixed interval for the whole run.
type sampler struct {
	node *node
	db   string

	mu      sync.Mutex
	samples []sample
}

func (s *sampler) run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		s.take(ctx)
		sleep(ctx, every)
	}
}

// take reads one sample and keeps it.
func (s *sampler) take(ctx context.Context) sample {
	sm := s.read(ctx)
	s.mu.Lock()
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
	return sm
}

func (s *sampler) read(ctx context.Context) sample {
	pid := s.node.pid()
	sm := sample{at: time.Now(), pid: pid, goroutines: -1}
	sm.rss = statusKB(pid, "VmRSS:") * 1024
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		sm.fds = int64(len(fds))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
			if err == nil && target == s.db {
				sm.dbConns++
			}
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if code, body, err := s.node.server().Get(rctx, "/metrics"); err == nil && code == 200 {
		if v, ok := metricValue(string(body), "go_goroutines"); ok {
			sm.goroutines = int64(v)
		}
	}
	return sm
}

// all returns a copy of the samples so far.
func (s *sampler) all() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.samples...)
}

// statusKB reads a "Name: N kB" line of /proc/<pid>/status.
func statusKB(pid int, name string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				n, _ := strconv.ParseInt(fields[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// metricValue finds an unlabelled sample of name in a Prometheus text page.
func metricValue(page, name string) (float64, bool) {
	for line := range strings.Lines(page) {
		rest, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// slopePerHour is the least-squares slope of f over the samples, per hour.
func slopePerHour(ss []sample, f func(sample) int64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		y := f(s)
		if y < 0 {
			continue
		}
		x := s.at.Sub(ss[0].at).Hours()
		n++
		sx += x
		sy += float64(y)
		sxx += x * x
		sxy += x * float64(y)
	}
	d := n*sxx - sx*sx
	if n < 3 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// longestRun returns the samples of the process that lived longest,
// without its first minute, during which a server is still warming up.
func longestRun(ss []sample) []sample {
	byPid := map[int][]sample{}
	for _, s := range ss {
		byPid[s.pid] = append(byPid[s.pid], s)
	}
	var best []sample
	for _, run := range byPid {
		if len(run) > len(best) {
			best = run
		}
	}
	for i, s := range best {
		if s.at.Sub(best[0].at) >= time.Minute {
			return best[i:]
		}
	}
	return best
}
