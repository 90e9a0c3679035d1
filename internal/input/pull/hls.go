package pull

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/sluice-video/sluice/internal/input/live"
)

// errHLSNoVideo explains the usual reason an HLS stream shows no video.
var errHLSNoVideo = fmt.Errorf("%w Sluice can read (H.265 is read from fMP4 segments only)", live.ErrNoVideo)

// hlsStartDistance is how many segments behind the live edge pulling starts.
const hlsStartDistance = 3

// pullHLS follows an HLS playlist (live or VOD; MPEG-TS or fMP4 segments)
// with the HLS client, which picks the variant of highest bandwidth and
// delivers samples at the pace of the wall clock, as a live source would.
// A VOD playlist ends the session when it has played out.
func (a *attempt) pullHLS() error {
	hc := newHTTPClient(a.p.opts, a.p.opts.requestTimeout)
	defer hc.close()
	var (
		onTracksErr error
		started     atomic.Bool
		samples     atomic.Int64 // when a sample last came (Unix nanoseconds)
	)
	// The HLS client parses in goroutines of its own: what would make its
	// parsers panic is refused before it sees it.
	guard := &guardTransport{base: hc.Transport, started: started.Load}
	hc.Transport = guard
	fetching := func(what string, d download) func(string) {
		return func(u string) {
			guard.expect(u, d)
			a.p.log.Debug(a.feed.prefix+"downloading "+what, "from", a.p.src.secret.clean(u))
		}
	}
	c := &gohlslib.Client{
		URI:                       a.p.src.raw,
		StartDistance:             hlsStartDistance,
		HTTPClient:                hc.Client,
		OnDownloadPrimaryPlaylist: fetching("the playlist", download{playlist: true, limit: maxHLSPlaylist}),
		OnDownloadStreamPlaylist:  fetching("a media playlist", download{playlist: true, limit: maxHLSPlaylist}),
		OnDownloadSegment:         fetching("a segment", download{limit: maxHLSSegment}),
		OnDownloadPart:            fetching("a part", download{limit: maxHLSPart}),
		OnDecodeError: func(err error) {
			a.warn("decode", "skipping undecodable data: "+a.p.src.secret.clean(err.Error()))
		},
	}
	sampled := func() { samples.Store(time.Now().UnixNano()) }
	c.OnTracks = func(tracks []*gohlslib.Track) error {
		a.guard(func() { onTracksErr = a.hlsTracks(c, tracks, sampled) })
		if onTracksErr == nil && a.ctx.Err() != nil {
			onTracksErr = errStopped
		}
		started.Store(onTracksErr == nil)
		return onTracksErr
	}
	if err := c.Start(); err != nil {
		return err
	}
	stop := context.AfterFunc(a.ctx, c.Close)
	defer stop()
	stalled := a.watchHLS(c, func() time.Duration {
		return min(hc.idleFor(), time.Duration(time.Now().UnixNano()-samples.Load()))
	})
	err := c.Wait2()
	c.Close()
	switch {
	case errors.Is(err, gohlslib.ErrClientEOS):
		return fmt.Errorf("%w: the playlist has played out", errEnded)
	case onTracksErr != nil:
		return onTracksErr
	case stalled.Load():
		return hlsStall(guard, hc, started.Load(), a.p.opts.readTimeout)
	case err != nil && strings.HasPrefix(err.Error(), "bad status code") && hc.status() != nil:
		return hc.status()
	}
	return err
}

// watchHLS closes the HLS client when neither downloads nor samples
// progress for the read timeout. Besides bounding a stalled server, this
// unblocks the client, which waits forever when its first segment cannot
// be had (a live playlist too short to start from, a missing segment).
func (a *attempt) watchHLS(c *gohlslib.Client, idle func() time.Duration) *atomic.Bool {
	var stalled atomic.Bool
	limit := a.p.opts.readTimeout
	go func() {
		tick := time.NewTicker(max(limit/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-a.ctx.Done():
				return
			case <-tick.C:
				if idle() > limit {
					stalled.Store(true)
					c.Close()
					return
				}
			}
		}
	}()
	return &stalled
}

// hlsStall explains an HLS stream that stopped making progress.
func hlsStall(guard *guardTransport, hc *httpClient, started bool, limit time.Duration) error {
	if live, n, ok := guard.lastMedia(); !started && ok && live && n < hlsStartDistance {
		return errShortPlaylist(n)
	}
	if st := hc.status(); st != nil {
		return fmt.Errorf("a download failed: %w", st)
	}
	return fmt.Errorf("the HLS stream stalled: no segment and no media for %s", limit)
}

// hlsTracks picks the first H.264/H.265 track and the first AAC or Opus
// track, and claims the hub.
func (a *attempt) hlsTracks(c *gohlslib.Client, tracks []*gohlslib.Track, sampled func()) error {
	var video, audio *gohlslib.Track
	for _, t := range tracks {
		if t.ClockRate <= 0 {
			return fmt.Errorf("the HLS stream has a track with clock rate %d", t.ClockRate)
		}
		switch codec := t.Codec.(type) {
		case *codecs.H264, *codecs.H265:
			if video == nil {
				video = t
				continue
			}
		case *codecs.MPEG4Audio, *codecs.Opus:
			if audio == nil {
				audio = t
				continue
			}
		case nil:
			// The HLS client would fail on its samples.
			return errors.New("the HLS stream has a track in a codec that cannot be read from its segments (such as AC-3 or MP3 in fMP4)")
		default:
			a.warn(fmt.Sprintf("codec %T", codec), fmt.Sprintf("ignoring a %s track: not a codec Sluice takes (H.264, H.265, AAC, Opus)", codecName(codec)))
			continue
		}
		a.warn(fmt.Sprintf("extra %T", t.Codec), fmt.Sprintf("ignoring an extra %s track: Sluice takes the first video and the first audio", codecName(t.Codec)))
	}
	if video == nil {
		return errHLSNoVideo
	}
	a.hlsVideo(c, video, sampled)
	if audio != nil {
		if err := a.hlsAudio(c, audio); err != nil {
			a.warn("audio", "ignoring the audio: "+err.Error())
		}
	}
	return a.feed.claim()
}

func (a *attempt) hlsVideo(c *gohlslib.Client, t *gohlslib.Track, sampled func()) {
	codec := live.H264
	switch v := t.Codec.(type) {
	case *codecs.H264:
		a.feed.seedVideo(codec, v.SPS, v.PPS)
	case *codecs.H265:
		codec = live.H265
		a.feed.seedVideo(codec, v.VPS, v.SPS, v.PPS)
	}
	rate := t.ClockRate
	c.OnDataH26x(t, func(pts, dts int64, au [][]byte) {
		sampled()
		a.guard(func() { a.feed.writeVideo(codec, ticks(pts, rate), ticks(dts, rate), au) })
	})
}

func (a *attempt) hlsAudio(c *gohlslib.Client, t *gohlslib.Track) error {
	rate := t.ClockRate
	switch v := t.Codec.(type) {
	case *codecs.MPEG4Audio:
		tr, err := aacTrack(&v.Config)
		if err != nil {
			return err
		}
		a.feed.setAudio(tr)
		perAU := ticks(mpeg4audio.SamplesPerAccessUnit, tr.SampleRate)
		c.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) {
			a.guard(func() {
				for i, au := range aus {
					a.feed.writeAudio(ticks(pts, rate)+perAU*time.Duration(i), au)
				}
			})
		})
	case *codecs.Opus:
		a.feed.setAudio(opusTrack(v.ChannelCount))
		c.OnDataOpus(t, func(pts int64, packets [][]byte) {
			a.guard(func() {
				at := ticks(pts, rate)
				for _, p := range packets {
					a.feed.writeAudio(at, p)
					at += ticks(opus.PacketDuration2(p), 48000)
				}
			})
		})
	}
	return nil
}

// codecName names a codec of the HLS client for messages.
func codecName(c codecs.Codec) string {
	n := fmt.Sprintf("%T", c)
	return strings.TrimPrefix(n, "*codecs.")
}
