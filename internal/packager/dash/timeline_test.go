package dash

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

func TestTimeline(t *testing.T) {
	run := cmaf.Run{ID: 1}
	tests := []struct {
		name string
		segs []cmaf.SegmentInfo
		want []timelineEntry
	}{
		{"empty", nil, nil},
		{"one", snapshots.VideoSegs(run, 0, 500, 180000),
			[]timelineEntry{{Start: 500, HasStart: true, Duration: 180000}}},
		{"repeats", snapshots.VideoSegs(run, 0, 0, 180000, 180000, 180000),
			[]timelineEntry{{Start: 0, HasStart: true, Duration: 180000, Repeat: 2}}},
		{"alternating", snapshots.VideoSegs(run, 0, 0, 96256, 95232, 96256),
			[]timelineEntry{
				{Start: 0, HasStart: true, Duration: 96256},
				{Start: 96256, Duration: 95232},
				{Start: 191488, Duration: 96256},
			}},
		{"gap restarts with t", append(snapshots.VideoSegs(run, 0, 0, 100, 100), snapshots.VideoSegs(run, 2, 250, 100, 100)...),
			[]timelineEntry{
				{Start: 0, HasStart: true, Duration: 100, Repeat: 1},
				{Start: 250, HasStart: true, Duration: 100, Repeat: 1},
			}},
		{"overlap restarts with t", append(snapshots.VideoSegs(run, 0, 0, 100), snapshots.VideoSegs(run, 1, 90, 100)...),
			[]timelineEntry{
				{Start: 0, HasStart: true, Duration: 100},
				{Start: 90, HasStart: true, Duration: 100},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := timeline(tt.segs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTimelineElement(t *testing.T) {
	entries := []timelineEntry{
		{Start: 0, HasStart: true, Duration: 96256, Repeat: 2},
		{Start: 288768, Duration: 95232},
		{Start: 500000, HasStart: true, Duration: 96256},
	}
	var b strings.Builder
	b.Write(timelineElement(entries).document())
	want := `<?xml version="1.0" encoding="UTF-8"?>
<SegmentTimeline>
  <S t="0" d="96256" r="2"/>
  <S d="95232"/>
  <S t="500000" d="96256"/>
</SegmentTimeline>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
