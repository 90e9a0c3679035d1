// Package switcher turns a channel's live inputs into the one continuous
// MPEG-TS stream its encoder reads: it follows the active input, fills
// gaps with a slate, black or the last picture (and silence) when the input
// is lost, fails over to a secondary input and back, and rewrites
// timestamps so they only ever grow, whatever happens upstream.
package switcher

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/sluice-video/sluice/internal/input/live"
)

// output writes frames with output timestamps as MPEG-TS. Its tracks are
// fixed for the life of one encoder run.
type output struct {
	w          *mpegts.Writer
	video      *mpegts.Track
	audio      *mpegts.Track
	videoTrack *live.Track
	audioTrack *live.Track
}

func newOutput(w io.Writer, video, audio *live.Track) (*output, error) {
	o := &output{videoTrack: video, audioTrack: audio}
	switch video.Codec {
	case live.H264:
		o.video = &mpegts.Track{Codec: &codecs.H264{}}
	case live.H265:
		o.video = &mpegts.Track{Codec: &codecs.H265{}}
	default:
		return nil, fmt.Errorf("video codec %s cannot be muxed", video.Codec)
	}
	switch audio.Codec {
	case live.AAC:
		var cfg mpeg4audio.AudioSpecificConfig
		if err := cfg.Unmarshal(audio.AACConfig); err != nil {
			return nil, fmt.Errorf("AAC configuration: %w", err)
		}
		o.audio = &mpegts.Track{Codec: &codecs.MPEG4Audio{Config: cfg}}
	case live.Opus:
		o.audio = &mpegts.Track{Codec: &codecs.Opus{ChannelCount: audio.Channels}} //nolint:staticcheck // the writer still reads the channel count from here
	case live.MP3:
		o.audio = &mpegts.Track{Codec: &codecs.MPEG1Audio{}}
	default:
		return nil, fmt.Errorf("audio codec %s cannot be muxed", audio.Codec)
	}
	o.w = &mpegts.Writer{W: w, Tracks: []*mpegts.Track{o.video, o.audio}}
	if err := o.w.Initialize(); err != nil {
		return nil, err
	}
	return o, nil
}

// writeVideo writes an access unit; a key frame without parameter sets gets
// the track's, so the encoder can start decoding at any key frame.
func (o *output) writeVideo(pts, dts time.Duration, au [][]byte, key bool, params [][]byte) error {
	if key && !hasParams(o.videoTrack.Codec, au) && len(params) > 0 {
		au = append(append([][]byte{}, params...), au...)
	}
	if o.videoTrack.Codec == live.H265 {
		return o.w.WriteH265(o.video, to90k(pts), to90k(dts), au)
	}
	return o.w.WriteH264(o.video, to90k(pts), to90k(dts), au)
}

func (o *output) writeAudio(pts time.Duration, data []byte) error {
	switch o.audioTrack.Codec {
	case live.AAC:
		return o.w.WriteMPEG4Audio(o.audio, to90k(pts), [][]byte{data})
	case live.Opus:
		return o.w.WriteOpus(o.audio, to90k(pts), [][]byte{data})
	default:
		return o.w.WriteMPEG1Audio(o.audio, to90k(pts), [][]byte{data})
	}
}

func to90k(d time.Duration) int64 { return int64(d) * 90000 / int64(time.Second) }

// hasParams reports whether an access unit carries its SPS.
func hasParams(codec live.Codec, au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if codec == live.H264 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			return true
		}
		if codec == live.H265 && len(n) > 1 && h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_SPS_NUT {
			return true
		}
	}
	return false
}

// compatible reports whether a source's tracks fit an output's: the same
// video codec (the size may change: the parameter sets travel in band),
// and audio the output can carry without a new encoder (same codec, rate
// and channels), or no audio at all (silence is filled in).
func compatible(outVideo, outAudio *live.Track, src []*live.Track) bool {
	v, a := split(src)
	if v == nil || v.Codec != outVideo.Codec {
		return false
	}
	if a == nil {
		return true
	}
	return a.Codec == outAudio.Codec && a.SampleRate == outAudio.SampleRate && a.Channels == outAudio.Channels &&
		(a.Codec != live.AAC || bytes.Equal(a.AACConfig, outAudio.AACConfig))
}

// split picks the video and audio tracks of a track list.
func split(tracks []*live.Track) (video, audio *live.Track) {
	for _, t := range tracks {
		switch t.Kind {
		case live.Video:
			if video == nil {
				video = t
			}
		case live.Audio:
			if audio == nil {
				audio = t
			}
		}
	}
	return video, audio
}
