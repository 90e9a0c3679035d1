package resource

import (
	"strconv"
	"time"
)

// LowLatency reports whether the channel has a low-latency endpoint.
func (s *ChannelSpec) LowLatency() bool {
	for _, o := range s.Outputs {
		if o.Type.IsLowLatency() {
			return true
		}
	}
	return false
}

// Segment returns the channel's segment (and GOP) length: the encoder's
// segmentSeconds, else one second with a low-latency or WebRTC endpoint
// (a WebRTC viewer starts at a key frame) and the encoder's default without.
func (s *ChannelSpec) Segment() time.Duration {
	if s.Encoder.SegmentSeconds == 0 && (s.LowLatency() || s.HasWebRTC()) {
		return wholeSeconds(DefaultLowLatencySegmentSeconds)
	}
	return s.Encoder.Segment()
}

// Window returns how much of the stream the channel's timeline keeps in
// memory: the longest window of its packaging endpoints, or an endpoint's
// default window when it has none (the timeline runs for its deliveries
// too).
func (s *ChannelSpec) Window() time.Duration {
	var w time.Duration
	for _, o := range s.EffectiveOutputs() {
		w = max(w, o.Window())
	}
	if w == 0 {
		var none OutputGroup
		return none.Window()
	}
	return w
}

// Ladder resolves the channel's encoder settings with the channel's segment
// length (see Segment): what its encoder and packager run with.
func (s *ChannelSpec) Ladder() (Ladder, error) { return s.Encoder.resolve(s.Segment()) }

// PartDuration returns the shortest part length of the channel's
// low-latency endpoints, or 0 when it has none.
func (s *ChannelSpec) PartDuration() time.Duration {
	var d time.Duration
	for _, o := range s.Outputs {
		if !o.Type.IsLowLatency() {
			continue
		}
		p := o.Part()
		if d == 0 || p < d {
			d = p
		}
	}
	return d
}

// Part returns the endpoint's part length: partSeconds, 0.2 seconds by
// default.
func (o *OutputGroup) Part() time.Duration {
	if o.PartSeconds == 0 {
		return seconds(DefaultPartSeconds)
	}
	return seconds(o.PartSeconds)
}

// TargetLatency returns the latency low-latency players aim for:
// targetLatencySeconds, by default half the channel's segment plus three
// parts: a player fetching the segment being written as it grows needs a
// few parts of buffer, not a whole segment.
func (o *OutputGroup) TargetLatency(segment time.Duration) time.Duration {
	if o.TargetLatencySeconds > 0 {
		return seconds(o.TargetLatencySeconds)
	}
	return segment/2 + 3*o.Part()
}

// validateLowLatency checks the low-latency fields against the segment length.
func (o *OutputGroup) validateLowLatency(segment time.Duration) error {
	var errs FieldErrors
	if !o.Type.IsLowLatency() {
		if o.PartSeconds != 0 {
			errs.Add("partSeconds", "applies to LL_HLS and LL_DASH endpoints only")
		}
		if o.TargetLatencySeconds != 0 {
			errs.Add("targetLatencySeconds", "applies to LL_HLS and LL_DASH endpoints only")
		}
		return errs.Err()
	}
	if o.PartSeconds != 0 && (o.PartSeconds < 0.1 || o.PartSeconds > 1 || o.Part() > segment/2) {
		errs.Add("partSeconds", "must be between 0.1 and 1 second and at most half the segment ("+strconv.FormatFloat(segment.Seconds(), 'f', -1, 64)+" s)")
	}
	if o.TargetLatencySeconds != 0 && (o.TargetLatencySeconds < 0.5 || o.TargetLatencySeconds > 30) {
		errs.Add("targetLatencySeconds", "must be between 0.5 and 30 seconds")
	}
	return errs.Err()
}
