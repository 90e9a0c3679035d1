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

// segmentDuration is the channel's segment length: the encoder's, else one
// second with a low-latency endpoint and two without.
func (s *ChannelSpec) segmentDuration() time.Duration {
	if s.Encoder.SegmentSeconds == 0 && s.LowLatency() {
		return DefaultLowLatencySegmentSeconds * time.Second
	}
	return s.Encoder.SegmentDuration()
}

// EffectiveEncoder returns the encoder settings with the channel-level
// defaults applied: a one-second segment for low-latency channels.
func (s *ChannelSpec) EffectiveEncoder() EncoderSettings {
	e := s.Encoder
	if e.SegmentSeconds == 0 && s.LowLatency() {
		e.SegmentSeconds = DefaultLowLatencySegmentSeconds
	}
	return e
}

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

// Part returns the endpoint's part length with the default applied.
func (o *OutputGroup) Part() time.Duration {
	p := o.PartSeconds
	if p == 0 {
		p = DefaultPartSeconds
	}
	return time.Duration(p * float64(time.Second))
}

// TargetLatency returns the latency low-latency players aim for.
func (o *OutputGroup) TargetLatency(segment time.Duration) time.Duration {
	if o.TargetLatencySeconds > 0 {
		return time.Duration(o.TargetLatencySeconds * float64(time.Second))
	}
	return segment + 3*o.Part()
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
	if o.PartSeconds != 0 && (o.PartSeconds < 0.1 || o.PartSeconds > 1 || time.Duration(o.PartSeconds*float64(time.Second)) > segment/2) {
		errs.Add("partSeconds", "must be between 0.1 and 1 second and at most half the segment ("+strconv.FormatFloat(segment.Seconds(), 'f', -1, 64)+" s)")
	}
	if o.TargetLatencySeconds != 0 && (o.TargetLatencySeconds < 0.5 || o.TargetLatencySeconds > 30) {
		errs.Add("targetLatencySeconds", "must be between 0.5 and 30 seconds")
	}
	return errs.Err()
}
