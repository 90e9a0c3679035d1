package cmaf

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// FuzzReader feeds arbitrary bytes to the encoder-output reader and the
// segmenter: they must return errors, never panic or allocate without bound.
func FuzzReader(f *testing.F) {
	if seed := media.EncoderStream(f); seed != nil {
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
