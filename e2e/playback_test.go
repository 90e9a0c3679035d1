package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

// browserSlot admits one playing headless Chromium at a time. The e2e
// tests run in parallel on small machines: two browsers decoding video
// next to several encoders starve each other, and a player judged on its
// progress must not be judged on its neighbour's load. Everything else in
// the tests still runs in parallel.
var browserSlot = make(chan struct{}, 1)

// playInBrowser plays pageURL in headless Chromium for watch, once the
// browser slot is free. The deadline starts when the slot is taken, so
// waiting for another test's player does not count against it.
func playInBrowser(t *testing.T, pageURL string, watch time.Duration) (*browser.Result, error) {
	t.Helper()
	waited := time.Now()
	browserSlot <- struct{}{}
	defer func() { <-browserSlot }()
	if w := time.Since(waited); w > time.Second {
		t.Logf("waited %v for another test's browser to finish", w.Round(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return browser.Play(ctx, pageURL, watch)
}

// liveWatch is what a player did while watching a live channel, next to
// what the channel published meanwhile.
type liveWatch struct {
	res *browser.Result
	// produced is the media, in seconds, that the channel published while
	// the player was sampled: a player at the live edge cannot play more.
	produced float64
	// segment is the channel's segment duration in seconds.
	segment float64
}

// mediaMark is how much media a channel had published at a moment.
type mediaMark struct {
	at    time.Time
	media float64
}

// watchLive plays pageURL for watch while counting the segments that
// channel on s publishes, so progress can be judged against what was there
// to play rather than against the wall clock, which a loaded machine
// stretches for the encoder and the player alike.
func watchLive(t *testing.T, s *server, channel, pageURL string, watch time.Duration) (liveWatch, error) {
	t.Helper()
	spec := s.channel(channel).ChannelSpec
	segment := spec.Segment().Seconds()
	var mu sync.Mutex
	var marks []mediaMark
	mark := func() {
		if m, ok := publishedMedia(s, channel, segment); ok {
			mu.Lock()
			marks = append(marks, mediaMark{time.Now(), m})
			mu.Unlock()
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			mark()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	res, err := playInBrowser(t, pageURL, watch)
	end := time.Now()
	close(stop)
	wg.Wait()
	mark()
	w := liveWatch{res: res, segment: segment}
	if res == nil || len(res.Samples) == 0 || len(marks) == 0 {
		return w, err
	}
	// Play returns right after its last sample, taken last.At after the first.
	begin := end.Add(-res.Samples[len(res.Samples)-1].At)
	w.produced = max(0, mediaAt(marks, end)-mediaAt(marks, begin))
	return w, err
}

// publishedMedia is the media, in seconds, of the segments the channel's
// current encoder run has published.
func publishedMedia(s *server, channel string, segment float64) (float64, bool) {
	resp, err := s.http.Get(s.url("/api/v1/channels/" + channel))
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	var ch resource.Channel
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&ch) != nil || ch.Pipeline == nil {
		return 0, false
	}
	return float64(ch.Pipeline.Segments) * segment, true
}

// mediaAt is the last mark taken at or before at (the first mark if none was).
func mediaAt(marks []mediaMark, at time.Time) float64 {
	m := marks[0].media
	for _, k := range marks {
		if k.at.After(at) {
			break
		}
		m = k.media
	}
	return m
}

// checkLiveProgress judges a live watch: currentTime never goes back, it
// still advanced in the second half of the watch, it advanced by several
// segments in all, and by at least half the media the channel published
// meanwhile. A healthy player at the live edge plays nearly all of it; one
// that stalls, loops on errors or falls off the edge does not.
func checkLiveProgress(t *testing.T, player string, w liveWatch) {
	t.Helper()
	res := w.res
	n := len(res.Samples)
	for i := 1; i < n; i++ {
		if res.Samples[i].CurrentTime < res.Samples[i-1].CurrentTime {
			t.Errorf("%s: currentTime went back from %.2f to %.2f", player, res.Samples[i-1].CurrentTime, res.Samples[i].CurrentTime)
		}
	}
	first, mid, last := res.Samples[0], res.Samples[n/2], res.Samples[n-1]
	advanced := last.CurrentTime - first.CurrentTime
	errs := strings.Join(errorsOf(res), "; ")
	if last.CurrentTime <= mid.CurrentTime {
		t.Errorf("%s: playback stopped advancing at %.1f s, in the second half of the watch (errors: %s)", player, mid.CurrentTime, errs)
	}
	if want := 3 * w.segment; advanced < want {
		t.Errorf("%s: currentTime advanced %.1f s in %v, less than three %.0f s segments (errors: %s)", player, advanced, last.At-first.At, w.segment, errs)
	}
	if want := w.produced / 2; advanced < want {
		t.Errorf("%s: currentTime advanced %.1f s while the channel published %.1f s of media; want at least half (errors: %s)", player, advanced, w.produced, errs)
	}
	t.Logf("%s: played %.1f s of media in %v while the channel published %.1f s; live latency %.1f s", player, advanced, last.At-first.At, w.produced, last.Latency)
}
