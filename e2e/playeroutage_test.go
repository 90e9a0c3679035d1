package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// The player page rides out a server that is away for 20 s (killed, then
// started again on its data, as a crash and a supervisor would, or as a
// channel moving between nodes looks to a viewer): hls.js's fatal network
// errors are retried after a growing delay instead of at once, and it
// plays on once the server is back, without reloading the page.
func TestPlayerRidesOutAServerOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 5)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, "outage", testStack("outage", sample))
	s.waitState("outage", resource.StateRunning, 90*time.Second)

	browserSlot <- struct{}{}
	defer func() { <-browserSlot }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tab, err := browser.NewTab(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.Do(chromedp.Navigate(s.url("/play/outage"))); err != nil {
		t.Fatal(err)
	}
	type state struct {
		Ready bool    `json:"ready"`
		Fatal string  `json:"fatal"`
		Time  float64 `json:"time"`
	}
	read := func() (state, error) {
		var st state
		err := tab.Eval(ctx, `(() => { const p = window.sluicePlayer; return p ? {ready: !!p.ready, fatal: p.fatal ? String(p.fatal) : "", time: Number(p.currentTime()) || 0} : {ready: false, fatal: "", time: 0}; })()`, &st)
		return st, err
	}
	var before state
	poll.Until(t, "the player to play", 90*time.Second, func() (bool, string) {
		st, err := read()
		if err != nil {
			return false, err.Error()
		}
		if st.Fatal != "" {
			t.Fatalf("the player failed before the outage: %s", st.Fatal)
		}
		before = st
		return st.Ready && st.Time > 2, fmt.Sprintf("ready %v at %.1f s", st.Ready, st.Time)
	})

	s.kill()
	time.Sleep(20 * time.Second) // the outage the player must ride out
	s.start()
	s.waitState("outage", resource.StateRunning, 90*time.Second)
	poll.Until(t, "the player to play on after the outage", 2*time.Minute, func() (bool, string) {
		st, err := read()
		if err != nil {
			return false, err.Error()
		}
		if st.Fatal != "" {
			t.Fatalf("the player gave up during the outage: %s", st.Fatal)
		}
		return st.Time > before.Time+25, fmt.Sprintf("at %.1f s, was %.1f s before the outage", st.Time, before.Time)
	})
}
