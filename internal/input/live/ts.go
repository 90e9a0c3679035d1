package live

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg1audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// ErrNoVideo says the stream carries no H.264 or H.265 video.
var ErrNoVideo = errors.New("the stream has no H.264 or H.265 video track")

// ReadTS demuxes an MPEG-TS byte stream (SRT, UDP, RTP, HTTP) into frames of
// the session, until r ends or fails. It takes the first H.264/H.265 track
// and the first AAC, Opus or MP3 track; other tracks are ignored and said
// so through onWarning. Malformed packets are skipped, not fatal.
func ReadTS(r io.Reader, s *Session, onWarning func(string)) error {
	if onWarning == nil {
		onWarning = func(string) {}
	}
	// The reader buffers everything until it has found the program; a
	// stream that never declares one must not grow that buffer forever.
	probe := &probeLimit{r: r, left: maxProbeBytes}
	rd := &mpegts.Reader{R: probe}
	if err := initReader(rd); err != nil {
		return fmt.Errorf("reading the MPEG-TS program: %w", err)
	}
	probe.done()
	d := &tsDemux{s: s, warn: onWarning}
	for _, t := range rd.Tracks() {
		d.attach(rd, t)
	}
	if d.video == nil {
		return ErrNoVideo
	}
	rd.OnDecodeError(func(err error) { d.decodeErrors++ })
	for {
		if err := rd.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// initReader guards against parsers that panic on hostile tables.
func initReader(rd *mpegts.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed MPEG-TS tables: %v", p)
		}
	}()
	return rd.Initialize()
}

// tsDemux turns the reader's callbacks into frames.
type tsDemux struct {
	s            *Session
	warn         func(string)
	video        *Track
	audio        *Track
	params       VideoParams
	videoTime    mpegts.TimeDecoder
	audioTime    mpegts.TimeDecoder
	announced    bool
	decodeErrors int
}

func (d *tsDemux) attach(rd *mpegts.Reader, t *mpegts.Track) {
	switch c := t.Codec.(type) {
	case *codecs.H264, *codecs.H265:
		if d.video != nil {
			return
		}
		codec := H264
		if _, ok := c.(*codecs.H265); ok {
			codec = H265
		}
		d.video = &Track{Kind: Video, Codec: codec}
		d.params.Codec = codec
		d.videoTime.Initialize()
		onVideo := func(pts, dts int64, au [][]byte) error {
			d.onVideo(pts, dts, au)
			return nil
		}
		if codec == H264 {
			rd.OnDataH264(t, onVideo)
		} else {
			rd.OnDataH265(t, onVideo)
		}
	case *codecs.MPEG4Audio:
		if d.audio != nil {
			return
		}
		cfg, err := c.Marshal()
		if err != nil {
			d.warn("AAC track with an unusable configuration: " + err.Error())
			return
		}
		d.audio = &Track{Kind: Audio, Codec: AAC, SampleRate: c.SampleRate, Channels: aacChannels(c.ChannelConfig), AACConfig: cfg}
		d.audioTime.Initialize()
		rate := c.SampleRate
		rd.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
			for i, au := range aus {
				d.onAudio(pts, time.Duration(i)*mpeg4audio.SamplesPerAccessUnit*time.Second/time.Duration(max(rate, 1)), au)
			}
			return nil
		})
	case *codecs.Opus:
		if d.audio != nil {
			return
		}
		d.audio = &Track{Kind: Audio, Codec: Opus, SampleRate: 48000, Channels: opusChannels(c)}
		d.audioTime.Initialize()
		rd.OnDataOpus(t, func(pts int64, packets [][]byte) error {
			var off time.Duration
			for _, p := range packets {
				d.onAudio(pts, off, p)
				off += time.Duration(opus.PacketDuration2(p)) * time.Second / 48000
			}
			return nil
		})
	case *codecs.MPEG1Audio:
		if d.audio != nil {
			return
		}
		d.audio = &Track{Kind: Audio, Codec: MP3}
		d.audioTime.Initialize()
		rd.OnDataMPEG1Audio(t, func(pts int64, frames [][]byte) error {
			var off time.Duration
			for _, f := range frames {
				var h mpeg1audio.FrameHeader
				if err := h.Unmarshal(f); err != nil || h.SampleRate == 0 {
					continue
				}
				if d.audio.SampleRate == 0 {
					// A new track, not an update: subscribers may hold the old one.
					chans := 2
					if h.ChannelMode == mpeg1audio.ChannelModeMono {
						chans = 1
					}
					d.audio = &Track{Kind: Audio, Codec: MP3, SampleRate: h.SampleRate, Channels: chans}
					if d.announced {
						d.announce()
					}
				}
				d.onAudio(pts, off, f)
				off += time.Duration(h.SampleCount()) * time.Second / time.Duration(h.SampleRate)
			}
			return nil
		})
	default:
		d.warn(fmt.Sprintf("track %d (%T) is not a codec Sluice takes; it is ignored", t.PID, t.Codec))
	}
}

func (d *tsDemux) onVideo(pts, dts int64, au [][]byte) {
	if t, changed := d.params.Observe(au); changed {
		d.video = t
		d.announced = false
	}
	if !d.announced {
		if !plausibleSize(d.video.Width, d.video.Height) {
			return // no parameter sets yet, or nonsense ones: nothing can be decoded
		}
		d.announce()
	}
	p := ticks90k(d.videoTime.Decode(pts))
	dd := ticks90k(d.videoTime.Decode(dts))
	d.s.Write(Frame{Kind: Video, PTS: p, DTS: dd, Key: IsKey(d.video.Codec, au), NALUs: au})
}

func (d *tsDemux) onAudio(pts int64, offset time.Duration, data []byte) {
	if !d.announced {
		return
	}
	p := ticks90k(d.audioTime.Decode(pts)) + offset
	d.s.Write(Frame{Kind: Audio, PTS: p, DTS: p, Key: true, Data: data})
}

func (d *tsDemux) announce() {
	tracks := []*Track{d.video}
	if d.audio != nil {
		tracks = append(tracks, d.audio)
	}
	d.s.SetTracks(tracks)
	d.announced = true
}

func ticks90k(t int64) time.Duration {
	return time.Duration(t) * time.Second / 90000
}

// aacChannels maps an AAC channel configuration to a channel count
// (ISO 14496-3, table 1.19); 0 means the count is in the stream itself.
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	}
	return 2
}

// opusChannels reads the channel count of an Opus track's descriptor.
func opusChannels(c *codecs.Opus) int {
	switch d := c.Desc; {
	case d == nil:
		return 2
	case d.ChannelConfigCode == 0x81:
		return max(d.ExplicitChannelCount, 1)
	case d.ChannelConfigCode >= 1 && d.ChannelConfigCode <= 8:
		return int(d.ChannelConfigCode)
	}
	return 2
}

// plausibleSize reports whether a picture size read from a parameter set
// can be real: hostile sets can make the arithmetic give 0 or billions.
func plausibleSize(w, h int) bool {
	return w >= 1 && w <= 16384 && h >= 1 && h <= 16384
}

// maxProbeBytes bounds what is read before the program is found.
const maxProbeBytes = 32 << 20

// probeLimit fails a read past its budget until done is called.
type probeLimit struct {
	r    io.Reader
	left int64
	off  bool
}

func (p *probeLimit) Read(b []byte) (int, error) {
	if p.off {
		return p.r.Read(b)
	}
	if p.left <= 0 {
		return 0, fmt.Errorf("no MPEG-TS program found in the first %d MiB", maxProbeBytes>>20)
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	return n, err
}

func (p *probeLimit) done() { p.off = true }
