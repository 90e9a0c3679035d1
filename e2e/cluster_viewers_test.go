package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// viewersStack is standardStack with a DASH endpoint beside the HLS one.
const viewersStack = `name: standard
securityGroups:
  - {name: studio, allow: [127.0.0.0/8]}
inputs:
  - {name: bars, type: TEST_PATTERN}
  - {name: cam, type: RTMP_PUSH, securityGroups: [studio]}
channels:
  - name: pat
    channelClass: STANDARD
    autoStart: true
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 8}, {name: dash, type: DASH, windowSeconds: 8}]
  - name: cast
    channelClass: STANDARD
    autoStart: true
    inputAttachments: [{input: cam}]
    inputLoss: {fill: BLACK}
    encoder: {ladder: test-360p, segmentSeconds: 1}
    outputs: [{name: hls, type: HLS, windowSeconds: 8}, {name: dash, type: DASH, windowSeconds: 8}]
`

// playlistWatch reads a media playlist through a URL every 250 ms and
// keeps every segment number it lists, the media sequences, the
// discontinuities and the gaps.
type playlistWatch struct {
	mu      sync.Mutex
	seen    map[uint64]bool
	lowest  uint64
	seqBack []string
	gaps    int
	discs   uint64
	answers int
	lastSeq uint64
	stop    chan struct{}
	done    chan struct{}
}

func watchPlaylist(u string) *playlistWatch {
	w := &playlistWatch{seen: map[uint64]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		client := &http.Client{Timeout: 5 * time.Second}
		firstDisc := int64(-1)
		for {
			if resp, err := client.Get(u); err == nil {
				if resp.StatusCode == 200 {
					var seq, disc uint64
					var nums []uint64
					gaps := 0
					sc := bufio.NewScanner(resp.Body)
					gap := false
					for sc.Scan() {
						line := strings.TrimSpace(sc.Text())
						switch {
						case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
							seq, _ = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
						case strings.HasPrefix(line, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
							disc, _ = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-DISCONTINUITY-SEQUENCE:"), 10, 64)
						case line == "#EXT-X-DISCONTINUITY":
							disc++
						case line == "#EXT-X-GAP":
							gap = true
						case strings.HasSuffix(line, ".m4s") && !strings.HasPrefix(line, "#"):
							if n, err := strconv.ParseUint(strings.TrimSuffix(line, ".m4s"), 10, 64); err == nil {
								nums = append(nums, n)
								if gap {
									gaps++
								}
							}
							gap = false
						}
					}
					w.mu.Lock()
					w.answers++
					if seq < w.lastSeq {
						w.seqBack = append(w.seqBack, fmt.Sprintf("%d after %d", seq, w.lastSeq))
					}
					w.lastSeq = seq
					for _, n := range nums {
						if len(w.seen) == 0 || n < w.lowest {
							w.lowest = n
						}
						w.seen[n] = true
					}
					w.gaps += gaps
					if firstDisc < 0 {
						firstDisc = int64(disc)
					}
					w.discs = disc - uint64(firstDisc)
					w.mu.Unlock()
				}
				_ = resp.Body.Close()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// end stops the watch and says what it saw: the numbers missing between
// the lowest and the highest it saw, the segments listed as gaps, the
// discontinuities that appeared, and the media sequences that went back.
func (w *playlistWatch) end() (missing []uint64, gaps int, discs uint64, seqBack []string, answers int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	highest := w.lowest
	for n := range w.seen {
		highest = max(highest, n)
	}
	for n := w.lowest; n <= highest && len(w.seen) > 0; n++ {
		if !w.seen[n] {
			missing = append(missing, n)
		}
	}
	return missing, w.gaps, w.discs, w.seqBack, w.answers
}

// periodWatch reads a DASH manifest through a URL every 250 ms and keeps
// the Period ids that appear after its first answer (a new Period is
// DASH's discontinuity), the segment numbers its first Representation of
// each Period lists, the gaps in their timelines and the start numbers
// that went back.
type periodWatch struct {
	mu      sync.Mutex
	ids     map[string]bool
	first   bool // the first answer was read
	added   int
	seen    map[uint64]bool
	lowest  uint64
	gaps    int
	back    []string
	last    uint64
	answers int
	stop    chan struct{}
	done    chan struct{}
}

func watchPeriods(u string) *periodWatch {
	w := &periodWatch{ids: map[string]bool{}, seen: map[uint64]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			if resp, err := client.Get(u); err == nil {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == 200 {
					w.read(string(body))
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// read takes one answer of the manifest.
func (w *periodWatch) read(body string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answers++
	for _, m := range periodID.FindAllStringSubmatch(body, -1) {
		if !w.ids[m[1]] && w.first {
			w.added++
		}
		w.ids[m[1]] = true
	}
	w.first = true
	var start uint64
	for k, m := range periodSegments.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if k == 0 {
			start = n
		}
		for j, sm := range timelineS.FindAllStringSubmatch(m[2], -1) {
			if j > 0 && strings.Contains(sm[0], ` t="`) {
				w.gaps++ // a segment that does not follow the one before
			}
			r := 0
			if rm := timelineRepeat.FindStringSubmatch(sm[0]); rm != nil {
				r, _ = strconv.Atoi(rm[1])
			}
			for range r + 1 {
				if len(w.seen) == 0 || n < w.lowest {
					w.lowest = n
				}
				w.seen[n] = true
				n++
			}
		}
	}
	if start < w.last {
		w.back = append(w.back, fmt.Sprintf("%d after %d", start, w.last))
	}
	w.last = max(w.last, start)
}

// periodID finds the id of each Period of a manifest; periodSegments the
// start number and the timeline of the first Representation of each
// Period, timelineS each entry of a timeline and timelineRepeat its
// repeat count.
var (
	periodID       = regexp.MustCompile(`<Period id="([^"]*)"`)
	periodSegments = regexp.MustCompile(`(?s)<Period .*?startNumber="([0-9]+)".*?<SegmentTimeline>(.*?)</SegmentTimeline>`)
	timelineS      = regexp.MustCompile(`<S [^>]*/>`)
	timelineRepeat = regexp.MustCompile(` r="([0-9]+)"`)
)

// end stops the watch and says what it saw: the Periods that appeared,
// the numbers missing between the lowest and the highest listed, the
// gaps in the timelines and the start numbers that went back.
func (w *periodWatch) end() (periods int, missing []uint64, gaps int, back []string, answers int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	highest := w.lowest
	for n := range w.seen {
		highest = max(highest, n)
	}
	for n := w.lowest; n <= highest && len(w.seen) > 0; n++ {
		if !w.seen[n] {
			missing = append(missing, n)
		}
	}
	return w.added, missing, w.gaps, w.back, w.answers
}

// viewing is what a player did over one watch.
type viewing struct {
	waiting int
	stalled float64
	played  float64
}

// players are the players every case of the viewer test plays at once.
var players = []string{"hls", "dash"}

// viewAll plays channel through the edge with every player at once, in
// tabs of one browser, for watch; act, when set, runs lead after the
// players start (a control run has none). It returns what each player
// did, by player.
func viewAll(t *testing.T, page func(channel, player string) string, channel string, watch, lead time.Duration, act func()) map[string]viewing {
	t.Helper()
	urls := make([]string, len(players))
	for i, p := range players {
		urls[i] = page(channel, p)
	}
	type played struct {
		res []*browser.Result
		err error
	}
	out := make(chan played, 1)
	go func() {
		browserSlot <- struct{}{}
		defer func() { <-browserSlot }()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		res, err := browser.PlayAll(ctx, urls, watch)
		out <- played{res, err}
	}()
	if act != nil {
		time.Sleep(lead)
		act()
	}
	p := <-out
	got := map[string]viewing{}
	for i, player := range players {
		var r *browser.Result
		if i < len(p.res) {
			r = p.res[i]
		}
		if r == nil || r.Fatal != "" || len(r.Samples) < 5 {
			fatal, errs := "", ""
			if r != nil {
				fatal, errs = r.Fatal, strings.Join(errorsOf(r), "; ")
			}
			t.Fatalf("%s: %v %s (errors: %s)", urls[i], p.err, fatal, errs)
		}
		first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
		got[player] = viewing{waiting: last.Waiting - first.Waiting, stalled: last.Stalled - first.Stalled, played: last.CurrentTime - first.CurrentTime}
	}
	return got
}

// TestClusterStandardViewersNoticeNothing runs two nodes on one
// PostgreSQL, a STANDARD TEST_PATTERN channel and a STANDARD RTMP channel
// whose publisher pushes to both pipelines' endpoints, and an edge over
// both nodes. hls.js and dash.js play through the edge at once: a
// control run of each channel, then one while the node of a pipeline is
// killed (SIGKILL), one while a pipeline's encoder is killed, one while
// a pipeline's publisher stops. Neither player waits much longer than in
// the control run, the media playlist and the manifest through the edge
// go on without a missing segment, a gap or a sequence that goes back,
// and neither gains a discontinuity (HLS) or a Period (DASH). The killed
// node comes back, and the channels run on two nodes again.
func TestClusterStandardViewersNoticeNothing(t *testing.T) {
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	nodes, byID := startStandardPair(t, viewersStack)
	waitApart(t, nodes[0], "pat")
	cast := nodes[0].channel("cast")
	poll.Until(t, "cast's pipelines on their nodes", 3*time.Minute, func() (bool, string) {
		cast = nodes[0].channel("cast")
		return len(cast.Pipelines) == 2 && cast.Pipelines[0].Node != "" && cast.Pipelines[1].Node != "" && cast.Pipelines[0].Node != cast.Pipelines[1].Node, describe(cast)
	})
	// The publisher pushes to both endpoints.
	publishers := map[int]*os.Process{}
	publish := func(p resource.PipelineReport) { publishers[p.Index] = publishToPipeline(t, p, 1200).Process }
	for _, p := range cast.Pipelines {
		publish(p)
	}
	waitApart(t, nodes[0], "cast")
	poll.Until(t, "both pipelines of cast encode their input", 2*time.Minute, func() (bool, string) {
		cast = nodes[0].channel("cast")
		return cast.Degraded == "" && cast.Pipelines[0].InputActive && cast.Pipelines[1].InputActive, describe(cast)
	})
	edge := startEdge(t, "--origin", nodes[0].url(""), "--origin", nodes[1].url(""), "--name", "standard-edge")
	page := func(channel, player string) string { return edge.url("/play/" + channel + "?player=" + player) }
	const watch, lead = 30 * time.Second, 10 * time.Second
	const maxExtraStall = 3 * time.Second

	// failure plays channel with both players while act runs, watching
	// its media playlist and its manifest through the edge, and compares
	// each player with its control run. Both pipelines are aligned (no
	// passthrough rung), so a switch between them is no discontinuity:
	// the playlist goes on with every number, no gap and no
	// discontinuity, and the manifest with every number, no gap and no
	// new Period.
	failure := func(what, channel string, control map[string]viewing, act func()) {
		t.Helper()
		pl := watchPlaylist(edge.url("/live/" + channel + "/hls/360p/index.m3u8"))
		pw := watchPeriods(edge.url("/live/" + channel + "/dash/manifest.mpd"))
		got := viewAll(t, page, channel, watch, lead, act)
		missing, gaps, discs, back, answers := pl.end()
		periods, dmissing, dgaps, dback, danswers := pw.end()
		for _, player := range players {
			g, c := got[player], control[player]
			t.Logf("%s, %s with %s: %d waiting events (%.1f s stalled, %.1f s played); control %d (%.1f s)",
				what, channel, player, g.waiting, g.stalled, g.played, c.waiting, c.stalled)
			// On a busy machine players stall briefly now and then, in
			// the control run as in this one (3 short waits against 1,
			// or 0 against 3), so the bound is on the time stalled: a
			// pipeline's loss must not stall the viewer more than three
			// seconds beyond the control run, where a channel that
			// waited for its lease would stall for the lease (10 s) and
			// a segment.
			if g.stalled > c.stalled+maxExtraStall.Seconds() {
				t.Errorf("%s: %s stalled %.1f s (%d waiting events) playing %s, %.1f s (%d) in the control run", what, player, g.stalled, g.waiting, channel, c.stalled, c.waiting)
			}
		}
		t.Logf("%s, %s: playlist: %d answers, %d missing, %d gaps, %d discontinuities; manifest: %d answers, %d missing, %d gaps, %d new Periods",
			what, channel, answers, len(missing), gaps, discs, danswers, len(dmissing), dgaps, periods)
		if answers == 0 || len(missing) > 0 || gaps > 0 || len(back) > 0 {
			t.Errorf("%s: the playlist of %s through the edge answered %d times, missed segments %v, listed %d gaps, its media sequence went back %v", what, channel, answers, missing, gaps, back)
		}
		if discs > 0 {
			t.Errorf("%s: %s's aligned pipelines switched with a discontinuity: %d in the playlist", what, channel, discs)
		}
		if danswers == 0 || len(dmissing) > 0 || dgaps > 0 || len(dback) > 0 {
			t.Errorf("%s: the manifest of %s through the edge answered %d times, missed segments %v, had %d gaps, its start number went back %v", what, channel, danswers, dmissing, dgaps, dback)
		}
		if periods > 0 {
			t.Errorf("%s: %s's aligned pipelines switched with %d new Periods in the manifest", what, channel, periods)
		}
	}

	controlPat := viewAll(t, page, "pat", watch, 0, nil)
	controlCast := viewAll(t, page, "cast", watch, 0, nil)
	t.Logf("control runs: pat %+v, cast %+v", controlPat, controlCast)

	// The node of pat's pipeline 1 dies.
	pat := waitApart(t, nodes[0], "pat")
	victim, survivor := byID[pat.Pipelines[1].Node], byID[pat.Pipelines[0].Node]
	failure("the node of a pipeline killed", "pat", controlPat, func() {
		t.Logf("killing node %s", victim.id)
		victim.kill()
	})
	poll.Until(t, "pat degraded, then on "+survivor.id+" alone", 3*time.Minute, func() (bool, string) {
		ch := survivor.channel("pat")
		return ch.State == resource.StateRunning && len(ch.Warnings) == 1 && ch.Degraded == "", describe(ch)
	})
	// The node comes back: two nodes again.
	victim.restart()
	pat = waitApart(t, survivor, "pat")
	cast = waitApart(t, survivor, "cast")
	// The publisher that pushed to the killed node gave up with it: the
	// publisher pushes to both pipelines' endpoints again, where they are
	// now.
	for _, p := range publishers {
		_ = p.Kill()
	}
	time.Sleep(time.Second) // the nodes see the old connections close
	for _, p := range cast.Pipelines {
		publish(p)
	}
	poll.Until(t, "both pipelines of cast encode their input again", 2*time.Minute, func() (bool, string) {
		cast = survivor.channel("cast")
		return cast.Degraded == "" && len(cast.Pipelines) == 2 && cast.Pipelines[0].InputActive && cast.Pipelines[1].InputActive, describe(cast)
	})

	// A pipeline's encoder dies.
	on := byID[pat.Pipelines[1].Node]
	failure("a pipeline's encoder killed", "pat", controlPat, func() {
		pid := encoderOf(t, on, "smptehdbars")
		if pid == 0 {
			t.Errorf("no encoder of pat on %s", on.id)
			return
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	})

	// A pipeline's publisher stops.
	failure("a pipeline's publisher stopped", "cast", controlCast, func() {
		_ = publishers[1].Kill()
	})
	poll.Until(t, "cast's pipeline 1 fed from the other node", 2*time.Minute, func() (bool, string) {
		ch := survivor.channel("cast")
		return ch.State == resource.StateRunning && len(ch.Pipelines) == 2 && ch.Pipelines[1].InputActive && ch.Degraded == "", describe(ch)
	})
}
