package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

const e2eKeyToken = "e2e-key-token-0123456789"

// TestEncryptedHLSPlays plays an AES-128 HLS endpoint whose key rotates
// every two segments and the MPEG-TS variant with hls.js, checks the key
// token of a second endpoint and reads a TS segment with ffprobe.
func TestEncryptedHLSPlays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 6)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, "enc", testStack("enc", sample)+`    outputs:
      - {name: hls, type: HLS, encryption: {method: AES_128, keyRotationSegments: 2}}
      - {name: secure, type: HLS, encryption: {method: AES_128, keyToken: `+e2eKeyToken+`}}
      - {name: ts, type: HLS_TS}
`)
	s.waitState("enc", resource.StateRunning, 90*time.Second)

	var playlist string
	poll.Until(t, "an encrypted playlist with two keys", 90*time.Second, func() (bool, string) {
		code, _, body := s.get("/live/enc/hls/360p/index.m3u8")
		playlist = string(body)
		return code == 200 && strings.Count(playlist, "#EXT-X-KEY:METHOD=AES-128") >= 2, playlist
	})
	m := regexp.MustCompile(`#EXT-X-KEY:METHOD=AES-128,URI="\.\./(keys/[0-9]+\.key)"`).FindStringSubmatch(playlist)
	if m == nil {
		t.Fatalf("no key URI:\n%s", playlist)
	}
	if code, _, key := s.get("/live/enc/hls/" + m[1]); code != 200 || len(key) != 16 {
		t.Errorf("key %s: %d, %d bytes", m[1], code, len(key))
	}
	code, _, body := s.get("/live/enc/secure/360p/index.m3u8?token=" + e2eKeyToken)
	sm := regexp.MustCompile(`URI="\.\./(keys/[0-9]+\.key)\?token=` + e2eKeyToken + `"`).FindStringSubmatch(string(body))
	if code != 200 || sm == nil {
		t.Fatalf("the token is not passed to the key URI: %d\n%s", code, body)
	}
	if code, _, _ := s.get("/live/enc/secure/" + sm[1]); code != 401 {
		t.Errorf("a key without its token: %d, want 401", code)
	}
	if code, _, key := s.get("/live/enc/secure/" + sm[1] + "?token=" + e2eKeyToken); code != 200 || len(key) != 16 {
		t.Errorf("a key with its token: %d", code)
	}

	probe := tsSegmentProbe(t, s, "enc")
	if streams, _ := probe["streams"].([]any); len(streams) != 2 {
		t.Errorf("ffprobe of a TS segment: %v", probe)
	}

	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for _, player := range []string{"hls", "hlsts"} {
		t.Run(player, func(t *testing.T) {
			w, err := watchLive(t, s, "enc", s.url("/play/enc?player="+player), 20*time.Second)
			res := w.res
			if err != nil {
				t.Fatalf("hls.js did not start playing: %v (errors: %s)", err, strings.Join(errorsOf(res), "; "))
			}
			if res.Fatal != "" {
				t.Fatalf("hls.js fatal error: %s (errors: %s)", res.Fatal, strings.Join(errorsOf(res), "; "))
			}
			if n := len(res.Samples); n < 15 {
				t.Fatalf("only %d samples", n)
			}
			checkLiveProgress(t, player, w)
		})
	}
}

// tsSegmentProbe reads the newest MPEG-TS segment of the HLS_TS endpoint
// with ffprobe.
func tsSegmentProbe(t *testing.T, s *server, channel string) map[string]any {
	t.Helper()
	code, _, body := s.get("/live/" + channel + "/ts/360p/index.m3u8")
	segs := regexp.MustCompile(`(?m)^[0-9]+\.ts$`).FindAllString(string(body), -1)
	if code != 200 || len(segs) == 0 {
		t.Fatalf("HLS_TS playlist: %d\n%s", code, body)
	}
	return ffprobeJSON(t, "-show_entries", "stream=codec_name", s.url("/live/"+channel+"/ts/360p/"+segs[len(segs)-1]))
}
