package resource

import "time"

// OutputWebRTC is a WebRTC playback endpoint: viewers negotiate a session
// with WHEP at /live/<channel>/<endpoint>/whep and receive the ladder's
// H.264 rungs (the rung follows each viewer's bandwidth) and Opus audio,
// repacketized from the encoder's output without a second encode.
const OutputWebRTC OutputType = "WEBRTC"

// WebRTCChunk is the fragment length the encoder writes on a channel with
// a WebRTC endpoint: short enough that every picture leaves the encoder
// on its own, so a WebRTC viewer never waits for a fragment to fill.
const WebRTCChunk = 10 * time.Millisecond

// IsWebRTC reports whether the type is a WebRTC playback endpoint.
func (t OutputType) IsWebRTC() bool { return t == OutputWebRTC }

// HasWebRTC reports whether the channel has a WebRTC endpoint: its encoder
// then writes H.264 without B-frames on every rung, an Opus rendition
// beside the AAC one, and fragments of one picture.
func (s *ChannelSpec) HasWebRTC() bool {
	for _, o := range s.Outputs {
		if o.Type.IsWebRTC() {
			return true
		}
	}
	return false
}

// WebRTCStatus is what a channel with a WebRTC endpoint says about the
// media its WebRTC viewers get.
type WebRTCStatus struct {
	// BFrames is false: every rung is encoded without B-frames, which
	// WebRTC decoders do not take.
	BFrames bool `json:"bFrames"`
	// VideoCodec and AudioCodec are what the viewers receive.
	VideoCodec string `json:"videoCodec"`
	AudioCodec string `json:"audioCodec"`
	// Layers are the rungs a viewer's bandwidth chooses between.
	Layers []string `json:"layers"`
}

// WebRTCMedia returns the channel's WebRTC status, or nil without a WebRTC
// endpoint.
func (s *ChannelSpec) WebRTCMedia() *WebRTCStatus {
	if !s.HasWebRTC() {
		return nil
	}
	st := &WebRTCStatus{BFrames: false, VideoCodec: "H264", AudioCodec: "OPUS", Layers: []string{}}
	if l, err := s.Ladder(); err == nil {
		for _, r := range l.Rungs {
			st.Layers = append(st.Layers, r.Name)
		}
	}
	return st
}

// validateWebRTC checks a WebRTC endpoint: it takes a name and
// requireSignedURLs, nothing else.
func (o *OutputGroup) validateWebRTC() error {
	var errs FieldErrors
	for _, f := range []struct {
		key string
		set bool
	}{
		{"windowSeconds", o.WindowSeconds != 0}, {"dvrWindowSeconds", o.DVRWindowSeconds != 0},
		{"partSeconds", o.PartSeconds != 0}, {"targetLatencySeconds", o.TargetLatencySeconds != 0},
		{"encryption", o.Encryption != nil},
	} {
		if f.set {
			errs.Add(f.key, "does not apply to WEBRTC endpoints")
		}
	}
	for _, f := range o.setFields() {
		errs.Add(f, "does not apply to WEBRTC endpoints")
	}
	return errs.Err()
}
