package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// lastSegment returns the last media sequence number and the discontinuity
// sequence of a media playlist.
func (s *server) lastSegment(p string) (uint64, uint64) {
	s.t.Helper()
	pl, _, ok := s.media(p)
	if !ok {
		s.t.Fatalf("%s: no playlist", p)
	}
	segs := segmentsOf(pl)
	return segs[len(segs)-1].SeqId, pl.DiscontinuitySeq
}

// history returns a channel's state changes, oldest first.
func (s *server) history(name string) []resource.StateChange {
	s.t.Helper()
	code, _, body := s.get("/api/v1/channels/" + name + "/history?limit=1000")
	var h []resource.StateChange
	if code != 200 || json.Unmarshal(body, &h) != nil {
		s.t.Fatalf("GET history of %s: %d %s", name, code, body)
	}
	return h
}

func TestServerRestartResumesChannels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 5)
	s := startServer(t, t.TempDir())
	// The HLS endpoint keeps a DVR archive, which holds the segments of
	// the run before the restart.
	s.applyStack(dir, "restart", testStack("restart", sample)+`    outputs:
      - {name: hls, type: HLS, dvrWindowSeconds: 600}
      - {name: dash, type: DASH}
`)
	s.waitState("restart", resource.StateRunning, 90*time.Second)
	const playlist = "/live/restart/hls/360p/index.m3u8"
	poll.Until(t, "two segments", 30*time.Second, func() (bool, string) {
		pl, _, _ := s.media(playlist)
		return len(segmentsOf(pl)) >= 2, "fewer than two segments"
	})
	before, discBefore := s.lastSegment(playlist)
	eventsBefore := s.eventSeqs()
	encoders := children(s.cmd.Process.Pid)
	if len(encoders) != 1 {
		t.Fatalf("the running channel should have one encoder child, found %v", encoders)
	}

	s.kill()
	poll.Until(t, "the encoder dies with the server", 10*time.Second, func() (bool, string) {
		return !alive(encoders[0]), fmt.Sprintf("pid %d still alive", encoders[0])
	})
	s.start()
	ch := s.waitState("restart", resource.StateRunning, 90*time.Second)
	if !ch.AutoStart || ch.Name != "restart" {
		t.Errorf("channel after restart: %+v", ch)
	}
	after, discAfter := s.lastSegment(playlist)
	if after <= before {
		t.Errorf("media sequence went from %d to %d across the restart; it must only grow", before, after)
	}
	if discAfter <= discBefore {
		t.Errorf("discontinuity sequence %d → %d: the restart must be signalled", discBefore, discAfter)
	}
	out, err := s.cli("channel", "history", "restart")
	if err != nil || !strings.Contains(out, "server restarted") {
		t.Errorf("history should tell of the restart: %v\n%s", err, out)
	}
	// Events live in memory, yet their numbers keep growing across the
	// restart: a client resuming with the Last-Event-ID of the previous
	// run must neither see a number twice nor miss the new run's events.
	eventsAfter := s.eventSeqs()
	if len(eventsBefore) == 0 || len(eventsAfter) == 0 {
		t.Fatalf("events before and after the restart: %v, %v", eventsBefore, eventsAfter)
	}
	if first, last := slices.Min(eventsAfter), slices.Max(eventsBefore); first <= last {
		t.Errorf("the restarted server numbers its events from %d, at or below the %d of the run before", first, last)
	}
	// The numbers between the archive's last segment of the run before
	// and the new run's first are a hole in the DVR archive: one
	// segment.gap event names them once the new first segment is
	// archived.
	const notRunning = "the server was not running the channel"
	poll.Until(t, "a segment.gap event for the restart's hole", 90*time.Second, func() (bool, string) {
		return len(s.gapEvents("restart", notRunning)) > 0, fmt.Sprintf("events %+v", s.events())
	})

	t.Run("killed encoder recovers without 5xx", func(t *testing.T) {
		var mu sync.Mutex
		var bad []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, p := range []string{"/live/restart/hls/index.m3u8", playlist, "/live/restart/dash/manifest.mpd"} {
					code, _, body := s.get(p)
					if code >= 500 {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s: %d %s", p, code, body))
						mu.Unlock()
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		encoders := children(s.cmd.Process.Pid)
		if len(encoders) != 1 {
			t.Fatalf("encoders: %v", encoders)
		}
		seen := len(s.history("restart"))
		if err := syscall.Kill(encoders[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// RECOVERING lasts only the backoff and the first segment, which a
		// poller on a loaded machine can miss: wait for the channel to run
		// again after a restart, then read the passage through RECOVERING
		// from the state history.
		var ch resource.Channel
		poll.Until(t, "channel restart runs again after an encoder restart", 90*time.Second, func() (bool, string) {
			ch = s.channel("restart")
			restarts := 0
			if ch.Pipeline != nil {
				restarts = ch.Pipeline.Restarts
			}
			return ch.State == resource.StateRunning && restarts >= 1, fmt.Sprintf("%s (%s) restarts %d", ch.State, ch.StateReason, restarts)
		})
		if !strings.Contains(ch.LastError, "signal") {
			t.Errorf("last error after recovery %q should name the signal", ch.LastError)
		}
		recovered := s.history("restart")[seen:]
		var path []string
		for _, c := range recovered {
			path = append(path, fmt.Sprintf("%s→%s (%s)", c.From, c.To, c.Reason))
		}
		i := slices.IndexFunc(recovered, func(c resource.StateChange) bool {
			return c.From == resource.StateRunning && c.To == resource.StateRecovering
		})
		if i < 0 || !slices.ContainsFunc(recovered[i:], func(c resource.StateChange) bool {
			return c.From == resource.StateRecovering && c.To == resource.StateRunning
		}) {
			t.Errorf("the history after the kill should go RUNNING → RECOVERING → RUNNING:\n%s", strings.Join(path, "\n"))
		}
		poll.Until(t, "a discontinuity in the playlist", 30*time.Second, func() (bool, string) {
			_, _, body := s.get(playlist)
			return strings.Contains(string(body), "#EXT-X-DISCONTINUITY\n"), string(body)
		})
		close(stop)
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("the origin answered 5xx during recovery:\n%s", strings.Join(bad, "\n"))
		}
	})
	// The encoder's restart is told by the timeline, not as the server's:
	// the restart's hole was reported once.
	if gaps := s.gapEvents("restart", notRunning); len(gaps) != 1 {
		t.Errorf("%d segment.gap events of the server restart, want 1: %+v", len(gaps), gaps)
	}
}

func TestBadInputsFailClearly(t *testing.T) {
	t.Parallel()
	s, dir := runningChannel(t, "good", 320, 180, 5)

	t.Run("corrupt MP4", func(t *testing.T) {
		corrupt := filepath.Join(dir, "corrupt.mp4")
		garbage := make([]byte, 64<<10)
		for i := range garbage {
			garbage[i] = byte(i*7 + i/13)
		}
		if err := os.WriteFile(corrupt, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		s.applyStack(dir, "bad", testStack("bad", corrupt))
		ch := s.waitState("bad", resource.StateCreateFailed, 60*time.Second)
		if !strings.Contains(ch.LastError, corrupt) || !strings.Contains(ch.LastError, "Invalid data found") {
			t.Errorf("the error must name the file and ffmpeg's reason: %q", ch.LastError)
		}
		out, err := s.cli("channel", "start", "bad")
		if err == nil || !strings.Contains(out, "could not be created") {
			t.Errorf("starting a channel that could not be created: %v\n%s", err, out)
		}
		before, _ := s.lastSegment("/live/good/hls/360p/index.m3u8")
		poll.Until(t, "the other channel keeps running", 30*time.Second, func() (bool, string) {
			now, _ := s.lastSegment("/live/good/hls/360p/index.m3u8")
			return now > before && s.channel("good").State == resource.StateRunning, fmt.Sprintf("segment %d", now)
		})
	})

	t.Run("missing file", func(t *testing.T) {
		s.applyStack(dir, "missing", testStack("missing", filepath.Join(dir, "nope.mp4")))
		ch := s.waitState("missing", resource.StateCreateFailed, 60*time.Second)
		if !strings.Contains(ch.LastError, "nope.mp4: no such file") {
			t.Errorf("last error %q", ch.LastError)
		}
	})

	t.Run("stack file with a wrong type", func(t *testing.T) {
		bad := writeStack(t, dir, "typo.yaml", strings.Replace(testStack("typo", filepath.Join(dir, "any.mp4")), "ladder: test-360p", "ladder: test-360p\n      segmentSeconds: two", 1))
		out, err := s.cli("apply", "-f", bad)
		if err == nil || !strings.Contains(out, "typo.yaml:14:23: ") || !strings.Contains(out, "channels[0].encoder.segmentSeconds") {
			t.Errorf("the error must name the file, the line and the key: %v\n%s", err, out)
		}
		if code, _, _ := s.get("/api/v1/channels/typo"); code != 404 {
			t.Errorf("a rejected stack must change nothing; channel typo answers %d", code)
		}
	})
}

func TestContinueShowsBlackAfterTheEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	short := media.Sample(t, dir, 320, 180, 3)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, "cont", strings.Replace(testStack("cont", short), "LOOP", "CONTINUE", 1))
	s.waitState("cont", resource.StateRunning, 90*time.Second)
	first, _ := s.lastSegment("/live/cont/hls/360p/index.m3u8")
	// The file lasts 3 s; ten seconds later the channel still produces segments.
	poll.Until(t, "segments continue after the source ended", 60*time.Second, func() (bool, string) {
		now, _ := s.lastSegment("/live/cont/hls/360p/index.m3u8")
		return now >= first+5, fmt.Sprintf("segment %d, first %d", now, first)
	})
	if ch := s.channel("cont"); ch.State != resource.StateRunning || ch.Pipeline.Restarts != 0 {
		t.Errorf("CONTINUE must keep the encoder running: %+v", ch)
	}
}

// events lists the events the server keeps.
func (s *server) events() []resource.Event {
	s.t.Helper()
	code, _, body := s.get("/api/v1/events?limit=1000")
	var page struct {
		Events []resource.Event `json:"events"`
	}
	if code != 200 || json.Unmarshal(body, &page) != nil {
		s.t.Fatalf("GET events: %d %s", code, body)
	}
	return page.Events
}

// eventSeqs lists the numbers of the events the server keeps.
func (s *server) eventSeqs() []uint64 {
	s.t.Helper()
	evs := s.events()
	seqs := make([]uint64, len(evs))
	for i, e := range evs {
		seqs[i] = e.Seq
	}
	return seqs
}

// gapEvents lists a channel's segment.gap events whose reason holds
// cause.
func (s *server) gapEvents(channel, cause string) []resource.Event {
	s.t.Helper()
	var out []resource.Event
	for _, e := range s.events() {
		if e.Type == resource.EventSegmentGap && e.Detail["channel"] == channel && strings.Contains(e.Detail["reason"], cause) {
			out = append(out, e)
		}
	}
	return out
}
