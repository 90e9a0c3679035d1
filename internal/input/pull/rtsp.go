package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/sluice-video/sluice/internal/input/live"
)

// pullRTSP plays a stream from an RTSP(S) server, interleaved over the
// RTSP connection (TCP) first: it crosses NATs and firewalls and loses
// nothing. A server that refuses TCP is asked again with UDP.
func (a *attempt) pullRTSP() error {
	tcp := gortsplib.ProtocolTCP
	err := a.rtspSession(&tcp)
	if refusesTransport(err) && a.feed.session() == nil && a.ctx.Err() == nil {
		a.p.log.Info(a.feed.prefix + "the server refuses RTSP over TCP; trying UDP")
		err = a.rtspSession(nil) // UDP, and TCP again if no packet comes
	}
	return rtspError(err, a.p.opts.readTimeout)
}

// refusesTransport reports a server's "461 Unsupported Transport".
func refusesTransport(err error) bool {
	var sc liberrors.ErrClientBadStatusCode
	return errors.As(err, &sc) && sc.Code == base.StatusUnsupportedTransport
}

// rtspSession makes one RTSP connection: DESCRIBE, SETUP of the chosen
// tracks, PLAY, then media until the connection ends.
func (a *attempt) rtspSession(proto *gortsplib.Protocol) error {
	o := a.p.opts
	u, err := base.ParseURL(a.p.src.raw)
	if err != nil {
		return err
	}
	c := &gortsplib.Client{
		Scheme:       u.Scheme,
		Host:         u.Host,
		Protocol:     proto,
		ReadTimeout:  o.readTimeout,
		WriteTimeout: o.connectTimeout,
		UserAgent:    "Sluice",
		TLSConfig:    o.tlsConfig,
		DialContext:  o.policy.Dialer(o.connectTimeout).DialContext,
		// Over UDP the server names where reports go (Transport source=):
		// they are sent only where the policy allows.
		ListenPacket: o.policy.ListenPacket,
		OnDecodeError: func(err error) {
			a.warn("decode", "skipping undecodable packets: "+a.p.src.secret.clean(err.Error()))
		},
		OnPacketsLost: func(lost uint64) {
			a.warn("lost", fmt.Sprintf("the network lost %d packets (reported once per connection)", lost))
		},
		OnTransportSwitch: func(err error) {
			a.p.log.Info(a.feed.prefix + "RTSP transport: " + err.Error())
		},
	}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(a.ctx, c.Close)
	defer stop()

	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	tracks, err := a.rtspTracks(desc)
	if err != nil {
		return err
	}
	for _, t := range tracks {
		if _, err := c.Setup(desc.BaseURL, t.media, 0, 0); err != nil {
			return err
		}
	}
	for _, t := range tracks {
		c.OnPacketRTP(t.media, t.format, func(pkt *rtp.Packet) { a.guard(func() { t.onPacket(c, pkt) }) })
	}
	if err := a.feed.claim(); err != nil {
		return err
	}
	if _, err := c.Play(nil); err != nil {
		return err
	}
	return c.Wait()
}

// rtspError words the end of an RTSP session.
func rtspError(err error, idle time.Duration) error {
	var (
		tcpIdle    liberrors.ErrClientTCPTimeout
		udpIdle    liberrors.ErrClientUDPTimeout
		reqTimeout liberrors.ErrClientRequestTimedOut
	)
	switch {
	case errors.As(err, &reqTimeout):
		return fmt.Errorf("the server did not answer within %s", idle)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the server closed the connection", errEnded)
	case errors.As(err, &tcpIdle), errors.As(err, &udpIdle):
		return fmt.Errorf("no media from the server for %s", idle)
	}
	return err
}

// rtspTracks picks the first H.264/H.265 media and the first AAC, Opus
// or MP3 media of the session description; the rest is not set up.
func (a *attempt) rtspTracks(desc *description.Session) ([]*rtspTrack, error) {
	var video, audio *rtspTrack
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			switch f.(type) {
			case *format.H264, *format.H265:
				if video == nil {
					t, err := newRTSPVideo(a, m, f)
					if err != nil {
						a.warn("video "+formatName(f), "ignoring a video track: "+err.Error())
						continue
					}
					video = t
					continue
				}
			case *format.MPEG4Audio, *format.MPEG4AudioLATM, *format.Opus, *format.MPEG1Audio:
				if audio == nil {
					t, err := newRTSPAudio(a, m, f)
					if err != nil {
						a.warn("audio "+formatName(f), "ignoring an audio track: "+err.Error())
						continue
					}
					audio = t
					continue
				}
			default:
				a.warn("codec "+formatName(f), fmt.Sprintf("ignoring a %s track: not a codec Sluice takes (H.264, H.265, AAC, Opus, MP3)", formatName(f)))
				continue
			}
			a.warn("extra", "ignoring extra tracks: Sluice takes the first video and the first audio")
		}
	}
	if video == nil {
		return nil, live.ErrNoVideo
	}
	tracks := []*rtspTrack{video}
	if audio != nil {
		tracks = append(tracks, audio)
	}
	return tracks, nil
}

// formatName names an RTSP format for messages ("H264", "MPEG4Audio").
func formatName(f format.Format) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", f), "*format.")
}
