package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
	"github.com/sluice-video/sluice/internal/whep"
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
	// The API lists the viewer under a name that is not its session URL,
	// with what was sent to it and what it reported (read every 2 s),
	// and its start event carries the same name.
	var sessions []whep.Info
	poll.Until(t, "the session's figures", 30*time.Second, func() (bool, string) {
		code, _, body := s.get("/api/v1/channels/rtc/webrtc-sessions")
		if err := json.Unmarshal(body, &sessions); code != 200 || err != nil || len(sessions) != 1 {
			t.Fatalf("GET webrtc-sessions: %d %s (%v)", code, body, err)
		}
		got := sessions[0]
		return got.PacketsSent > 0 && got.BytesSent > got.PacketsSent && got.Frames > 0, fmt.Sprintf("%+v", got)
	})
	if got := sessions[0]; got.ID == "" || strings.Contains(v.Location(), got.ID) || got.Endpoint != "rtc" || got.State != "connected" {
		t.Errorf("listed session %+v; session URL %s", got, v.Location())
	}
	if n := s.metric(t, "sluice_webrtc_sent_packets_total"); n <= 0 {
		t.Errorf("sluice_webrtc_sent_packets_total = %v", n)
	}
	code, _, body := s.get("/api/v1/events?type=webrtc.*&limit=10")
	if code != 200 || !strings.Contains(string(body), sessions[0].ID) || strings.Contains(string(body), "remote") {
		t.Errorf("webrtc events: %d %s, want the session %s and no address", code, body, sessions[0].ID)
	}
	if err := v.Close(context.Background(), s.url("/live/rtc/rtc/whep")); err != nil {
		t.Errorf("DELETE of the session: %v", err)
	}
	code, _, _ = s.get(v.Location())
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

// playWebRTCInBrowser plays a channel's WebRTC player page in Chromium
// and checks what RTCStats saw: frames decoded growing, the picture
// advancing, an audio track.
func playWebRTCInBrowser(t *testing.T, s *server, channel string) {
	t.Helper()
	res, err := playInBrowser(t, s.url("/play/"+channel+"?player=webrtc"), 6*time.Second)
	if err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	first, last := res.Samples[0], res.Samples[len(res.Samples)-1]
	t.Logf("WebRTC in Chromium: %d → %d frames decoded, %.1f → %.1f s, receive-side latency %.3f s",
		first.FramesDecoded, last.FramesDecoded, first.CurrentTime, last.CurrentTime, last.Latency)
	if res.Fatal != "" || last.FramesDecoded-first.FramesDecoded < 50 || last.CurrentTime-first.CurrentTime < 2 || !last.Audio {
		t.Errorf("Chromium's WebRTC playback: frames %d → %d, time %.1f → %.1f, audio %v, fatal %q, errors %v",
			first.FramesDecoded, last.FramesDecoded, first.CurrentTime, last.CurrentTime, last.Audio, res.Fatal, res.Errors)
	}
}

// TestWebRTCInChromium plays a test-pattern channel and an RTMP channel
// over WHEP in Chromium's own RTCPeerConnection (the RTMP channel's rung
// is main profile: without B-frames, it plays in WebRTC too).
func TestWebRTCInChromium(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "rtcb", webrtcPatternStack("rtcb"))
	s.applyStack(t.TempDir(), "rtmprtc", `name: rtmprtc
securityGroups:
  - name: local
    allow: [127.0.0.0/8]
inputs:
  - {name: cam, type: RTMP_PUSH, securityGroups: [local]}
channels:
  - name: rtmprtc
    autoStart: true
    inputAttachments: [{input: cam}]
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 300k, fps: 25, profile: main, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS}
      - {name: rtc, type: WEBRTC}
`)
	s.waitState("rtcb", resource.StateRunning, 90*time.Second)
	t.Run("test pattern", func(t *testing.T) { playWebRTCInBrowser(t, s, "rtcb") })
	startPublisher(t, "320x180", "-f", "flv", s.input("cam").Endpoints[0])
	s.waitOnAir("rtmprtc", "cam")
	t.Run("RTMP", func(t *testing.T) { playWebRTCInBrowser(t, s, "rtmprtc") })
}

// TestWHEPSignedAndRestricted: a WEBRTC endpoint that requires signed
// URLs refuses offers without a signature, with a wrong one, and from
// outside the signature's network, before any WebRTC session exists; a
// good signature plays.
func TestWHEPSignedAndRestricted(t *testing.T) {
	t.Parallel()
	key, err := signing.NewHMACKey("rtc-1")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := key.Encode()
	keyFile := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(keyFile, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerWith(t, t.TempDir(), []string{"--signing-key", "@" + keyFile})
	s.applyStack(t.TempDir(), "sig", strings.Replace(webrtcPatternStack("sig"), "{name: rtc, type: WEBRTC}", "{name: rtc, type: WEBRTC, requireSignedURLs: true}", 1))
	s.waitState("sig", resource.StateRunning, 90*time.Second)
	sign := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(s.bin, append([]string{"--server", s.url(""), "sign"}, args...)...).Output()
		if err != nil {
			t.Fatalf("sign %v: %v", args, err)
		}
		return strings.TrimSpace(strings.Split(string(out), "\n")[0])
	}
	whepPath := "/live/sig/rtc/whep"
	good := sign("--path", whepPath, "--expires", "10m", "--cidr", "127.0.0.0/8")
	for name, query := range map[string]string{
		"no signature":       "",
		"a wrong signature":  strings.Replace(good, "sluice-signature=", "sluice-signature=AAAA", 1),
		"another network":    sign("--path", whepPath, "--expires", "10m", "--cidr", "192.0.2.0/24"),
		"another endpoint's": sign("--path", "/live/sig/hls/*", "--expires", "10m"),
	} {
		u := s.url(whepPath)
		if query != "" {
			u += "?" + query
		}
		_, err := rtcpeer.Play(context.Background(), http.DefaultClient, u)
		var st *rtcpeer.Status
		if !errors.As(err, &st) || st.Code != http.StatusForbidden {
			t.Errorf("%s: %v, want 403", name, err)
		}
	}
	if _, _, body := s.get("/metrics"); strings.Contains(string(body), `sluice_webrtc_sessions_started_total{channel="sig"`) {
		t.Errorf("a refused viewer started a session")
	}
	play(t, s, whepPath+"?"+good)
}
