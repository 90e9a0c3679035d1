package relay

import (
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

// tsWriter muxes a hub's frames, with the publisher's own timestamps,
// into the MPEG-TS the other node's live.ReadTS reads back into frames.
type tsWriter struct {
	w          *mpegts.Writer
	video      *mpegts.Track
	audio      *mpegts.Track
	videoTrack *live.Track
	audioTrack *live.Track
}

// newTSWriter starts a stream of tracks (one video, at most one audio).
func newTSWriter(w io.Writer, tracks []*live.Track) (*tsWriter, error) {
	t := &tsWriter{}
	var all []*mpegts.Track
	for _, tr := range tracks {
		switch {
		case tr.Kind == live.Video && t.video == nil:
			switch tr.Codec {
			case live.H264:
				t.video = &mpegts.Track{Codec: &codecs.H264{}}
			case live.H265:
				t.video = &mpegts.Track{Codec: &codecs.H265{}}
			default:
				return nil, fmt.Errorf("video codec %s cannot be relayed", tr.Codec)
			}
			t.videoTrack = tr
			all = append(all, t.video)
		case tr.Kind == live.Audio && t.audio == nil:
			switch tr.Codec {
			case live.AAC:
				var cfg mpeg4audio.AudioSpecificConfig
				if err := cfg.Unmarshal(tr.AACConfig); err != nil {
					return nil, fmt.Errorf("AAC configuration: %w", err)
				}
				t.audio = &mpegts.Track{Codec: &codecs.MPEG4Audio{Config: cfg}}
			case live.Opus:
				t.audio = &mpegts.Track{Codec: &codecs.Opus{ChannelCount: tr.Channels}} //nolint:staticcheck // the writer still reads the channel count from here
			case live.MP3:
				t.audio = &mpegts.Track{Codec: &codecs.MPEG1Audio{}}
			default:
				return nil, fmt.Errorf("audio codec %s cannot be relayed", tr.Codec)
			}
			t.audioTrack = tr
			all = append(all, t.audio)
		}
	}
	if t.video == nil {
		return nil, live.ErrNoVideo
	}
	t.w = &mpegts.Writer{W: w, Tracks: all}
	if err := t.w.Initialize(); err != nil {
		return nil, err
	}
	return t, nil
}

// retrack takes the tracks of a publisher that announced them again with
// the same codecs (a new picture size, new parameter sets).
func (t *tsWriter) retrack(tracks []*live.Track) {
	for _, tr := range tracks {
		switch tr.Kind {
		case live.Video:
			t.videoTrack = tr
		case live.Audio:
			if t.audioTrack != nil {
				t.audioTrack = tr
			}
		}
	}
}

// write muxes one frame. A key frame carries the parameter sets, so the
// reader can start at any of them.
func (t *tsWriter) write(f live.Frame) error {
	if f.Kind == live.Audio {
		if t.audio == nil {
			return nil
		}
		pts := to90k(f.PTS)
		switch t.audioTrack.Codec {
		case live.AAC:
			return t.w.WriteMPEG4Audio(t.audio, pts, [][]byte{f.Data})
		case live.Opus:
			return t.w.WriteOpus(t.audio, pts, [][]byte{f.Data})
		default:
			return t.w.WriteMPEG1Audio(t.audio, pts, [][]byte{f.Data})
		}
	}
	au := f.NALUs
	if f.Key && !hasParams(t.videoTrack.Codec, au) && len(t.videoTrack.ParamSets) > 0 {
		au = append(append([][]byte{}, t.videoTrack.ParamSets...), au...)
	}
	if t.videoTrack.Codec == live.H265 {
		return t.w.WriteH265(t.video, to90k(f.PTS), to90k(f.DTS), au)
	}
	return t.w.WriteH264(t.video, to90k(f.PTS), to90k(f.DTS), au)
}

// to90k converts a timestamp to 90 kHz ticks without overflowing for
// publishers that run for days.
func to90k(d time.Duration) int64 {
	return int64(d/time.Second)*90000 + int64(d%time.Second)*90000/int64(time.Second)
}

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
