package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg1audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/sluice-video/sluice/internal/input/live"
)

// sink receives what a publisher sends: *live.Session in production.
type sink interface {
	SetTracks(tracks []*live.Track)
	Write(f live.Frame)
}

// errPublisherLeft ends a session whose publisher said it stops.
var errPublisherLeft = errors.New("the publisher stopped publishing")

// Bounds of the wait for a publisher's tracks: frames are held until the
// video (and the audio, when there is some) is known.
const (
	probeMedia       = time.Second     // media time to wait for a missing audio configuration
	probeNoVideo     = 5 * time.Second // media time after which a stream without video is refused
	maxPendingFrames = 600
	maxPendingBytes  = 16 << 20
)

// demuxer turns the media messages of an RTMP publisher (FLV tags, legacy
// and enhanced RTMP) into tracks and frames. It declares the tracks once
// the video parameter sets are known, declares them again when they change
// (a new sequence header, a new resolution), and holds the first frames
// until then so that none is lost.
type demuxer struct {
	out  sink
	warn func(string)

	params live.VideoParams
	video  *live.Track
	audio  *live.Track

	// metaAudio is what the stream's metadata says about audio: 0 unknown,
	// 1 audio follows, -1 no audio.
	metaAudio int
	announced bool
	pending   []live.Frame
	pendBytes int
	clock     wrapClock
	warned    map[string]bool
}

func newDemuxer(out sink, warn func(string)) *demuxer {
	if warn == nil {
		warn = func(string) {}
	}
	return &demuxer{out: out, warn: warn, warned: map[string]bool{}}
}

// handle processes one message. An error ends the publisher's session.
func (d *demuxer) handle(msg message.Message) error {
	if err := d.dispatch(msg); err != nil {
		return err
	}
	return d.maybeAnnounce()
}

func (d *demuxer) dispatch(msg message.Message) error {
	switch m := msg.(type) {
	case *message.DataAMF0:
		d.metadata(m.Payload)
	case *message.CommandAMF0:
		switch m.Name {
		case "deleteStream", "FCUnpublish", "closeStream":
			return errPublisherLeft
		}
	case *message.Video:
		codec := live.H264
		if m.Codec == message.CodecH265 {
			codec = live.H265
		}
		switch m.Type {
		case message.VideoTypeConfig:
			d.videoConfig(codec, avcSets(m.AVCConfig), hevcSets(m.HEVCConfig))
		case message.VideoTypeAU:
			dts := d.clock.unwrap(m.DTS)
			d.videoAU(codec, dts, dts+signed24(m.PTSDelta), m.AU)
		}
	case *message.VideoExSequenceStart:
		codec, err := videoCodec(m.FourCC)
		if err != nil {
			return err
		}
		d.videoConfig(codec, avcSets(m.AVCConfig), hevcSets(m.HEVCConfig))
	case *message.VideoExCodedFrames:
		codec, err := videoCodec(m.FourCC)
		if err != nil {
			return err
		}
		dts := d.clock.unwrap(m.DTS)
		d.videoAU(codec, dts, dts+signed24(m.PTSDelta), m.Payload)
	case *message.VideoExFramesX:
		codec, err := videoCodec(m.FourCC)
		if err != nil {
			return err
		}
		dts := d.clock.unwrap(m.DTS)
		d.videoAU(codec, dts, dts, m.Payload)
	case *message.VideoExMultitrack:
		if _, nested := m.Wrapped.(*message.VideoExMultitrack); m.TrackID == 0 && !nested {
			return d.dispatch(m.Wrapped)
		}
	case *message.Audio:
		d.legacyAudio(m)
	case *message.AudioExSequenceStart:
		switch m.FourCC {
		case message.FourCCMP4A:
			d.aacConfig(m.AACConfig)
		case message.FourCCOpus:
			d.opusConfig(m.OpusConfig)
		case message.FourCCMP3:
		default:
			d.warnOnce("audio codec "+fourCC(m.FourCC), "audio in "+fourCC(m.FourCC)+" is not a codec Sluice takes (AAC, Opus, MP3); it is ignored")
		}
	case *message.AudioExCodedFrames:
		dts := d.clock.unwrap(m.DTS)
		switch m.FourCC {
		case message.FourCCMP4A:
			d.audioFrame(live.AAC, dts, m.Payload)
		case message.FourCCOpus:
			if d.audio == nil {
				d.opusConfig(nil)
			}
			d.audioFrame(live.Opus, dts, m.Payload)
		case message.FourCCMP3:
			d.mp3Frame(dts, m.Payload)
		}
	case *message.AudioExMultitrack:
		if _, nested := m.Wrapped.(*message.AudioExMultitrack); m.TrackID == 0 && !nested {
			return d.dispatch(m.Wrapped)
		}
	}
	return nil
}

func (d *demuxer) legacyAudio(m *message.Audio) {
	dts := d.clock.unwrap(m.DTS)
	switch m.Codec {
	case message.CodecMPEG4Audio:
		if m.AACType == message.AudioAACTypeConfig {
			d.aacConfig(m.AACConfig)
			return
		}
		d.audioFrame(live.AAC, dts, m.AU)
	case message.CodecMPEG1Audio:
		d.mp3Frame(dts, m.AU)
	default:
		d.warnOnce("audio codec", fmt.Sprintf("audio with FLV codec id %d is not a codec Sluice takes (AAC, Opus, MP3); it is ignored", m.Codec))
	}
}

// videoConfig takes a sequence header: the parameter sets of H.264 (sps,
// pps) or H.265 (vps, sps, pps).
func (d *demuxer) videoConfig(codec live.Codec, avc, hevc [][]byte) {
	sets := avc
	if codec == live.H265 {
		sets = hevc
	}
	if len(sets) == 0 {
		d.warnOnce("empty sequence header", "a video sequence header without parameter sets was ignored")
		return
	}
	d.observe(codec, sets)
}

// observe follows the parameter sets, starting over when the codec changes.
func (d *demuxer) observe(codec live.Codec, nalus [][]byte) {
	if d.params.Codec != codec {
		d.params = live.VideoParams{Codec: codec}
		d.video = nil
	}
	if t, changed := d.params.Observe(nalus); changed {
		d.video = t
		d.tracksChanged()
	}
}

func (d *demuxer) videoAU(codec live.Codec, dts, pts time.Duration, payload []byte) {
	var au h264.AVCC
	if err := au.Unmarshal(payload); err != nil {
		if !errors.Is(err, h264.ErrAVCCNoNALUs) {
			d.warnOnce("bad access unit", "a malformed video frame was dropped: "+err.Error())
		}
		return
	}
	d.observe(codec, au)
	if !d.videoReady() {
		return // nothing can be decoded before the parameter sets
	}
	d.emit(live.Frame{Kind: live.Video, PTS: pts, DTS: dts, Key: live.IsKey(codec, au), NALUs: au})
}

func (d *demuxer) aacConfig(cfg *mpeg4audio.AudioSpecificConfig) {
	if cfg == nil {
		return
	}
	raw, err := cfg.Marshal()
	if err != nil || cfg.SampleRate <= 0 {
		d.warnOnce("aac config", "an unusable AAC configuration was ignored")
		return
	}
	if d.audio != nil && d.audio.Codec == live.AAC && bytes.Equal(d.audio.AACConfig, raw) {
		return
	}
	d.setAudio(&live.Track{Kind: live.Audio, Codec: live.AAC, SampleRate: cfg.SampleRate, Channels: aacChannels(cfg.ChannelConfig), AACConfig: raw})
}

func (d *demuxer) opusConfig(h *opus.IDHeader) {
	channels := 2
	if h != nil && h.ChannelCount > 0 {
		channels = int(h.ChannelCount)
	}
	if d.audio != nil && d.audio.Codec == live.Opus && d.audio.Channels == channels {
		return
	}
	d.setAudio(&live.Track{Kind: live.Audio, Codec: live.Opus, SampleRate: 48000, Channels: channels})
}

func (d *demuxer) mp3Frame(dts time.Duration, data []byte) {
	var h mpeg1audio.FrameHeader
	if err := h.Unmarshal(data); err != nil || h.SampleRate <= 0 {
		d.warnOnce("bad mp3", "a malformed MP3 frame was dropped")
		return
	}
	channels := 2
	if h.ChannelMode == mpeg1audio.ChannelModeMono {
		channels = 1
	}
	if d.audio == nil || d.audio.Codec != live.MP3 || d.audio.SampleRate != h.SampleRate || d.audio.Channels != channels {
		d.setAudio(&live.Track{Kind: live.Audio, Codec: live.MP3, SampleRate: h.SampleRate, Channels: channels})
	}
	d.audioFrame(live.MP3, dts, data)
}

func (d *demuxer) audioFrame(codec live.Codec, dts time.Duration, data []byte) {
	if d.audio == nil || d.audio.Codec != codec || len(data) == 0 {
		return // no configuration for this audio yet
	}
	d.emit(live.Frame{Kind: live.Audio, PTS: dts, DTS: dts, Key: true, Data: data})
}

func (d *demuxer) setAudio(t *live.Track) {
	d.audio = t
	d.tracksChanged()
}

// tracksChanged declares the tracks again once they were declared.
func (d *demuxer) tracksChanged() {
	if d.announced && d.videoReady() {
		d.out.SetTracks(d.tracks())
	}
}

func (d *demuxer) tracks() []*live.Track {
	tracks := []*live.Track{d.video}
	if d.audio != nil {
		tracks = append(tracks, d.audio)
	}
	return tracks
}

func (d *demuxer) emit(f live.Frame) {
	if d.announced {
		d.out.Write(f)
		return
	}
	if len(d.pending) >= maxPendingFrames || d.pendBytes+f.Size() > maxPendingBytes {
		return // maybeAnnounce decides now
	}
	d.pending = append(d.pending, f)
	d.pendBytes += f.Size()
}

// maybeAnnounce declares the tracks when enough is known: the video and
// either the audio, the metadata's word that there is none, or a second of
// media without its configuration. A stream without video is refused.
func (d *demuxer) maybeAnnounce() error {
	if d.announced {
		return nil
	}
	full := len(d.pending) >= maxPendingFrames || d.pendBytes >= maxPendingBytes
	span := d.pendingSpan()
	if !d.videoReady() {
		if full || span >= probeNoVideo {
			return live.ErrNoVideo
		}
		return nil
	}
	if d.audio == nil && d.metaAudio >= 0 && !full && span < probeMedia {
		return nil
	}
	d.out.SetTracks(d.tracks())
	d.announced = true
	for _, f := range d.pending {
		if f.Kind == live.Audio && (d.audio == nil) {
			continue
		}
		d.out.Write(f)
	}
	d.pending, d.pendBytes = nil, 0
	return nil
}

// maxPictureSide bounds a believable picture: hostile parameter sets can
// claim sizes no encoder makes (the SPS arithmetic wraps around).
const maxPictureSide = 16384

// videoReady reports whether the parameter sets describe a picture.
func (d *demuxer) videoReady() bool {
	return d.video != nil && d.video.Width > 0 && d.video.Height > 0 &&
		d.video.Width <= maxPictureSide && d.video.Height <= maxPictureSide
}

// pendingSpan is the media time the held frames cover.
func (d *demuxer) pendingSpan() time.Duration {
	if len(d.pending) < 2 {
		return 0
	}
	return max(d.pending[len(d.pending)-1].DTS-d.pending[0].DTS, 0)
}

// metadata reads onMetaData: whether audio follows.
func (d *demuxer) metadata(payload amf0.Data) {
	for i, v := range payload {
		if s, ok := v.(string); !ok || s != "onMetaData" || i+1 >= len(payload) {
			continue
		}
		obj, ok := objectOf(payload[i+1])
		if !ok {
			return
		}
		d.metaAudio = -1
		if v, ok := obj.Get("audiocodecid"); ok {
			if n, isNum := v.(float64); !isNum || n != 0 {
				d.metaAudio = 1
			}
		}
		return
	}
}

func (d *demuxer) warnOnce(key, text string) {
	if d.warned[key] || len(d.warned) > 32 {
		return
	}
	d.warned[key] = true
	d.warn(text)
}

// videoCodec maps an enhanced RTMP video FourCC to a codec Sluice takes.
func videoCodec(c message.FourCC) (live.Codec, error) {
	switch c {
	case message.FourCCAVC:
		return live.H264, nil
	case message.FourCCHEVC:
		return live.H265, nil
	}
	return "", fmt.Errorf("video in %s is not a codec Sluice takes (H.264, H.265)", fourCC(c))
}

func fourCC(c message.FourCC) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(c))
	for _, x := range b {
		if x < 0x20 || x > 0x7e {
			return fmt.Sprintf("0x%08x", uint32(c))
		}
	}
	return string(b)
}

// avcSets returns the SPS and PPS of an H.264 sequence header.
func avcSets(c *mp4.AVCDecoderConfiguration) [][]byte {
	if c == nil {
		return nil
	}
	var sets [][]byte
	for _, s := range c.SequenceParameterSets {
		if len(s.NALUnit) > 0 {
			sets = append(sets, s.NALUnit)
		}
	}
	for _, p := range c.PictureParameterSets {
		if len(p.NALUnit) > 0 {
			sets = append(sets, p.NALUnit)
		}
	}
	return sets
}

// hevcSets returns the VPS, SPS and PPS of an H.265 sequence header.
func hevcSets(c *mp4.HvcC) [][]byte {
	if c == nil {
		return nil
	}
	var sets [][]byte
	for _, typ := range []h265.NALUType{h265.NALUType_VPS_NUT, h265.NALUType_SPS_NUT, h265.NALUType_PPS_NUT} {
		for _, arr := range c.NaluArrays {
			if arr.NaluType != byte(typ) {
				continue
			}
			for _, n := range arr.Nalus {
				if len(n.NALUnit) > 0 {
					sets = append(sets, n.NALUnit)
				}
			}
		}
	}
	return sets
}

// signed24 reads an RTMP composition time offset, a signed 24-bit number
// of milliseconds that the message parser returns unsigned.
func signed24(d time.Duration) time.Duration {
	const bit23, wrap = 0x800000 * time.Millisecond, 0x1000000 * time.Millisecond
	if d >= bit23 {
		return d - wrap
	}
	return d
}

// wrapClock unwraps RTMP's 32-bit millisecond timestamps, which wrap
// after 49.7 days of publishing.
type wrapClock struct {
	last   time.Duration
	offset time.Duration
	seen   bool
}

func (c *wrapClock) unwrap(t time.Duration) time.Duration {
	const wrap = (1 << 32) * time.Millisecond
	t += c.offset
	if c.seen && t < c.last-wrap/2 {
		c.offset += wrap
		t += wrap
	}
	c.last, c.seen = t, true
	return t
}

// aacChannels maps an AAC channel configuration to a channel count
// (ISO 14496-3, table 1.19).
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	}
	return 2
}
