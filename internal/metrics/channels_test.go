package metrics

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestPollerCountsGrowthSinceTheLastLook polls running totals three
// times: the first look counts nothing, the next ones the growth, and a
// total that starts again (a new pipeline) counts from zero.
func TestPollerCountsGrowthSinceTheLastLook(t *testing.T) {
	m := New(Config{})
	fill, received := 0.0, uint64(0)
	p := &Poller{
		Metrics: m,
		Channels: func(context.Context) ([]resource.Channel, error) {
			return []resource.Channel{{ChannelSpec: resource.ChannelSpec{Name: "news"}, Pipeline: &resource.PipelineStatus{ActiveInput: "main", FillSeconds: fill}}}, nil
		},
		Inputs: func(context.Context) ([]resource.Input, error) {
			return []resource.Input{{InputSpec: resource.InputSpec{Name: "main"}, Live: &resource.LiveStatus{BytesReceived: received}}}, nil
		},
	}
	ctx := context.Background()
	fill, received = 4, 1000
	p.Poll(ctx)
	fill, received = 6.5, 1500
	p.Poll(ctx)
	fill, received = 1, 1600
	p.Poll(ctx)
	out := scrape(t, m)
	for _, want := range []string{
		`sluice_channel_fill_seconds_total{channel="news"} 3.5`,
		`sluice_input_bytes_total{input="main"} 600`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, grepLines(out, "fill_seconds_total", "input_bytes_total"))
		}
	}
}

func grepLines(s string, subs ...string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}
