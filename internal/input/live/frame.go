// Package live is the meeting point of live inputs and channels: protocol
// servers and pullers (RTMP, SRT, UDP/RTP, HLS, RTSP, …) turn what they
// receive into Frames and publish them on the input's Hub; the channels
// attached to the input subscribe to it. Everything here is independent of
// any protocol.
package live

import "time"

// Kind is video or audio.
type Kind string

// Kinds of tracks.
const (
	Video Kind = "video"
	Audio Kind = "audio"
)

// Codec names a codec Sluice accepts from live inputs.
type Codec string

// Codecs of live inputs.
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
	AAC  Codec = "AAC"
	Opus Codec = "OPUS"
	MP3  Codec = "MP3"
)

// Track describes one elementary stream of a publisher.
type Track struct {
	Kind  Kind
	Codec Codec
	// Width and Height of video, when known from the parameter sets.
	Width  int
	Height int
	// SampleRate and Channels of audio.
	SampleRate int
	Channels   int
	// AACConfig is the AudioSpecificConfig of AAC audio.
	AACConfig []byte
	// ParamSets are the last parameter sets of video: VPS (H.265), SPS, PPS,
	// sent again before every key frame so any key frame starts a decode.
	ParamSets [][]byte
}

// Frame is one access unit of a track, as received.
type Frame struct {
	Kind Kind
	// PTS and DTS are in the publisher's clock; only differences matter.
	PTS time.Duration
	DTS time.Duration
	// Key is true for frames a decoder can start at (IDR, and every audio frame).
	Key bool
	// NALUs is a video access unit without start codes; Data is an audio
	// frame (an AAC access unit, an Opus packet, an MP3 frame).
	NALUs [][]byte
	Data  []byte
	// Received is the wall-clock time the frame arrived.
	Received time.Time
}

// Size returns the frame's payload size in bytes.
func (f *Frame) Size() int {
	n := len(f.Data)
	for _, nalu := range f.NALUs {
		n += len(nalu)
	}
	return n
}
