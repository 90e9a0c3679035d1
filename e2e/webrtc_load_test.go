package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
	"github.com/sluice-video/sluice/internal/whep"
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
// goroutines come back down and its memory stays bounded. It is the one
// test of the package that does not run in parallel: Go runs it before
// releasing the parallel ones, so its 100 peers and the server share the
// machine with no other test of this package.
func TestWHEPHundredViewers(t *testing.T) {
	const viewers = 100
	const hold = 60 * time.Second
	// The server is built without the race detector, which multiplies
	// the CPU of every packet sent: a load test measures the server as
	// it ships (the other WebRTC tests run it with the detector).
	s := startServerFrom(t, &plainBin, t.TempDir(), nil)
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

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 60 * time.Second}
	u := s.url("/live/many/rtc/whep")
	var vs []*rtcpeer.Viewer
	defer func() { closeViewers(vs, u) }()
	// Viewers arrive in waves, as they do at a channel: a wave of 10
	// offers at once, the next when the wave receives video and audio.
	// A viewer that cannot connect (a loaded machine takes long over its
	// handshakes) offers again, as the player does.
	const wave = 10
	for len(vs) < viewers {
		batch := make([]*rtcpeer.Viewer, wave)
		var wg sync.WaitGroup
		errs := make(chan error, wave)
		for i := range batch {
			wg.Go(func() {
				v, err := joinWHEP(ctx, client, u)
				if err != nil {
					errs <- err
					return
				}
				batch[i] = v
			})
		}
		wg.Wait()
		close(errs)
		for _, v := range batch {
			if v != nil {
				vs = append(vs, v)
			}
		}
		for err := range errs {
			t.Fatalf("a viewer could not start: %v", err)
		}
		poll.Until(t, fmt.Sprintf("viewers %d to %d receive video and audio", len(vs)-wave+1, len(vs)), 3*time.Minute, func() (bool, string) {
			waiting := 0
			for _, v := range vs {
				if v.VideoFrames.Load() < 25 || v.AudioPackets.Load() < 25 {
					waiting++
				}
			}
			return waiting == 0, fmt.Sprintf("%d of %d still waiting; the server's sessions: %s", waiting, len(vs), sessionStates(t, s, "many"))
		})
	}
	if n := s.metric(t, "sluice_webrtc_sessions"); n != viewers {
		t.Errorf("sluice_webrtc_sessions = %v, want %d", n, viewers)
	}
	rssPeak, gorPeak := rssKiB(t, pid), s.metric(t, "go_goroutines")
	// Over the hold, no session is dropped: every viewer stays connected,
	// the server keeps all of them, and each receives more video in every
	// 20 s of it.
	last := make([]viewerCounts, viewers)
	for i, v := range vs {
		last[i] = countsOf(v)
	}
	lastServer := sessionsByID(t, s, "many")
	minRate := 1e9
	const window = 20 * time.Second
	for step := time.Duration(0); step < hold; step += window {
		time.Sleep(window)
		server := sessionsByID(t, s, "many")
		rates := make([]float64, len(vs))
		for i, v := range vs {
			c := countsOf(v)
			if st := v.State().String(); st != "connected" || c.frames <= last[i].frames {
				t.Fatalf("viewer %d stopped after %s: state %s, frames %d → %d; the server's sessions: %s", i, step+window, st, last[i].frames, c.frames, sessionStates(t, s, "many"))
			}
			rates[i] = float64(c.frames-last[i].frames) / window.Seconds()
			minRate = min(minRate, rates[i])
		}
		// A viewer far below the others: say what the server sent it
		// and what it received, so that a slow session is told from a
		// slow viewer.
		median := medianOf(rates)
		for i, v := range vs {
			if rates[i] < median/2 {
				id := whep.PublicID(v.SessionKey())
				t.Logf("viewer %d (session %s) received %.1f frames/s in the window to %s, the median %.1f: %s", i, id, rates[i], step+window, median,
					slowViewer(last[i], countsOf(v), lastServer[id], server[id], window))
			}
			last[i] = countsOf(v)
		}
		lastServer = server
	}
	if n := s.metric(t, "sluice_webrtc_sessions"); n != viewers {
		t.Errorf("after the hold, sluice_webrtc_sessions = %v, want %d", n, viewers)
	}
	rssHold, nextGC := rssKiB(t, pid), s.metric(t, "go_memstats_next_gc_bytes")
	t.Logf("100 viewers for %s: slowest viewer %.1f frames/s in a 20 s window; server RSS %d MiB before, %d MiB with them all playing, %d MiB at the end (next GC at %.0f MiB); goroutines %.0f → %.0f",
		hold, minRate, rss0>>10, rssPeak>>10, rssHold>>10, nextGC/(1<<20), gor0, gorPeak)
	closeViewers(vs, u)
	vs = nil
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

// viewerCounts are what a viewer received so far.
type viewerCounts struct{ frames, packets, audio int64 }

func countsOf(v *rtcpeer.Viewer) viewerCounts {
	return viewerCounts{v.VideoFrames.Load(), v.VideoPackets.Load(), v.AudioPackets.Load()}
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// slowViewer compares what a viewer received in a window with what the
// server says it sent the session.
func slowViewer(v0, v1 viewerCounts, s0, s1 whep.Info, window time.Duration) string {
	secs := window.Seconds()
	return fmt.Sprintf("viewer: %.1f video packets/s, %.1f audio packets/s; server: %.1f frames/s sent, %d frames skipped, %.1f packets/s, %d lost, %d NACKs, state %s, layer %s, estimate %d b/s, RTT %.3f s",
		float64(v1.packets-v0.packets)/secs, float64(v1.audio-v0.audio)/secs,
		float64(s1.Frames-s0.Frames)/secs, s1.Dropped-s0.Dropped, float64(s1.PacketsSent-s0.PacketsSent)/secs,
		s1.PacketsLost-s0.PacketsLost, s1.NACKs-s0.NACKs, s1.State, s1.Layer, s1.EstimateBps, s1.RTT)
}

// sessionsByID lists a channel's WebRTC sessions by their public id; an
// empty map when the list cannot be read (it only explains).
func sessionsByID(t *testing.T, s *server, channel string) map[string]whep.Info {
	t.Helper()
	out := map[string]whep.Info{}
	resp, err := s.http.Get(s.url("/api/v1/channels/" + channel + "/webrtc-sessions"))
	if err != nil {
		return out
	}
	defer func() { _ = resp.Body.Close() }()
	var list []whep.Info
	if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&list) == nil {
		for _, i := range list {
			out[i.ID] = i
		}
	}
	return out
}

// sessionStates summarizes a channel's WebRTC sessions as the API lists
// them: how many in each state, and those that sent no frame.
func sessionStates(t *testing.T, s *server, channel string) string {
	t.Helper()
	// A diagnosis: a request that fails says so rather than failing
	// the test.
	resp, err := s.http.Get(s.url("/api/v1/channels/" + channel + "/webrtc-sessions"))
	if err != nil {
		return fmt.Sprintf("(the list: %v)", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var list []whep.Info
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		return fmt.Sprintf("(the list answered %d)", resp.StatusCode)
	}
	states := map[string]int{}
	var idle []string
	for _, i := range list {
		states[i.State]++
		if i.Frames == 0 {
			idle = append(idle, fmt.Sprintf("%s (%s, %d packets)", i.ID, i.State, i.PacketsSent))
		}
	}
	ended := ""
	if r, err := s.http.Get(s.url("/api/v1/events?type=webrtc.session_ended&limit=20")); err == nil {
		var page struct {
			Events []resource.Event `json:"events"`
		}
		if json.NewDecoder(r.Body).Decode(&page) == nil {
			for _, e := range page.Events {
				ended += fmt.Sprintf("; %s ended: %s", e.Detail["session"], e.Detail["reason"])
			}
		}
		_ = r.Body.Close()
	}
	return fmt.Sprintf("%d listed, by state %v, without frames sent: %v%s", len(list), states, idle, ended)
}

// joinWHEP plays u until a session connects, offering again (up to three
// times) when one does not.
func joinWHEP(ctx context.Context, client *http.Client, u string) (*rtcpeer.Viewer, error) {
	var last error
	for range 3 {
		v, err := rtcpeer.Play(ctx, client, u)
		var st *rtcpeer.Status
		if errors.As(err, &st) && st.Code >= 500 {
			last = err // a server that could not take the session now
			continue
		}
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		err = v.WaitConnected(wctx)
		cancel()
		if err == nil {
			return v, nil
		}
		_ = v.Close(context.WithoutCancel(ctx), u)
		last = err
	}
	return nil, fmt.Errorf("no session connected in three offers: %w", last)
}

// closeViewers ends the sessions, all at once.
func closeViewers(vs []*rtcpeer.Viewer, u string) {
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Go(func() { _ = v.Close(context.Background(), u) })
	}
	wg.Wait()
}
