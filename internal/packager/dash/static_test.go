package dash

import (
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

// TestStaticMPD renders an ended two-run range as an on-demand MPD whose
// presentation starts at the first period and lasts to the last segment.
func TestStaticMPD(t *testing.T) {
	s := snapshots.TwoRuns()
	s.Ended = true
	body, err := MPD(s, Options{Now: s.AvailabilityStart, Static: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(body))
	if err != nil {
		t.Fatalf("the MPD does not parse: %v\n%s", err, body)
	}
	if m.GetType() != "static" || m.MinimumUpdatePeriod != nil || m.TimeShiftBufferDepth != nil {
		t.Fatalf("not a static MPD:\n%s", body)
	}
	if len(m.Periods) != 2 || m.Periods[0].Start == nil || *m.Periods[0].Start != 0 || *m.Periods[1].Start != mpd.Duration(16e9) {
		t.Errorf("period starts are not relative to the first run:\n%s", body)
	}
	// Run 9 ends at 36 s + 6 s (audio a few ms later); the presentation
	// starts at 20 s.
	if d := m.MediaPresentationDuration; d == nil || *d < mpd.Duration(22e9) || *d > mpd.Duration(22050e6) {
		t.Errorf("mediaPresentationDuration %v, want 22 s", d)
	}
	// A live snapshot stays dynamic whatever Static says.
	s.Ended = false
	body, _ = MPD(s, Options{Now: s.AvailabilityStart, Static: true})
	if !strings.Contains(string(body), `type="dynamic"`) {
		t.Error("a live snapshot was rendered static")
	}
}
