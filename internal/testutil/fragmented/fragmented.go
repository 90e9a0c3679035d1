// Package fragmented makes fragmented MP4 renditions as the encoder does and
// feeds them to a packager, for the tests of the packager and of what
// reads its timeline (DVR archive, harvest).
package fragmented

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// SmallRenditions encodes seconds of a 320x180 H.264 rendition ("180p",
// key frames on a 2 s grid) and an AAC one ("audio"), both fragmented every
// 500 ms, and returns their files by rendition.
func SmallRenditions(t testing.TB, seconds string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{"180p": filepath.Join(dir, "180p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", seconds, "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "200k",
		"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)",
		"-video_track_timescale", "90000", "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "500000", out["180p"],
		"-map", "1:a", "-t", seconds, "-c:a", "aac", "-b:a", "64k", "-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "500000", out["audio"])
	return out
}

// Feed is a packager run that takes a rendition's stream; *cmaf.Feed
// satisfies it.
type Feed interface {
	Ingest(rendition string, src io.Reader) error
}

// Ingest feeds every rendition's file to feed at once, as the encoder's
// pipes do, and waits until all are read.
func Ingest(t testing.TB, feed Feed, files map[string]string) {
	t.Helper()
	var wg sync.WaitGroup
	for id, p := range files {
		data, err := os.ReadFile(p) //nolint:gosec // the test's own files
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := feed.Ingest(id, bytes.NewReader(data)); err != nil {
				t.Errorf("ingest %s: %v", id, err)
			}
		})
	}
	wg.Wait()
}
