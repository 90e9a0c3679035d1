package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
)

// rssKiB reads a process's resident set size.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric reads one unlabelled (or the first labelled) sample of a metric.
func (s *server) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, _, body := s.get("/metrics")
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return 0
}

// TestWHEPHundredViewers holds 100 WebRTC viewers (Go peers) on one
// channel for a minute: every session stays connected and keeps
// receiving video and audio, and once they leave, the server's
// goroutines come back down and its memory stays bounded.
func TestWHEPHundredViewers(t *testing.T) {
	t.Parallel()
	const viewers = 100
	const hold = 60 * time.Second
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "many", `name: many
inputs:
  - {name: many-bars, type: TEST_PATTERN}
channels:
  - name: many
    autoStart: true
    inputAttachments: [{input: many-bars}]
    encoder:
      video: [{name: low, width: 320, height: 180, bitrate: 300k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS}
      - {name: rtc, type: WEBRTC}
`)
	s.waitState("many", resource.StateRunning, 90*time.Second)
	// One viewer first, so that the steady state (encoder, tap) is there
	// before the baseline is read.
	warm := play(t, s, "/live/many/rtc/whep")
	_ = warm.Close(context.Background(), s.url("/live/many/rtc/whep"))
	poll.Until(t, "no session left", 30*time.Second, func() (bool, string) {
		n := s.metric(t, "sluice_webrtc_sessions")
		return n == 0, fmt.Sprint(n)
	})
	pid := s.cmd.Process.Pid
	rss0, gor0 := rssKiB(t, pid), s.metric(t, "go_goroutines")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	vs := make([]*rtcpeer.Viewer, viewers)
	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := rtcpeer.Play(ctx, client, s.url("/live/many/rtc/whep"))
			if err != nil {
				errs <- err
				return
			}
			vs[i] = v
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a viewer could not start: %v", err)
	}
	defer func() {
		for _, v := range vs {
			_ = v.Close(context.Background(), s.url("/live/many/rtc/whep"))
		}
	}()
	poll.Until(t, "every viewer receives video and audio", 90*time.Second, func() (bool, string) {
		waiting := 0
		for _, v := range vs {
			if v.VideoFrames.Load() < 25 || v.AudioPackets.Load() < 25 {
				waiting++
			}
		}
		return waiting == 0, fmt.Sprintf("%d of %d still waiting", waiting, viewers)
	})
	if n := s.metric(t, "sluice_webrtc_sessions"); n != viewers {
		t.Errorf("sluice_webrtc_sessions = %v, want %d", n, viewers)
	}
	rssPeak, gorPeak := rssKiB(t, pid), s.metric(t, "go_goroutines")
	// Every 10 s of the hold, every session must have received more video.
	last := make([]int64, viewers)
	for i, v := range vs {
		last[i] = v.VideoFrames.Load()
	}
	minRate := 1e9
	for step := time.Duration(0); step < hold; step += 10 * time.Second {
		time.Sleep(10 * time.Second)
		for i, v := range vs {
			n := v.VideoFrames.Load()
			if st := v.State().String(); st != "connected" || n <= last[i] {
				t.Fatalf("viewer %d stopped after %s: state %s, frames %d → %d", i, step+10*time.Second, st, last[i], n)
			}
			minRate = min(minRate, float64(n-last[i])/10)
			last[i] = n
		}
	}
	rssHold, nextGC := rssKiB(t, pid), s.metric(t, "go_memstats_next_gc_bytes")
	t.Logf("100 viewers for %s: slowest viewer %.1f frames/s in a 10 s window; server RSS %d MiB before, %d MiB with them all playing, %d MiB at the end (next GC at %.0f MiB); goroutines %.0f → %.0f",
		hold, minRate, rss0>>10, rssPeak>>10, rssHold>>10, nextGC/(1<<20), gor0, gorPeak)
	for _, v := range vs {
		_ = v.Close(context.Background(), s.url("/live/many/rtc/whep"))
	}
	poll.Until(t, "the sessions' goroutines are gone", 60*time.Second, func() (bool, string) {
		n := s.metric(t, "go_goroutines")
		return n <= gor0+10 && s.metric(t, "sluice_webrtc_sessions") == 0, fmt.Sprintf("%.0f goroutines (%.0f before)", n, gor0)
	})
	rss1 := rssKiB(t, pid)
	t.Logf("after the viewers left: RSS %d MiB, goroutines %.0f", rss1>>10, s.metric(t, "go_goroutines"))
	// Bounded: ending the sessions costs no memory of its own. (The Go
	// heap returns what they used lazily, at a later collection, so the
	// RSS stays near its level under load for a while.)
	if grown := rss1 - rssHold; grown > 64<<10 {
		t.Errorf("the server's RSS grew by %d MiB while 100 sessions ended", grown>>10)
	}
}
