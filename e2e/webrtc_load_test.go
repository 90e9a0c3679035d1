package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
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
//
// The viewers run in a process of their own built without the race
// detector (internal/testutil/rtcpeer/viewers), as the server does: in
// this process the detector multiplies their cost until, on a loaded
// 2-core machine, they cannot read what the server sends (the server
// sent every frame while viewers counted half of them).
func TestWHEPHundredViewers(t *testing.T) {
	const viewers = 100
	const hold = 60 * time.Second
	// The server is built without the race detector, which multiplies
	// the CPU of every packet sent: a load test measures the server as it
	// ships (the other WebRTC tests run it with the detector).
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

	vp := startViewers(t, s.url("/live/many/rtc/whep"))
	// Viewers arrive in waves, as they do at a channel: a wave of 10
	// offers at once, the next when the wave receives video and audio.
	// A viewer that cannot connect (a loaded machine takes long over its
	// handshakes) offers again, as the player does.
	const wave = 10
	for joined := 0; joined < viewers; joined += wave {
		vp.join(wave)
		poll.Until(t, fmt.Sprintf("viewers %d to %d receive video and audio", joined+1, joined+wave), 3*time.Minute, func() (bool, string) {
			cs := vp.counts()
			waiting := 0
			for _, c := range cs {
				if c.VideoFrames < 25 || c.AudioPackets < 25 {
					waiting++
				}
			}
			return len(cs) == joined+wave && waiting == 0, fmt.Sprintf("%d of %d still waiting; the server's sessions: %s", waiting, len(cs), sessionStates(t, s, "many"))
		})
	}
	if n := s.metric(t, "sluice_webrtc_sessions"); n != viewers {
		t.Errorf("sluice_webrtc_sessions = %v, want %d", n, viewers)
	}
	rssPeak, gorPeak := rssKiB(t, pid), s.metric(t, "go_goroutines")
	// Over the hold, no session is dropped: every viewer stays connected,
	// the server keeps all of them, and each receives more video in every
	// 20 s of it.
	last := vp.counts()
	lastServer := sessionsByID(t, s, "many")
	minRate := 1e9
	const window = 20 * time.Second
	for step := time.Duration(0); step < hold; step += window {
		time.Sleep(window)
		cur, server := vp.counts(), sessionsByID(t, s, "many")
		rates := make([]float64, len(cur))
		for i, c := range cur {
			if c.State != "connected" || c.VideoFrames <= last[i].VideoFrames {
				t.Fatalf("viewer %d stopped after %s: state %s, frames %d → %d; the server's sessions: %s", i, step+window, c.State, last[i].VideoFrames, c.VideoFrames, sessionStates(t, s, "many"))
			}
			rates[i] = float64(c.VideoFrames-last[i].VideoFrames) / window.Seconds()
			minRate = min(minRate, rates[i])
		}
		// A viewer far below the others: say what the server sent it and
		// what it received, so that a slow session is told from a slow
		// viewer.
		median := medianOf(rates)
		for i, c := range cur {
			if rates[i] < median/2 {
				id := whep.PublicID(c.Session)
				t.Logf("viewer %d (session %s) received %.1f frames/s in the window to %s, the median %.1f: %s", i, id, rates[i], step+window, median,
					slowViewer(last[i], c, lastServer[id], server[id], window))
			}
		}
		var estimates []float64
		for _, inf := range server {
			estimates = append(estimates, float64(inf.EstimateBps)/1e3)
		}
		t.Logf("the window to %s: frames received per viewer, median %.1f/s, slowest %.1f/s; the server's bandwidth estimates, median %.0f kb/s, lowest %.0f kb/s",
			step+window, median, slices.Min(rates), medianOf(estimates), minOf(estimates))
		last, lastServer = cur, server
	}
	if n := s.metric(t, "sluice_webrtc_sessions"); n != viewers {
		t.Errorf("after the hold, sluice_webrtc_sessions = %v, want %d", n, viewers)
	}
	rssHold, nextGC := rssKiB(t, pid), s.metric(t, "go_memstats_next_gc_bytes")
	t.Logf("100 viewers for %s: slowest viewer %.1f frames/s in a 20 s window; server RSS %d MiB before, %d MiB with them all playing, %d MiB at the end (next GC at %.0f MiB); goroutines %.0f → %.0f",
		hold, minRate, rss0>>10, rssPeak>>10, rssHold>>10, nextGC/(1<<20), gor0, gorPeak)
	vp.close()
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

// viewerCounts are what one viewer received so far, as the viewers'
// process reports it.
type viewerCounts struct {
	Session      string `json:"session"`
	State        string `json:"state"`
	VideoFrames  int64  `json:"videoFrames"`
	KeyFrames    int64  `json:"keyFrames"`
	VideoPackets int64  `json:"videoPackets"`
	AudioPackets int64  `json:"audioPackets"`
}

// viewerProcess is the viewers' process (internal/testutil/rtcpeer/viewers),
// driven through its stdin and stdout.
type viewerProcess struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	log   *syncbuf.Buffer
	done  chan struct{}
}

// startViewers runs the viewers' process for the WHEP endpoint u; it
// ends at cleanup, closing its sessions.
func startViewers(t *testing.T, u string) *viewerProcess {
	t.Helper()
	p := &viewerProcess{t: t, lines: make(chan string, 16), log: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(viewersBin.get(t), "-url", u)
	p.cmd.Stderr = p.log
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.in.Close()
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("the viewers' process said:\n%s", p.log.String())
		}
	})
	return p
}

// do sends a command and returns its answer.
func (p *viewerProcess) do(cmd string, timeout time.Duration) string {
	p.t.Helper()
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		p.t.Fatalf("the viewers' process: %q: %v\n%s", cmd, err, p.log.String())
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("the viewers' process ended during %q:\n%s", cmd, p.log.String())
		}
		if msg, bad := strings.CutPrefix(line, "error "); bad {
			p.t.Fatalf("the viewers' process: %q: %s", cmd, msg)
		}
		return line
	case <-time.After(timeout):
		p.t.Fatalf("the viewers' process did not answer %q in %s", cmd, timeout)
		return ""
	}
}

// join starts n more viewers and waits until each session connected.
func (p *viewerProcess) join(n int) { p.do(fmt.Sprintf("join %d", n), 10*time.Minute) }

// counts reads what every viewer received so far.
func (p *viewerProcess) counts() []viewerCounts {
	p.t.Helper()
	var cs []viewerCounts
	line := p.do("counts", time.Minute)
	if err := json.Unmarshal([]byte(line), &cs); err != nil {
		p.t.Fatalf("the viewers' counts %q: %v", line, err)
	}
	return cs
}

// close ends every session.
func (p *viewerProcess) close() { p.do("close", 5*time.Minute) }

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
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
		float64(v1.VideoPackets-v0.VideoPackets)/secs, float64(v1.AudioPackets-v0.AudioPackets)/secs,
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
