package cmaf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReader feeds arbitrary bytes to the encoder-output reader and the
// segmenter: they must return errors, never panic or allocate without bound.
func FuzzReader(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
		if len(seed) > 64 {
			f.Add(seed[:len(seed)/2])
			mangled := bytes.Clone(seed)
			mangled[len(mangled)/3] ^= 0xff
			f.Add(mangled)
		}
	}
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p'})
	f.Add([]byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := NewTimeline(Config{
			SegmentDuration:   time.Second,
			AvailabilityStart: time.Unix(1_800_000_000, 0),
			Renditions:        []RenditionConfig{{ID: "v", Kind: Video}},
			Now:               func() time.Time { return time.Unix(1_800_000_010, 0) },
		})
		if err != nil {
			t.Fatal(err)
		}
		feed := tl.StartRun()
		done := make(chan error, 1)
		go func() { done <- feed.Ingest("v", bytes.NewReader(data)) }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			panic("Ingest did not return")
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, io.EOF) && err.Error() == "" {
			t.Fatalf("error without a message: %#v", err)
		}
		_ = tl.Snapshot(time.Minute)
	})
}

// fuzzSeeds returns a short real encoder stream when ffmpeg is installed.
func fuzzSeeds(f *testing.F) [][]byte {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil
	}
	p := filepath.Join(f.TempDir(), "seed.mp4")
	cmd := exec.Command(bin, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "2.5",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000", p)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.Logf("no generated seed: %v: %s", err, out)
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return [][]byte{data}
}
