package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/browser"
)

// eventFollower reads the server's event stream as a dashboard does,
// reconnecting with Last-Event-ID after every cut, and checks that no
// event arrives twice or out of order.
type eventFollower struct {
	base func() string
	// only is the stream's type filter ("" for every event).
	only string

	mu         sync.Mutex
	last       uint64
	received   int
	reconnects int
	outOfOrder int
	byType     map[string]int
	// gaps keeps the segment.gap events, when set.
	gaps *gapLog
}

func (f *eventFollower) run(ctx context.Context) {
	f.byType = map[string]int{}
	client := &http.Client{}
	for ctx.Err() == nil {
		f.follow(ctx, client)
		f.mu.Lock()
		f.reconnects++
		f.mu.Unlock()
		sleep(ctx, time.Second)
	}
}

func (f *eventFollower) follow(ctx context.Context, client *http.Client) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base()+"/api/v1/events/stream"+map[bool]string{true: "", false: "?type=" + f.only}[f.only == ""], nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	if f.last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(f.last, 10))
	}
	f.mu.Unlock()
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return
	}
	// A paused server keeps the connection open without a word: give up
	// on a silent stream and reconnect, as browsers' EventSource do not
	// but dashboards with a watchdog do.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	var id uint64
	kind := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "event: "):
				f.mu.Lock()
				if id <= f.last {
					f.outOfOrder++
				}
				f.last = max(f.last, id)
				f.received++
				kind = strings.TrimPrefix(line, "event: ")
				f.byType[kind]++
				f.mu.Unlock()
			case strings.HasPrefix(line, "data: ") && f.gaps != nil:
				f.gaps.note(kind, strings.TrimPrefix(line, "data: "))
			}
		}
	}
}

// scraper reads /metrics at a fixed interval, as Prometheus would.
type scraper struct {
	base    func() string
	traffic *traffic
	count   int
}

func (s *scraper) run(ctx context.Context, every time.Duration) {
	client := &http.Client{Timeout: every}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base()+"/metrics", nil)
		resp, err := client.Do(req)
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && resp.StatusCode == http.StatusOK
		if err == nil {
			_ = resp.Body.Close()
		}
		s.traffic.add(time.Now(), ok)
		s.count++
		sleep(ctx, every)
	}
}

// playerResult is what one hls.js player in Chromium went through.
type playerResult struct {
	Channel string  `json:"channel"`
	Watched float64 `json:"watchedSeconds"`
	// Stalled is the time the playback position did not move.
	Stalled float64 `json:"stalledSeconds"`
	Fatal   string  `json:"fatal,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// play watches a channel's page in headless Chromium for d and measures
// how long the picture stood still.
func play(ctx context.Context, pageURL, channel string, d time.Duration) playerResult {
	res, err := browser.Play(ctx, pageURL, d)
	out := playerResult{Channel: channel}
	if err != nil {
		out.Error = err.Error()
	}
	if res == nil {
		return out
	}
	out.Fatal = res.Fatal
	for i := 1; i < len(res.Samples); i++ {
		a, b := res.Samples[i-1], res.Samples[i]
		wall := (b.At - a.At).Seconds()
		out.Watched += wall
		if moved := b.CurrentTime - a.CurrentTime; moved < wall/2 {
			out.Stalled += wall - max(moved, 0)
		}
	}
	return out
}
