package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/vod"
)

// tile is one cue of a thumbnails track: from, to and its place in the
// sprite.
type tile struct {
	from, to   float64
	x, y, w, h int
}

var cueLine = regexp.MustCompile(`(?m)^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$`)

// tiles reads the cues of a thumbnails track as the job wrote it.
func tiles(t *testing.T, vtt string) []tile {
	t.Helper()
	var out []tile
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	for _, m := range cueLine.FindAllStringSubmatch(vtt, -1) {
		at := func(i int) float64 {
			return float64(n(m[i])*3600+n(m[i+1])*60+n(m[i+2])) + float64(n(m[i+3]))/1000
		}
		out = append(out, tile{from: at(1), to: at(5), x: n(m[10]), y: n(m[11]), w: n(m[12]), h: n(m[13])})
	}
	return out
}

// scrubState is window.sluiceScrub.
type scrubState struct {
	Cues  int
	Shown *struct {
		Time       float64
		X, Y, W, H int
		URL        string
	}
	Position float64
	Seeks    int
	Error    string
}

// TestAssetPageScrubsTheSprite runs a real job with a thumbnails preset,
// then, in headless Chromium, the asset's page: pointing at the scrub bar
// previews the sprite's tile of that moment, the arrow keys move the
// preview a tile at a time, Enter and a click seek the player there.
func TestAssetPageScrubsTheSprite(t *testing.T) {
	t.Parallel()
	tab := consoleTab(t)
	data := t.TempDir()
	s := startServer(t, data)
	dropFile(t, media.Sample(t, t.TempDir(), 640, 360, 12), filepath.Join(data, "vod", "input"), "scrub.mp4")
	var j vod.Job
	if code := s.post("/api/v1/jobs", vod.SubmitRequest{Input: "scrub.mp4", Presets: []string{"test-abr", "test-thumbnails"}}, &j); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	if done := s.waitJob(j.ID, vod.StateComplete, 5*time.Minute); done.State != vod.StateComplete {
		t.Fatalf("the job ended %s: %s", done.State, done.Error)
	}
	code, _, body := s.get("/api/v1/assets/" + j.ID)
	var a vod.Asset
	if code != 200 || json.Unmarshal(body, &a) != nil || a.SpriteTrack == "" || a.Sprite == "" {
		t.Fatalf("the asset names no sprite or track: %d %s", code, body)
	}
	code, _, vtt := s.get("/vod/" + a.Pipeline + "/" + a.SpriteTrack)
	cues := tiles(t, string(vtt))
	if code != 200 || len(cues) < 10 {
		t.Fatalf("the thumbnails track: %d, %d cues\n%s", code, len(cues), vtt)
	}
	if code, _, _ := s.get("/vod/" + a.Pipeline + "/" + a.Sprite); code != 200 {
		t.Fatalf("the sprite: %d", code)
	}

	if err := tab.Do(
		chromedp.Navigate(s.url("/vod-play/"+j.ID)),
		chromedp.WaitReady(chromedp.CSS(`#scrub[data-ready="true"]`)),
	); err != nil {
		t.Fatalf("the asset's page: %v (page errors: %v)", err, tab.Errors())
	}
	state := func() scrubState {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		st, err := chromedp.Run(ctx, chromedp.Evaluate[scrubState](`window.sluiceScrub`))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st.Cues != len(cues) || st.Error != "" {
		t.Fatalf("the page read %d cues (%q), the track has %d", st.Cues, st.Error, len(cues))
	}
	// wantTile checks that the preview shows the tile of the moment it
	// says, and that this moment is near want.
	wantTile := func(what string, want float64) {
		t.Helper()
		st := state()
		if st.Shown == nil {
			t.Fatalf("%s: no preview shown", what)
		}
		if math.Abs(st.Shown.Time-want) > 0.6 {
			t.Errorf("%s: the preview is of %.2f s, want about %.2f s", what, st.Shown.Time, want)
		}
		for _, c := range cues {
			if st.Shown.Time >= c.from && (st.Shown.Time < c.to || c == cues[len(cues)-1]) {
				if st.Shown.X != c.x || st.Shown.Y != c.y || st.Shown.W != c.w || st.Shown.H != c.h || !strings.HasSuffix(st.Shown.URL, a.Sprite) {
					t.Errorf("%s: the preview of %.2f s shows %+v, the track's tile is %+v", what, st.Shown.Time, *st.Shown, c)
				}
				return
			}
		}
		t.Errorf("%s: no cue at %.2f s", what, st.Shown.Time)
	}
	visible := func() bool {
		v, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool](`!document.getElementById("scrub-preview").hidden && getComputedStyle(document.getElementById("scrub-frame")).backgroundImage.indexOf("sprite.jpg") > 0`))
		return err == nil && v
	}
	type rect struct{ X, Y, Width, Height float64 }
	if err := tab.Do(chromedp.ScrollIntoView(chromedp.CSS(`#scrub-bar`))); err != nil {
		t.Fatal(err)
	}
	box, err := chromedp.Run(tab.Context(), chromedp.Evaluate[rect](`(function(){var r=document.getElementById("scrub-bar").getBoundingClientRect();return {x:r.x,y:r.y,width:r.width,height:r.height};})()`))
	if err != nil || box.Width < 100 {
		t.Fatalf("the scrub bar: %+v %v", box, err)
	}
	duration := cues[len(cues)-1].to
	midY := box.Y + box.Height/2
	// The player is paused once it plays, so that where a seek lands stays.
	poll.Until(t, "the player plays the asset", time.Minute, func() (bool, string) {
		ready, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool](`!!(window.sluicePlayer && window.sluicePlayer.ready)`))
		return err == nil && ready, fmt.Sprint(ready, err)
	})
	if _, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool](`(function(){document.getElementById("video").pause();return true;})()`)); err != nil {
		t.Fatal(err)
	}

	// The pointer halfway along the bar previews the middle.
	if err := tab.Do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X+box.Width/2, midY)); err != nil {
		t.Fatal(err)
	}
	wantTile("the pointer at the middle", duration/2)
	if !visible() {
		t.Error("the preview is not shown with the sprite")
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shoot(t, tab, "asset.png")
	// The keyboard: Home, then three tiles on.
	if err := tab.Do(
		chromedp.Focus(chromedp.CSS(`#scrub-bar`)),
		chromedp.KeyEvent(kb.Home),
		chromedp.KeyEvent(kb.ArrowRight+kb.ArrowRight+kb.ArrowRight),
	); err != nil {
		t.Fatal(err)
	}
	step := cues[0].to - cues[0].from
	wantTile("three tiles on from the start", 3*step)
	// Enter seeks the player there.
	if err := tab.Do(chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	currentTime := func(want float64) {
		t.Helper()
		poll.Until(t, fmt.Sprintf("the player seeks to %.1f s", want), 30*time.Second, func() (bool, string) {
			ct, err := chromedp.Run(tab.Context(), chromedp.Evaluate[float64](`document.getElementById("video").currentTime`))
			return err == nil && math.Abs(ct-want) < 0.5, fmt.Sprint(ct, err)
		})
	}
	currentTime(3 * step)
	// A click at three quarters seeks there.
	if err := tab.Do(chromedp.MouseClickXY(box.X+box.Width*0.75, midY)); err != nil {
		t.Fatal(err)
	}
	wantTile("the click at three quarters", duration*0.75)
	currentTime(state().Position)
	if st := state(); st.Seeks != 2 {
		t.Errorf("%d seeks, want 2", st.Seeks)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the asset's page reported errors: %s", strings.Join(errs, "\n"))
	}
}
