package pull

import (
	"errors"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpfragmented"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg1audio"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/sluice-video/sluice/internal/input/live"
)

// rtspTrack depacketises one RTSP format into frames of the feed. Each
// format's packets arrive on one goroutine, so its state needs no lock.
type rtspTrack struct {
	media    *description.Media
	format   format.Format
	onPacket func(c *gortsplib.Client, pkt *rtp.Packet)
}

// dtsExtractor derives decode times from presentation times: RTP carries
// only the latter, and B-frames need both.
type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// partial reports the depacketisers' "not a whole frame yet" answers.
func partial(err error) bool {
	return errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) ||
		errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) ||
		errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) || errors.Is(err, rtpfragmented.ErrMorePacketsNeeded) ||
		errors.Is(err, rtpmpeg1audio.ErrMorePacketsNeeded) || errors.Is(err, rtpmpeg1audio.ErrNonStartingPacketAndNoPrevious)
}

// newRTSPVideo depacketises H.264 or H.265. Parameter sets from the SDP
// are put in front of key frames that lack them; decode times start at
// the first key frame.
func newRTSPVideo(a *attempt, m *description.Media, f format.Format) (*rtspTrack, error) {
	var (
		codec  live.Codec
		decode func(*rtp.Packet) ([][]byte, error)
		newDTS func() dtsExtractor
		sdp    [][]byte
	)
	switch vf := f.(type) {
	case *format.H264:
		d, err := vf.CreateDecoder()
		if err != nil {
			return nil, err
		}
		codec, decode, sdp = live.H264, d.Decode, [][]byte{vf.SPS, vf.PPS}
		newDTS = func() dtsExtractor { x := &h264.DTSExtractor{}; x.Initialize(); return x }
	case *format.H265:
		d, err := vf.CreateDecoder()
		if err != nil {
			return nil, err
		}
		codec, decode, sdp = live.H265, d.Decode, [][]byte{vf.VPS, vf.SPS, vf.PPS}
		newDTS = func() dtsExtractor { x := &h265.DTSExtractor{}; x.Initialize(); return x }
	}
	a.feed.seedVideo(codec, sdp...)
	params := live.VideoParams{Codec: codec}
	var sets [][]byte
	if t, ok := params.Observe(nonEmpty(sdp)); ok {
		sets = t.ParamSets
	}
	rate := f.ClockRate()
	var dts dtsExtractor
	onPacket := func(c *gortsplib.Client, pkt *rtp.Packet) {
		pts, ok := c.PacketPTS(m, pkt)
		if !ok {
			return
		}
		au, err := decode(pkt)
		if err != nil {
			if !partial(err) {
				a.warn("depacketise video", "dropping video packets that cannot be depacketised: "+err.Error())
			}
			return
		}
		if au = nonEmpty(au); len(au) == 0 {
			return
		}
		if t, changed := params.Observe(au); changed {
			sets = t.ParamSets
		}
		au = withParamSets(codec, au, sets)
		if dts == nil {
			if !live.IsKey(codec, au) {
				return
			}
			dts = newDTS()
		}
		d, err := dts.Extract(au, pts)
		if err != nil {
			a.warn("dts", "waiting for the next key frame: "+err.Error())
			dts = nil
			return
		}
		a.feed.writeVideo(codec, ticks(pts, rate), ticks(d, rate), au)
	}
	return &rtspTrack{media: m, format: f, onPacket: onPacket}, nil
}

// newRTSPAudio depacketises AAC (RFC 3640, or LATM with its configuration
// in the SDP), Opus or MP3.
func newRTSPAudio(a *attempt, m *description.Media, f format.Format) (*rtspTrack, error) {
	rate := f.ClockRate()
	t := &rtspTrack{media: m, format: f}
	depacketiseErr := func(err error) {
		if !partial(err) {
			a.warn("depacketise audio", "dropping audio packets that cannot be depacketised: "+err.Error())
		}
	}
	switch af := f.(type) {
	case *format.MPEG4Audio:
		tr, err := aacTrack(af.Config)
		if err != nil {
			return nil, err
		}
		d, err := af.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.feed.setAudio(tr)
		perAU := ticks(mpeg4audio.SamplesPerAccessUnit, tr.SampleRate)
		t.onPacket = func(c *gortsplib.Client, pkt *rtp.Packet) {
			pts, ok := c.PacketPTS(m, pkt)
			if !ok {
				return
			}
			aus, err := d.Decode(pkt)
			if err != nil {
				depacketiseErr(err)
				return
			}
			for i, au := range aus {
				a.feed.writeAudio(ticks(pts, rate)+time.Duration(i)*perAU, au)
			}
		}
	case *format.MPEG4AudioLATM:
		cfg := af.StreamMuxConfig
		if af.CPresent || cfg == nil || len(cfg.Programs) == 0 || len(cfg.Programs[0].Layers) == 0 {
			return nil, errors.New("AAC in LATM with its configuration in the stream is not supported")
		}
		tr, err := aacTrack(cfg.Programs[0].Layers[0].AudioSpecificConfig)
		if err != nil {
			return nil, err
		}
		d, err := af.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.feed.setAudio(tr)
		perAU := ticks(mpeg4audio.SamplesPerAccessUnit, tr.SampleRate)
		t.onPacket = func(c *gortsplib.Client, pkt *rtp.Packet) {
			pts, ok := c.PacketPTS(m, pkt)
			if !ok {
				return
			}
			el, err := d.Decode(pkt)
			if err != nil {
				depacketiseErr(err)
				return
			}
			ame := mpeg4audio.AudioMuxElement{StreamMuxConfig: cfg}
			if err := ame.Unmarshal(el); err != nil {
				depacketiseErr(err)
				return
			}
			for i, sub := range ame.Payloads {
				if len(sub) > 0 && len(sub[0]) > 0 {
					a.feed.writeAudio(ticks(pts, rate)+time.Duration(i)*perAU, sub[0][0])
				}
			}
		}
	case *format.Opus:
		d, err := af.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.feed.setAudio(opusTrack(af.ChannelCount))
		t.onPacket = func(c *gortsplib.Client, pkt *rtp.Packet) {
			pts, ok := c.PacketPTS(m, pkt)
			if !ok {
				return
			}
			p, err := d.Decode(pkt)
			if err != nil {
				depacketiseErr(err)
				return
			}
			a.feed.writeAudio(ticks(pts, rate), p)
		}
	case *format.MPEG1Audio:
		d, err := af.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.feed.expectAudio()
		t.onPacket = func(c *gortsplib.Client, pkt *rtp.Packet) {
			pts, ok := c.PacketPTS(m, pkt)
			if !ok {
				return
			}
			frames, err := d.Decode(pkt)
			if err != nil {
				depacketiseErr(err)
				return
			}
			at := ticks(pts, rate)
			for _, fr := range frames {
				d, _ := a.feed.writeMP3(at, fr)
				at += d
			}
		}
	}
	return t, nil
}
