package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	rcodecs "github.com/bluenviron/gortmplib/pkg/codecs"

	"github.com/sluice-video/sluice/internal/input/live"
)

// pullRTMP plays a stream from an RTMP(S) server.
func (a *attempt) pullRTMP() error {
	o := a.p.opts
	c := &gortmplib.Client{
		URL:         rtmpURL(a.p.src.url),
		TLSConfig:   o.tlsConfig,
		DialContext: o.policy.Dialer(o.connectTimeout).DialContext,
	}
	ictx, cancel := context.WithTimeout(a.ctx, o.connectTimeout)
	err := c.Initialize(ictx)
	timedOut := errors.Is(ictx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if timedOut {
			return fmt.Errorf("the RTMP handshake did not complete within %s", o.connectTimeout)
		}
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(a.ctx, c.Close)
	defer stop()
	nc := c.NetConn()
	// The reader looks at the first two seconds of media to find the tracks.
	_ = nc.SetReadDeadline(time.Now().Add(o.connectTimeout + o.readTimeout))
	r := &gortmplib.Reader{Conn: c}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("reading the stream's tracks: %w", rtmpError(err, o.readTimeout))
	}
	if err := a.rtmpTracks(r); err != nil {
		return err
	}
	if err := a.feed.claim(); err != nil {
		return err
	}
	for {
		_ = nc.SetReadDeadline(time.Now().Add(o.readTimeout))
		if err := r.Read(); err != nil {
			return rtmpError(err, o.readTimeout)
		}
	}
}

// rtmpError words the end of an RTMP connection.
func rtmpError(err error, idle time.Duration) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the server closed the connection", errEnded)
	case isTimeout(err):
		return &idleError{d: idle}
	}
	return err
}

// rtmpTracks takes the first H.264/H.265 track and the first AAC, Opus
// or MP3 track. Every other track gets a callback that drops its data:
// the reader fails on data of a track without one.
func (a *attempt) rtmpTracks(r *gortmplib.Reader) error {
	f := a.feed
	var video, audio bool
	for _, t := range r.Tracks() {
		warned := false
		switch codec := t.Codec.(type) {
		case *rcodecs.H264:
			if !video {
				video = true
				f.seedVideo(live.H264, codec.SPS, codec.PPS)
				r.OnDataH264(t, func(pts, dts time.Duration, au [][]byte) { f.writeVideo(live.H264, pts, dts, au) })
				continue
			}
		case *rcodecs.H265:
			if !video {
				video = true
				f.seedVideo(live.H265, codec.VPS, codec.SPS, codec.PPS)
				r.OnDataH265(t, func(pts, dts time.Duration, au [][]byte) { f.writeVideo(live.H265, pts, dts, au) })
				continue
			}
		case *rcodecs.MPEG4Audio:
			if !audio {
				tr, err := aacTrack(codec.Config)
				if err == nil {
					audio = true
					f.setAudio(tr)
					r.OnDataMPEG4Audio(t, func(pts time.Duration, au []byte) { f.writeAudio(pts, au) })
					continue
				}
				a.warn("aac", "ignoring the audio: "+err.Error())
				warned = true
			}
		case *rcodecs.Opus:
			if !audio {
				audio = true
				channels := 2
				if codec.IDHeader != nil {
					channels = int(codec.IDHeader.ChannelCount)
				}
				f.setAudio(opusTrack(channels))
				r.OnDataOpus(t, func(pts time.Duration, p []byte) { f.writeAudio(pts, p) })
				continue
			}
		case *rcodecs.MPEG1Audio:
			if !audio {
				audio = true
				f.expectAudio() // the sample rate comes with the first frame
				r.OnDataMPEG1Audio(t, func(pts time.Duration, frame []byte) { f.writeMP3(pts, frame) })
				continue
			}
		default:
			a.warn(fmt.Sprintf("codec %T", codec), fmt.Sprintf("ignoring a %s track: not a codec Sluice takes (H.264, H.265, AAC, Opus, MP3)", strings.TrimPrefix(fmt.Sprintf("%T", codec), "*codecs.")))
			warned = true
		}
		if !warned {
			a.warn("extra", "ignoring extra tracks: Sluice takes the first video and the first audio")
		}
		if t.Codec.IsVideo() {
			r.OnDataVP9(t, func(time.Duration, []byte) {})
		} else {
			r.OnDataAC3(t, func(time.Duration, []byte) {})
		}
	}
	if !video {
		return live.ErrNoVideo
	}
	return nil
}

// rtmpURL moves the stream name into the fragment, where the RTMP client
// expects it: rtmp://host/app/name plays "name" of application "app", as
// other RTMP clients read such URLs. A query belongs to the stream name
// (tokens of CDNs); a URL with a fragment already says it all.
func rtmpURL(u *url.URL) *url.URL {
	c := *u
	if c.Fragment != "" {
		return &c
	}
	p := strings.TrimPrefix(c.Path, "/")
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return &c
	}
	app, name := p[:i], p[i+1:]
	if c.RawQuery != "" {
		name += "?" + c.RawQuery
		c.RawQuery = ""
	}
	c.Path, c.RawPath = "/"+app, ""
	c.Fragment, c.RawFragment = name, ""
	return &c
}
