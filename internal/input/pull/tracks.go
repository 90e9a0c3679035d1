package pull

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg1audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/sluice-video/sluice/internal/input/live"
)

// The helpers below turn what the protocol libraries report into live
// tracks and frames, the same way for every protocol.

// aacTrack describes AAC audio from its AudioSpecificConfig.
func aacTrack(cfg *mpeg4audio.AudioSpecificConfig) (*live.Track, error) {
	if cfg == nil || cfg.SampleRate <= 0 {
		return nil, errors.New("AAC audio without a usable configuration")
	}
	raw, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("AAC audio with an unusable configuration: %w", err)
	}
	return &live.Track{Kind: live.Audio, Codec: live.AAC, SampleRate: cfg.SampleRate, Channels: aacChannels(cfg.ChannelConfig), AACConfig: raw}, nil
}

// aacChannels maps an AAC channel configuration to a channel count
// (ISO 14496-3, table 1.19); 0 leaves it to the stream, taken as stereo.
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	}
	return 2
}

// opusTrack describes Opus audio, always 48 kHz.
func opusTrack(channels int) *live.Track {
	if channels <= 0 {
		channels = 2
	}
	return &live.Track{Kind: live.Audio, Codec: live.Opus, SampleRate: 48000, Channels: channels}
}

// mp3Frame reads an MP3 frame's header: the track it belongs to and its
// duration.
func mp3Frame(frame []byte) (*live.Track, time.Duration, bool) {
	var h mpeg1audio.FrameHeader
	if err := h.Unmarshal(frame); err != nil || h.SampleRate <= 0 {
		return nil, 0, false
	}
	channels := 2
	if h.ChannelMode == mpeg1audio.ChannelModeMono {
		channels = 1
	}
	d := time.Duration(h.SampleCount()) * time.Second / time.Duration(h.SampleRate)
	return &live.Track{Kind: live.Audio, Codec: live.MP3, SampleRate: h.SampleRate, Channels: channels}, d, true
}

// ticks converts a timestamp in units of rate per second to a duration,
// without overflowing on long-running sources.
func ticks(v int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	r := int64(rate)
	return time.Duration(v/r)*time.Second + time.Duration(v%r)*time.Second/time.Duration(r)
}

// nonEmpty drops empty NAL units, which parsers index without checking.
func nonEmpty(au [][]byte) [][]byte {
	out := au[:0:0]
	for _, n := range au {
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// hasPicture reports whether an access unit carries a coded picture, not
// only parameter sets or SEI (an RTMP sequence header is delivered as one).
func hasPicture(codec live.Codec, au [][]byte) bool {
	for _, n := range au {
		switch codec {
		case live.H264:
			if t := h264.NALUType(n[0] & 0x1f); t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR {
				return true
			}
		case live.H265:
			if h265.NALUType((n[0]>>1)&0x3f) < 32 {
				return true
			}
		}
	}
	return false
}

// withParamSets puts the parameter sets in front of a key frame that has
// none (RTSP and HLS sources often carry them out of band only), so every
// key frame starts a decode and timing can be derived from the SPS.
func withParamSets(codec live.Codec, au, sets [][]byte) [][]byte {
	if len(sets) == 0 || !live.IsKey(codec, au) {
		return au
	}
	for _, n := range au {
		switch codec {
		case live.H264:
			if h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
				return au
			}
		case live.H265:
			if len(n) >= 2 && h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_SPS_NUT {
				return au
			}
		}
	}
	// After an access unit delimiter, which must come first.
	at := 0
	if codec == live.H264 && h264.NALUType(au[0][0]&0x1f) == h264.NALUTypeAccessUnitDelimiter ||
		codec == live.H265 && len(au[0]) >= 2 && h265.NALUType((au[0][0]>>1)&0x3f) == h265.NALUType_AUD_NUT {
		at = 1
	}
	out := make([][]byte, 0, len(sets)+len(au))
	out = append(out, au[:at]...)
	out = append(out, sets...)
	return append(out, au[at:]...)
}
