package dash

import (
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

// lowLatencyOpts is an LL_DASH endpoint of 2 s segments and 200 ms chunks.
func lowLatencyOpts() Options {
	return Options{
		UTCTimingURL: "http://origin.example/time",
		Now:          snapshots.AvailabilityStart().Add(time.Minute),
		LowLatency:   &LowLatency{SegmentDuration: 2 * time.Second, ChunkDuration: 200 * time.Millisecond, TargetLatency: 2600 * time.Millisecond},
	}
}

func TestLowLatencyMPDGolden(t *testing.T) {
	t.Parallel()
	for _, sc := range []snapshots.Scenario{{Name: "single", Snap: snapshots.SingleRun(false)}, {Name: "discontinuity", Snap: snapshots.TwoRuns()}} {
		t.Run(sc.Name, func(t *testing.T) {
			got, err := MPD(sc.Snap, lowLatencyOpts())
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "ll-"+sc.Name+".mpd", got)
			checkLowLatencyMPD(t, sc.Snap, got)
		})
	}
}

// checkLowLatencyMPD parses the MPD and checks that a number-addressed
// template puts every listed segment at its media time.
func checkLowLatencyMPD(t *testing.T, s *cmaf.Snapshot, data []byte) {
	t.Helper()
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(m.ServiceDescription) != 1 || len(m.ServiceDescription[0].Latencies) != 1 || m.ServiceDescription[0].Latencies[0].Target == nil || *m.ServiceDescription[0].Latencies[0].Target != 2600 {
		t.Errorf("no ServiceDescription with a 2600 ms latency target: %+v", m.ServiceDescription)
	}
	if len(m.UTCTimings) != 1 {
		t.Errorf("%d UTCTiming elements", len(m.UTCTimings))
	}
	for pi, p := range m.Periods {
		run := s.Runs[pi]
		for _, as := range p.AdaptationSets {
			for _, rep := range as.Representations {
				st := rep.SegmentTemplate
				if st == nil || st.SegmentTimeline != nil || st.Duration == nil || st.StartNumber == nil {
					t.Fatalf("period %s representation %s: want a number template with a duration", p.Id, rep.Id)
				}
				if st.AvailabilityTimeOffset != 1.8 || st.AvailabilityTimeComplete == nil || *st.AvailabilityTimeComplete {
					t.Errorf("representation %s: availabilityTimeOffset %v complete %v, want 1.8 and false", rep.Id, st.AvailabilityTimeOffset, st.AvailabilityTimeComplete)
				}
				var r *cmaf.Rendition
				for i := range s.Renditions {
					if s.Renditions[i].ID == rep.Id {
						r = &s.Renditions[i]
					}
				}
				pto := durationToTicks(run.Start, r.Timescale)
				for _, seg := range r.Segments {
					if seg.Run != run.ID {
						continue
					}
					at := pto + (seg.Number-uint64(*st.StartNumber))*uint64(*st.Duration)
					if diff := int64(at) - int64(seg.Start); diff > int64(r.Timescale/20) || diff < -int64(r.Timescale/20) { //nolint:gosec // test timestamps are small
						t.Errorf("%s segment %d: the template puts it at %d, it starts at %d", rep.Id, seg.Number, at, seg.Start)
					}
				}
			}
		}
	}
}
