package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
)

// whipStack: a WHIP input in a group that allows loopback, one in a group
// that does not, and a channel on the first with HLS and WebRTC outputs.
const whipStack = `name: whip
securityGroups:
  - name: local
    allow: [127.0.0.0/8, "::1/128"]
  - name: elsewhere
    allow: [192.0.2.0/24]
inputs:
  - {name: cam-whip, type: WHIP_PUSH, securityGroups: [local]}
  - {name: far-whip, type: WHIP_PUSH, securityGroups: [elsewhere]}
channels:
  - name: ch-whip
    autoStart: true
    inputAttachments: [{input: cam-whip}]
    inputLoss: {inputLossMs: 1000}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS}
      - {name: rtc, type: WEBRTC}
`

// whipMedia makes the files a WHIP publisher sends: H.264 (constrained
// baseline, parameter sets before every key frame) and Opus in 20 ms pages.
func whipMedia(t *testing.T) rtcpeer.Media {
	t.Helper()
	dir := t.TempDir()
	m := rtcpeer.Media{H264: filepath.Join(dir, "cam.h264"), FPS: 25, Opus: filepath.Join(dir, "cam.ogg")}
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-bf", "0", "-g", "25",
		"-x264-params", "repeat-headers=1", "-pix_fmt", "yuv420p", "-f", "h264", m.H264)
	media.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10", "-ac", "2",
		"-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-page_duration", "20000", m.Opus)
	return m
}

// TestWHIPPublishing publishes to a WHIP_PUSH input with a Go WebRTC
// peer: the channel goes on air and plays in hls.js and over WHEP; a
// wrong key, a refused network and a second publisher are refused; a
// publisher that goes away is filled over.
func TestWHIPPublishing(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "whip", whipStack)
	in := s.input("cam-whip")
	if len(in.Endpoints) != 1 || !strings.HasSuffix(in.Endpoints[0], "/ingest/whip/cam-whip") {
		t.Fatalf("WHIP endpoints %v", in.Endpoints)
	}
	m := whipMedia(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	refused := func(input, key string, want int) {
		t.Helper()
		_, err := rtcpeer.Publish(ctx, http.DefaultClient, s.url("/ingest/whip/"+input), key, m)
		var st *rtcpeer.Status
		if !errors.As(err, &st) || st.Code != want {
			t.Errorf("publishing to %s with key %.4s…: %v, want %d", input, key, err, want)
		}
	}
	refused("cam-whip", "wrong-key", http.StatusUnauthorized)
	refused("cam-whip", "", http.StatusUnauthorized)
	refused("far-whip", s.input("far-whip").StreamKey, http.StatusForbidden)

	pub, err := rtcpeer.Publish(ctx, http.DefaultClient, in.Endpoints[0], in.StreamKey, m)
	if err != nil {
		t.Fatalf("WHIP publish: %v", err)
	}
	t.Cleanup(pub.Stop)
	s.waitOnAir("ch-whip", "cam-whip")
	if l := s.input("cam-whip").Live; l == nil || !l.Connected || l.Protocol != "whip" || l.Video != "H264" || l.Audio != "OPUS" || l.BitrateIn <= 0 {
		t.Errorf("cam-whip live status %+v", l)
	}
	refused("cam-whip", in.StreamKey, http.StatusConflict)

	t.Run("plays in hls.js", func(t *testing.T) {
		res, err := playInBrowser(t, s.url("/play/ch-whip"), 6*time.Second)
		if err != nil {
			t.Fatalf("%v %+v", err, res)
		}
		first, last := res.Samples[0].CurrentTime, res.Samples[len(res.Samples)-1].CurrentTime
		if res.Fatal != "" || last-first < 2 {
			t.Errorf("hls.js played %.1f s of %d samples; fatal %q; errors %v", last-first, len(res.Samples), res.Fatal, res.Errors)
		}
	})
	t.Run("plays over WHEP", func(t *testing.T) {
		play(t, s, "/live/ch-whip/rtc/whep")
	})
	t.Run("losing the publisher fills", func(t *testing.T) {
		pub.Stop()
		poll.Until(t, "ch-whip fills", 30*time.Second, func() (bool, string) {
			ch := s.channel("ch-whip")
			p := ch.Pipeline
			return ch.State == resource.StateRunning && p != nil && p.Filling, string(ch.State)
		})
		// The session ends once ICE gives up on the publisher; a new one
		// is then admitted.
		poll.Until(t, "the WHIP session ends", 60*time.Second, func() (bool, string) {
			l := s.input("cam-whip").Live
			return l != nil && !l.Connected, l.LastEndReason
		})
		again, err := rtcpeer.Publish(ctx, http.DefaultClient, in.Endpoints[0], in.StreamKey, m)
		if err != nil {
			t.Fatalf("publishing again: %v", err)
		}
		s.waitOnAir("ch-whip", "cam-whip")
		if err := again.Close(context.Background()); err != nil {
			t.Errorf("DELETE of the WHIP session: %v", err)
		}
	})
}

// TestWHIPFromChromium publishes Chromium's fake camera and microphone
// from the input's publishing page; the channel goes on air and plays in
// hls.js.
func TestWHIPFromChromium(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "whip", whipStack)
	in := s.input("cam-whip")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tab, err := browser.OpenWithFakeMedia(ctx, s.url("/publish/cam-whip#key="+in.StreamKey))
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	type publisher struct {
		Publishing bool     `json:"publishing"`
		Fatal      string   `json:"fatal"`
		Errors     []string `json:"errors"`
		Codec      string   `json:"codec"`
		Sent       float64  `json:"sent"`
	}
	var st publisher
	poll.Until(t, "Chromium publishes", 60*time.Second, func() (bool, string) {
		err := tab.Eval(ctx, `(() => { const p = window.sluicePublisher; return p ? {publishing: p.publishing, fatal: p.fatal || "", errors: p.errors, codec: p.videoCodec, sent: p.bytesSent} : {}; })()`, &st)
		if st.Fatal != "" {
			t.Fatalf("the publishing page failed: %s (%v; console %v)", st.Fatal, st.Errors, tab.Errors())
		}
		return err == nil && st.Publishing && st.Sent > 0, fmt.Sprintf("%+v %v", st, err)
	})
	t.Logf("Chromium publishes %s", st.Codec)
	poll.Until(t, "ch-whip shows the browser's camera", 90*time.Second, func() (bool, string) {
		ch := s.channel("ch-whip")
		p := ch.Pipeline
		return ch.State == resource.StateRunning && p != nil && p.ActiveInput == "cam-whip" && !p.Filling, fmt.Sprintf("%+v", p)
	})
	res, err := playInBrowser(t, s.url("/play/ch-whip"), 6*time.Second)
	if err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	first, last := res.Samples[0].CurrentTime, res.Samples[len(res.Samples)-1].CurrentTime
	if res.Fatal != "" || last-first < 2 {
		t.Errorf("hls.js played %.1f s; fatal %q; errors %v", last-first, res.Fatal, res.Errors)
	}
}
