package resource_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Every field in seconds (minutes, milliseconds) has one accessor that
// applies its default; these pin each accessor and its default.
func TestDurationAccessors(t *testing.T) {
	t.Parallel()
	ll := []resource.OutputGroup{{Name: "ll", Type: resource.OutputLLHLS}}
	var noFailover *resource.FailoverSettings
	var noInputLoss *resource.InputLossSettings
	for _, tc := range []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"encoder segment default", (&resource.EncoderSettings{}).Segment(), 2 * time.Second},
		{"encoder segment", (&resource.EncoderSettings{SegmentSeconds: 1.5}).Segment(), 1500 * time.Millisecond},
		{"encoder segment, low latency is the channel's", (&resource.EncoderSettings{}).Segment(), 2 * time.Second},
		{"channel segment default", (&resource.ChannelSpec{}).Segment(), 2 * time.Second},
		{"channel segment default, low latency", (&resource.ChannelSpec{Outputs: ll}).Segment(), time.Second},
		{"channel segment, low latency", (&resource.ChannelSpec{Encoder: resource.EncoderSettings{SegmentSeconds: 4}, Outputs: ll}).Segment(), 4 * time.Second},
		{"channel segment", (&resource.ChannelSpec{Encoder: resource.EncoderSettings{SegmentSeconds: 0.5}}).Segment(), 500 * time.Millisecond},
		{"window default", (&resource.OutputGroup{}).Window(), time.Minute},
		{"window", (&resource.OutputGroup{WindowSeconds: 90}).Window(), 90 * time.Second},
		{"channel window: the longest", (&resource.ChannelSpec{Outputs: []resource.OutputGroup{{Name: "a", Type: resource.OutputHLS, WindowSeconds: 30}, {Name: "b", Type: resource.OutputDASH}}}).Window(), time.Minute},
		{"channel window, default endpoints", (&resource.ChannelSpec{}).Window(), time.Minute},
		{"channel window, deliveries only", (&resource.ChannelSpec{Outputs: []resource.OutputGroup{{Name: "u", Type: resource.OutputUDP}}}).Window(), time.Minute},
		{"DVR window unset", (&resource.OutputGroup{}).DVRWindow(), 0},
		{"DVR window", (&resource.OutputGroup{DVRWindowSeconds: 3600}).DVRWindow(), time.Hour},
		{"part default", (&resource.OutputGroup{}).Part(), 200 * time.Millisecond},
		{"part", (&resource.OutputGroup{PartSeconds: 0.25}).Part(), 250 * time.Millisecond},
		{"target latency default", (&resource.OutputGroup{PartSeconds: 0.5}).TargetLatency(time.Second), 2000 * time.Millisecond},
		{"target latency", (&resource.OutputGroup{TargetLatencySeconds: 3}).TargetLatency(time.Second), 3 * time.Second},
		{"alarm period", (&resource.AlarmSpec{PeriodSeconds: 60}).Period(), time.Minute},
		{"roll default", (&resource.DeliverySettings{}).Roll(), 10 * time.Minute},
		{"roll minutes", (&resource.DeliverySettings{RollMinutes: 5}).Roll(), 5 * time.Minute},
		{"roll seconds win", (&resource.DeliverySettings{RollMinutes: 5, RollSeconds: 30}).Roll(), 30 * time.Second},
		{"capture interval default", (&resource.DeliverySettings{}).Interval(), 10 * time.Second},
		{"capture interval", (&resource.DeliverySettings{IntervalSeconds: 2.5}).Interval(), 2500 * time.Millisecond},
		{"retention default: keep", (&resource.DeliverySettings{}).Retention(), 0},
		{"retention", (&resource.DeliverySettings{RetentionMinutes: 90}).Retention(), 90 * time.Minute},
		{"stale-if-error default", (&resource.DistributionSpec{}).StaleIfError(), time.Minute},
		{"stale-if-error", (&resource.DistributionSpec{StaleIfErrorSeconds: 5}).StaleIfError(), 5 * time.Second},
		{"error clear default", noFailover.ErrorClear(), 10 * time.Second},
		{"error clear default, policy only", (&resource.FailoverSettings{Policy: resource.EqualPreference}).ErrorClear(), 10 * time.Second},
		{"error clear", (&resource.FailoverSettings{ErrorClearMs: 2500}).ErrorClear(), 2500 * time.Millisecond},
		{"input loss default", noInputLoss.LostAfter(), time.Second},
		{"input loss default, fill only", (&resource.InputLossSettings{Fill: resource.FillSlate}).LostAfter(), time.Second},
		{"input loss", (&resource.InputLossSettings{InputLossMs: 300}).LostAfter(), 300 * time.Millisecond},
		{"SRT latency unset: SRT's own", (&resource.SRTSettings{}).Latency(), 0},
		{"SRT latency", (&resource.SRTSettings{LatencyMs: 200}).Latency(), 200 * time.Millisecond},
		{"preset segment default", resource.PresetSpec{Kind: resource.PresetABR}.SegmentDuration(), 4 * time.Second},
		{"preset segment", resource.PresetSpec{Kind: resource.PresetABR, Segment: 2}.SegmentDuration(), 2 * time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestDatapointsDefaultToEveryPeriod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ m, n, want int }{{0, 5, 5}, {3, 5, 3}, {5, 5, 5}, {-1, 2, 2}} {
		a := resource.AlarmSpec{DatapointsToAlarm: tc.m, EvaluationPeriods: tc.n}
		if got := a.Datapoints(); got != tc.want {
			t.Errorf("%d of %d: Datapoints %d, want %d", tc.m, tc.n, got, tc.want)
		}
	}
}

// The ladder a channel runs carries the channel's segment length as a
// duration: what the encoder's GOP and the packager's segments are cut to.
func TestChannelLadderSegment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec resource.ChannelSpec
		want time.Duration
	}{
		{"default", resource.ChannelSpec{Encoder: resource.EncoderSettings{Ladder: "test-360p"}}, 2 * time.Second},
		{"low latency", resource.ChannelSpec{Encoder: resource.EncoderSettings{Ladder: "test-360p"}, Outputs: []resource.OutputGroup{{Name: "ll", Type: resource.OutputLLDASH}}}, time.Second},
		{"explicit", resource.ChannelSpec{Encoder: resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 4}}, 4 * time.Second},
	} {
		l, err := tc.spec.Ladder()
		if err != nil || l.Segment != tc.want {
			t.Errorf("%s: ladder segment %v (%v), want %v", tc.name, l.Segment, err, tc.want)
		}
	}
	// A low-latency channel's ladder is checked at its one-second segment.
	odd := resource.ChannelSpec{
		Encoder: resource.EncoderSettings{Video: []resource.VideoDescription{{Name: "v", Width: 320, Height: 180, Bitrate: 300000, FPS: 12.5}}},
		Outputs: []resource.OutputGroup{{Name: "ll", Type: resource.OutputLLHLS}},
	}
	if _, err := odd.Ladder(); err == nil {
		t.Error("12.5 fps with one-second segments was accepted")
	}
	if _, err := odd.Encoder.Resolve(); err != nil {
		t.Errorf("12.5 fps with the encoder's two-second segments: %v", err)
	}
	// The channel is refused when it is created, not when it starts.
	odd.Name = "odd"
	odd.InputAttachments = []resource.InputAttachment{{Input: "bars"}}
	err := odd.Validate()
	if err == nil || !strings.Contains(err.Error(), "whole number of frames") {
		t.Errorf("a low-latency channel at 12.5 fps: %v, want refused for its one-second segments", err)
	}
}
