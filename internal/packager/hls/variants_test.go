package hls

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

func TestTransportStreamPlaylists(t *testing.T) {
	t.Parallel()
	snap := snapshots.TwoRuns()
	golden.Check(t, "ts-multivariant.m3u8", TransportStreamMultivariant(snap))
	got, err := MediaWith(snap, snap.Renditions[0].ID, Options{TransportStream: true})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "ts-discontinuity.m3u8", got)
	text := string(got)
	if strings.Contains(text, "EXT-X-MAP") || strings.Contains(text, ".m4s") || !strings.Contains(text, "#EXT-X-VERSION:3") || !strings.Contains(text, "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("not a TS playlist:\n%s", text)
	}
}

func TestEncryptedPlaylistRotatesKeysAndKeepsInitClear(t *testing.T) {
	t.Parallel()
	snap := snapshots.TwoRuns()
	enc := &Encryption{RotateEvery: 2, KeyURI: func(k uint64) string { return "../keys/" + strconv.FormatUint(k, 10) + ".key" }}
	got, err := MediaWith(snap, snap.Renditions[0].ID, Options{Encryption: enc})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "aes-discontinuity.m3u8", got)
	// Every EXT-X-MAP after a key is preceded by METHOD=NONE, and every
	// segment is under the key of its number.
	var key string
	for _, line := range strings.Split(string(got), "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-KEY:METHOD=NONE"):
			key = ""
		case strings.HasPrefix(line, "#EXT-X-KEY:"):
			key = line
		case strings.HasPrefix(line, "#EXT-X-MAP") && key != "":
			t.Errorf("an init segment under %s", key)
		case strings.HasSuffix(line, ".m4s"):
			n, _ := strconv.ParseUint(strings.TrimSuffix(line, ".m4s"), 10, 64)
			if want := `URI="../keys/` + strconv.FormatUint(n/2, 10) + `.key"`; !strings.Contains(key, want) {
				t.Errorf("segment %d under %q, want %s", n, key, want)
			}
		}
	}
}
