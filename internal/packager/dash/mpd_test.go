package dash

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/golden"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

var testOptions = Options{
	UTCTimingURL: "http://sluice.example:8080/time",
	Now:          time.Date(2026, 11, 22, 10, 0, 44, 250_000_000, time.UTC),
}

func TestMPDGolden(t *testing.T) {
	for _, sc := range snapshots.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			got, err := MPD(sc.Snap, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, sc.Name+".mpd", got)
			checkMPD(t, sc.Snap, got)

			again, _ := MPD(sc.Snap, testOptions)
			if !bytes.Equal(got, again) {
				t.Error("rendering the same snapshot twice gave different bytes")
			}
		})
	}
}

// checkMPD parses the MPD back and compares it with the snapshot it came
// from, expanding every SegmentTimeline into segment times and numbers.
func checkMPD(t *testing.T, s *cmaf.Snapshot, data []byte) {
	t.Helper()
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if m.GetType() != "dynamic" {
		t.Errorf("type = %q", m.GetType())
	}
	if got := string(m.PublishTime); got != "2026-11-22T10:00:44.250Z" {
		t.Errorf("publishTime = %q", got)
	}
	if got := string(m.AvailabilityStartTime); got != "2026-11-22T10:00:00Z" {
		t.Errorf("availabilityStartTime = %q", got)
	}
	if s.Ended != (m.MinimumUpdatePeriod == nil) || s.Ended != (m.MediaPresentationDuration != nil) {
		t.Errorf("ended %v: minimumUpdatePeriod %v, mediaPresentationDuration %v",
			s.Ended, m.MinimumUpdatePeriod, m.MediaPresentationDuration)
	}
	if m.TimeShiftBufferDepth == nil || time.Duration(*m.TimeShiftBufferDepth) != s.Window {
		t.Errorf("timeShiftBufferDepth = %v", m.TimeShiftBufferDepth)
	}
	if m.SuggestedPresentationDelay == nil || time.Duration(*m.SuggestedPresentationDelay) != 3*s.SegmentDuration {
		t.Errorf("suggestedPresentationDelay = %v", m.SuggestedPresentationDelay)
	}
	if len(m.UTCTimings) != 1 || m.UTCTimings[0].Value != testOptions.UTCTimingURL {
		t.Errorf("UTCTiming = %+v", m.UTCTimings)
	}
	if len(m.Periods) != len(s.Runs) {
		t.Fatalf("%d periods, want %d", len(m.Periods), len(s.Runs))
	}

	var longest, end time.Duration
	for pi, p := range m.Periods {
		run := s.Runs[pi]
		if p.Start == nil || time.Duration(*p.Start) != run.Start {
			t.Errorf("period %d start = %v, want %v", pi, p.Start, run.Start)
		}
		reps := map[string]*mpd.RepresentationType{}
		for _, as := range p.AdaptationSets {
			for _, rep := range as.Representations {
				reps[rep.Id] = rep
			}
		}
		for _, r := range s.Renditions {
			var segs []cmaf.SegmentInfo
			for _, seg := range r.Segments {
				if seg.Run == run.ID {
					segs = append(segs, seg)
				}
			}
			rep := reps[r.ID]
			if rep == nil {
				t.Errorf("period %d: no representation %s", pi, r.ID)
				continue
			}
			st := rep.SegmentTemplate
			if st == nil || st.SegmentTimeline == nil || st.StartNumber == nil || st.PresentationTimeOffset == nil {
				t.Fatalf("period %d %s: incomplete SegmentTemplate %+v", pi, r.ID, st)
			}
			if st.GetTimescale() != r.Timescale {
				t.Errorf("period %d %s: timescale %d", pi, r.ID, st.GetTimescale())
			}
			if want := uint64(run.Start) * uint64(r.Timescale) / uint64(time.Second); *st.PresentationTimeOffset != want {
				t.Errorf("period %d %s: presentationTimeOffset %d, want %d", pi, r.ID, *st.PresentationTimeOffset, want)
			}
			if uint64(*st.StartNumber) != segs[0].Number {
				t.Errorf("period %d %s: startNumber %d, want %d", pi, r.ID, *st.StartNumber, segs[0].Number)
			}
			if st.Media != "$RepresentationID$/$Number$.m4s" || !strings.HasSuffix(st.Initialization, "/init-"+strconv.FormatUint(run.ID, 10)+".mp4") {
				t.Errorf("period %d %s: media %q initialization %q", pi, r.ID, st.Media, st.Initialization)
			}

			// Expand the timeline and compare segment by segment.
			var starts, durations []uint64
			var next, total, sum uint64
			for _, e := range st.SegmentTimeline.S {
				if e.T != nil {
					next = *e.T
				}
				for range e.R + 1 {
					starts = append(starts, next)
					durations = append(durations, e.D)
					next += e.D
					total += e.D
				}
			}
			if len(starts) != len(segs) {
				t.Fatalf("period %d %s: timeline lists %d segments, want %d", pi, r.ID, len(starts), len(segs))
			}
			for i, seg := range segs {
				sum += seg.Duration
				if starts[i] != seg.Start || durations[i] != seg.Duration {
					t.Errorf("period %d %s: segment %d at %d+%d, want %d+%d",
						pi, r.ID, seg.Number, starts[i], durations[i], seg.Start, seg.Duration)
				}
				longest = max(longest, seg.DurationTime(r.Timescale))
			}
			if total != sum {
				t.Errorf("period %d %s: timeline total %d, want %d", pi, r.ID, total, sum)
			}
			last := segs[len(segs)-1]
			end = max(end, cmaf.SegmentInfo{Start: last.Start + last.Duration}.StartTime(r.Timescale))
		}
	}
	if m.MaxSegmentDuration == nil || time.Duration(*m.MaxSegmentDuration) < longest ||
		time.Duration(*m.MaxSegmentDuration) >= longest+time.Millisecond {
		t.Errorf("maxSegmentDuration = %v, longest segment %v", m.MaxSegmentDuration, longest)
	}
	if s.Ended && (time.Duration(*m.MediaPresentationDuration) < end ||
		time.Duration(*m.MediaPresentationDuration) >= end+time.Millisecond) {
		t.Errorf("mediaPresentationDuration = %v, end %v", m.MediaPresentationDuration, end)
	}
}

func TestMPDWithoutUTCTiming(t *testing.T) {
	got, err := MPD(snapshots.SingleRun(false), Options{Now: testOptions.Now})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("UTCTiming")) {
		t.Error("UTCTiming written without a URL")
	}
}

// A rendition without segments in a run is left out of that Period only.
func TestMPDMissingRendition(t *testing.T) {
	s := snapshots.TwoRuns()
	s.Renditions[2].Segments = s.Renditions[2].Segments[:3] // audio only in run 7
	got, err := MPD(s, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(got))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Periods[0].AdaptationSets); n != 2 {
		t.Errorf("period 0 has %d adaptation sets, want 2", n)
	}
	if n := len(m.Periods[1].AdaptationSets); n != 1 {
		t.Errorf("period 1 has %d adaptation sets, want 1 (video)", n)
	}
}

func TestMPDErrors(t *testing.T) {
	noSegments := snapshots.SingleRun(false)
	for i := range noSegments.Renditions {
		noSegments.Renditions[i].Segments = nil
	}

	gap := snapshots.SingleRun(false)
	gap.Renditions[1].Segments[2].Number = 9

	unknownRun := snapshots.SingleRun(false)
	unknownRun.Renditions[0].Segments[4].Run = 42

	backwards := snapshots.TwoRuns()
	backwards.Renditions[0].Segments[2], backwards.Renditions[0].Segments[3] =
		backwards.Renditions[0].Segments[3], backwards.Renditions[0].Segments[2]

	runsOutOfOrder := snapshots.TwoRuns()
	runsOutOfOrder.Runs[0], runsOutOfOrder.Runs[1] = runsOutOfOrder.Runs[1], runsOutOfOrder.Runs[0]

	duplicateRun := snapshots.SingleRun(false)
	duplicateRun.Runs = append(duplicateRun.Runs, cmaf.Run{ID: 1, Start: time.Hour})

	sameStart := snapshots.SingleRun(false)
	sameStart.Renditions[0].Segments[1].Start = sameStart.Renditions[0].Segments[0].Start

	zeroDuration := snapshots.SingleRun(false)
	zeroDuration.Renditions[2].Segments[0].Duration = 0

	zeroScale := snapshots.SingleRun(false)
	zeroScale.Renditions[2].Timescale = 0

	tests := []struct {
		name    string
		snap    *cmaf.Snapshot
		opts    Options
		want    error
		mention string
	}{
		{"nil snapshot", nil, testOptions, ErrNoSegments, ""},
		{"empty snapshot", &cmaf.Snapshot{}, testOptions, ErrNoSegments, ""},
		{"no segments", noSegments, testOptions, ErrNoSegments, ""},
		{"zero publish time", snapshots.SingleRun(false), Options{}, ErrNoPublishTime, ""},
		{"numbers not consecutive", gap, testOptions, ErrInvalidSnapshot, "segment 9 follows segment 1, want 2"},
		{"unknown run", unknownRun, testOptions, ErrInvalidSnapshot, "run 42"},
		{"run goes back", backwards, testOptions, ErrInvalidSnapshot, "later run 9"},
		{"runs out of order", runsOutOfOrder, testOptions, ErrInvalidSnapshot, "not after run 9"},
		{"duplicate run", duplicateRun, testOptions, ErrInvalidSnapshot, "run 1 listed twice"},
		{"start not increasing", sameStart, testOptions, ErrInvalidSnapshot, "segment 1 starts at tick 0"},
		{"zero duration", zeroDuration, testOptions, ErrInvalidSnapshot, "duration 0"},
		{"timescale zero", zeroScale, testOptions, ErrInvalidSnapshot, "timescale 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MPD(tt.snap, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("MPD returned with error: %q", got)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestMPDLeavesSilentAudioOut(t *testing.T) {
	s := snapshots.TwoRuns()
	s.Runs[1].Silent = true // the second run's source had no audio
	got, err := MPD(s, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(got))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Periods) != 2 || len(m.Periods[0].AdaptationSets) != 2 || len(m.Periods[1].AdaptationSets) != 1 ||
		m.Periods[1].AdaptationSets[0].ContentType != "video" {
		t.Errorf("want audio in the first period only:\n%s", got)
	}
}
