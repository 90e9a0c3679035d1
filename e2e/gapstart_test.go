package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// afterGap reports whether a media playlist ends with segments marked
// EXT-X-GAP followed by at most two real ones: where a player that joins
// now starts, two segments from the live edge, lands in the gap.
func afterGap(playlist string) bool {
	lines := strings.Split(strings.TrimSpace(playlist), "\n")
	real := 0
	gap := false
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "#EXT-X-GAP":
			gap = true
		case strings.HasPrefix(l, "#EXTINF"):
			if gap {
				return real > 0 && real <= 2
			}
			real++
		}
	}
	return false
}

// TestPlayerJoinsRightAfterARestartGap: an encoder restart leaves the
// segments it missed listed as EXT-X-GAP. A viewer who joins just after
// the restart, when the live edge's first segments follow the gap, must
// still start playing.
func TestPlayerJoinsRightAfterARestartGap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 5)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, "gapjoin", testStack("gapjoin", sample))
	s.waitState("gapjoin", resource.StateRunning, 90*time.Second)
	const playlist = "/live/gapjoin/hls/360p/index.m3u8"
	poll.Until(t, "four segments", 60*time.Second, func() (bool, string) {
		pl, _, _ := s.media(playlist)
		return len(segmentsOf(pl)) >= 4, "fewer than four segments"
	})
	// Stop the encoder for longer than two segments, then kill it: its
	// restart leaves the numbers it missed as gaps.
	encoders := children(s.cmd.Process.Pid)
	if len(encoders) != 1 {
		t.Fatalf("encoders: %v", encoders)
	}
	if err := syscall.Kill(encoders[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	if err := syscall.Kill(encoders[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var body string
	poll.Until(t, "the first segments after the gap", 90*time.Second, func() (bool, string) {
		_, _, b := s.get(playlist)
		body = string(b)
		return afterGap(body), body
	})
	t.Logf("joining at:\n%s", body)
	res, err := playInBrowser(t, s.url("/play/gapjoin"), 6*time.Second)
	if err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	first, last := res.Samples[0].CurrentTime, res.Samples[len(res.Samples)-1].CurrentTime
	if res.Fatal != "" || last-first < 2 {
		t.Errorf("hls.js played %.1f s; fatal %q; errors %v", last-first, res.Fatal, res.Errors)
	}
	t.Logf("player errors: %v", res.Errors)
}
