package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
)

// webrtcPatternStack is a test-pattern channel with a WebRTC endpoint
// beside an HLS one.
func webrtcPatternStack(name string) string {
	return fmt.Sprintf(`name: %[1]s
inputs:
  - {name: %[1]s-bars, type: TEST_PATTERN}
channels:
  - name: %[1]s
    autoStart: true
    inputAttachments:
      - input: %[1]s-bars
    encoder:
      ladder: test-360p
      preset: ultrafast
    outputs:
      - {name: hls, type: HLS}
      - {name: rtc, type: WEBRTC}
`, name)
}

// play opens a WHEP session with a Go peer and waits until video frames,
// key frames and audio arrive.
func play(t *testing.T, s *server, path string) *rtcpeer.Viewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := rtcpeer.Play(ctx, http.DefaultClient, s.url(path))
	if err != nil {
		t.Fatalf("WHEP offer to %s: %v", path, err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background(), s.url(path)) })
	poll.Until(t, "WebRTC video and audio arrive", 60*time.Second, func() (bool, string) {
		st := fmt.Sprintf("state %s, video track %v, frames %d (key %d), audio track %v, audio packets %d",
			v.State(), v.VideoTrack.Load(), v.VideoFrames.Load(), v.KeyFrames.Load(), v.AudioTrack.Load(), v.AudioPackets.Load())
		return v.VideoFrames.Load() > 50 && v.KeyFrames.Load() > 0 && v.AudioPackets.Load() > 50, st
	})
	return v
}

// TestWHEPPlaysTestPattern plays a test-pattern channel's WEBRTC endpoint
// with a Go WebRTC peer, then ends the session with DELETE.
func TestWHEPPlaysTestPattern(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "rtc", webrtcPatternStack("rtc"))
	ch := s.waitState("rtc", resource.StateRunning, 90*time.Second)
	if ch.WebRTC == nil || ch.WebRTC.BFrames || ch.WebRTC.AudioCodec != "OPUS" {
		t.Errorf("the channel's WebRTC status = %+v, want no B-frames and Opus", ch.WebRTC)
	}
	v := play(t, s, "/live/rtc/rtc/whep")
	if err := v.Close(context.Background(), s.url("/live/rtc/rtc/whep")); err != nil {
		t.Errorf("DELETE of the session: %v", err)
	}
	code, _, _ := s.get(v.Location())
	if code == 200 {
		t.Errorf("GET of an ended session answered 200")
	}
}

// TestWHEPRefusesUnknownEndpoints: a WHEP offer to a packaging endpoint,
// or to a channel that does not exist, is refused before any WebRTC work.
func TestWHEPRefusesUnknownEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "rtc2", webrtcPatternStack("rtc2"))
	s.waitState("rtc2", resource.StateRunning, 90*time.Second)
	for path, want := range map[string]int{"/live/rtc2/hls/whep": 404, "/live/nope/rtc/whep": 404} {
		_, err := rtcpeer.Play(context.Background(), http.DefaultClient, s.url(path))
		var st *rtcpeer.Status
		if !errors.As(err, &st) || st.Code != want {
			t.Errorf("offer to %s: %v, want %d", path, err, want)
		}
	}
}
