package cmaf

import (
	"errors"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := map[string]Range{
		"start=2026-11-22T10:00:00Z":                            {Start: at("2026-11-22T10:00:00Z")},
		"start=2026-11-22T10:00:00Z&end=2026-11-22T10:01:00.5Z": {Start: at("2026-11-22T10:00:00Z"), End: at("2026-11-22T10:01:00.5Z")},
		"start=1795341600&end=1795341660.25":                    {Start: time.Unix(1795341600, 0).UTC(), End: time.Unix(1795341660, 250000000).UTC()},
		"token=x&start=2026-11-22T11:00:00%2B01:00&_HLS_msn=3":  {Start: at("2026-11-22T10:00:00Z")},
	}
	for q, want := range good {
		got, ok, err := ParseRange(q)
		if err != nil || !ok || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Errorf("ParseRange(%q) = %+v, %v, %v; want %+v", q, got, ok, err, want)
		}
	}
	if _, ok, err := ParseRange("token=abc"); ok || err != nil {
		t.Errorf("no range: ok %v err %v", ok, err)
	}
	for _, q := range []string{
		"end=1795341600", "start=yesterday", "start=1e9", "start=-5", "start=NaN", "start=Inf", "start=",
		"start=1795341600&end=1795341600", "start=1795341700&end=1795341600", "start=1&start=2",
		"start=99999999999999", "start=%zz", "start=0x10",
	} {
		if _, _, err := ParseRange(q); !errors.Is(err, ErrBadRange) {
			t.Errorf("ParseRange(%q) err = %v, want ErrBadRange", q, err)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, q := range []string{"start=1795341600&end=1795341660.25", "start=2026-11-22T10:00:00Z", "end=1", "start=1e308"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r, ok, err := ParseRange(q)
		if err != nil {
			if !errors.Is(err, ErrBadRange) {
				t.Fatalf("error %v is not ErrBadRange", err)
			}
			return
		}
		if ok && !r.End.IsZero() && !r.End.After(r.Start) {
			t.Fatalf("accepted %v to %v", r.Start, r.End)
		}
	})
}

func TestClipKeepsExactlyTheRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tl := newPartTimeline(t, now)
	ingestFiles(t, tl.StartRun(), encodeLowLatency(t, "6"))
	snap := tl.Snapshot(time.Minute)
	segs := snap.Renditions[0].Segments
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	ts := snap.Renditions[0].Timescale
	startOf := func(s SegmentInfo) time.Time { return snap.AvailabilityStart.Add(s.StartTime(ts)) }
	r := Range{Start: startOf(segs[1]), End: startOf(segs[3])}
	c, err := snap.Clip(r)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Renditions[0].Segments
	if len(got) != 2 || got[0].Number != segs[1].Number || got[1].Number != segs[2].Number || !c.Ended {
		t.Errorf("clip %v–%v: %d segments from %d, ended %v; want segments %d and %d, ended", r.Start, r.End, len(got), got[0].Number, c.Ended, segs[1].Number, segs[2].Number)
	}
	if len(c.Renditions[0].Edge) != 0 {
		t.Error("a clipped snapshot shows the live edge")
	}
	open, err := snap.Clip(Range{Start: startOf(segs[2])})
	if err != nil || open.Ended || open.Renditions[0].Segments[0].Number != segs[2].Number || len(open.Renditions[0].Segments) != len(segs)-2 {
		t.Errorf("start-over: %v", err)
	}
	if _, err := snap.Clip(Range{Start: now.Add(time.Hour)}); !errors.Is(err, ErrOutsideWindow) {
		t.Errorf("a range after the window: %v", err)
	}
}
