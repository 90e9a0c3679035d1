package cmaf_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// FuzzIngestRenders feeds arbitrary encoder output through the timeline and
// renders the manifests: whatever the bytes, every manifest renders or
// says there is nothing yet, so the origin never answers 500.
func FuzzIngestRenders(f *testing.F) {
	if seed := media.EncoderStream(f); seed != nil {
		f.Add(seed)
		f.Add(seed[:len(seed)*2/3])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		clock := time.Unix(1_800_000_000, 0)
		tl, err := cmaf.NewTimeline(cmaf.Config{
			SegmentDuration:   time.Second,
			AvailabilityStart: clock.Add(-time.Minute),
			Renditions:        []cmaf.RenditionConfig{{ID: "v", Kind: cmaf.Video}},
			Now:               func() time.Time { return clock },
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // two runs: a discontinuity
			_ = tl.StartRun().Ingest("v", bytes.NewReader(data))
			clock = clock.Add(10 * time.Second)
		}
		snap := tl.Snapshot(time.Minute)
		if _, err := hls.Media(snap, "v"); err != nil && !errors.Is(err, hls.ErrNoSegments) {
			t.Fatalf("media playlist: %v", err)
		}
		if _, err := dash.MPD(snap, dash.Options{Now: clock}); err != nil && !errors.Is(err, dash.ErrNoSegments) {
			t.Fatalf("MPD: %v", err)
		}
		_ = hls.Multivariant(snap)
	})
}
