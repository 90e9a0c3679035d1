package rtcpeer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Publisher is a WHIP session sending an H.264 Annex B file and an Opus
// Ogg file in a loop, in real time.
type Publisher struct {
	pc       *webrtc.PeerConnection
	client   *http.Client
	location string
	token    string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Media names the files a Publisher sends: H264 an Annex B stream at FPS
// frames a second, Opus an Ogg file of 20 ms packets (either may be "").
type Media struct {
	H264 string
	FPS  int
	Opus string
}

// Publish offers to send m to the WHIP endpoint at u with the bearer
// token, and starts sending once the answer is in.
func Publish(ctx context.Context, client *http.Client, u, token string, m Media) (*Publisher, error) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &Publisher{pc: pc, client: client, token: token}
	var video, audio *webrtc.TrackLocalStaticSample
	if m.H264 != "" {
		video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		}, "video", "publisher")
		if err == nil {
			_, err = pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		}
	}
	if err == nil && m.Opus != "" {
		audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "publisher")
		if err == nil {
			_, err = pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		}
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err = pc.SetLocalDescription(offer); err == nil {
			<-gathered
		}
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	answer, loc, err := post(ctx, client, u, token, pc.LocalDescription().SDP)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	p.location = resolve(u, loc)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		_ = pc.Close()
		return nil, err
	}
	sendCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if video != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			loop(sendCtx, func(ctx context.Context) error { return sendH264(ctx, video, m.H264, m.FPS) })
		}()
	}
	if audio != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			loop(sendCtx, func(ctx context.Context) error { return sendOpus(ctx, audio, m.Opus) })
		}()
	}
	return p, nil
}

// loop runs send again and again until ctx ends or it fails.
func loop(ctx context.Context, send func(context.Context) error) {
	for ctx.Err() == nil {
		if err := send(ctx); err != nil {
			return
		}
	}
}

func sendH264(ctx context.Context, t *webrtc.TrackLocalStaticSample, path string, fps int) error {
	f, err := os.Open(path) //nolint:gosec // a file the test made
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, err := h264reader.NewReader(f)
	if err != nil {
		return err
	}
	frame := time.Second / time.Duration(max(fps, 1))
	tick := time.NewTicker(frame)
	defer tick.Stop()
	var au []byte
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		au = append(append(au, 0, 0, 0, 1), nal.Data...)
		// A picture (slice) ends the access unit; parameter sets and SEI go with the next one.
		if nal.UnitType != h264reader.NalUnitTypeCodedSliceIdr && nal.UnitType != h264reader.NalUnitTypeCodedSliceNonIdr {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := t.WriteSample(media.Sample{Data: au, Duration: frame}); err != nil {
			return err
		}
		au = nil
	}
}

func sendOpus(ctx context.Context, t *webrtc.TrackLocalStaticSample, path string) error {
	f, err := os.Open(path) //nolint:gosec // a file the test made
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last uint64
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.GranulePosition == 0 || len(page) == 0 {
			continue // the Opus headers
		}
		d := time.Duration(hdr.GranulePosition-last) * time.Second / 48000 //nolint:gosec // granule positions of a file the test made only grow
		last = hdr.GranulePosition
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := t.WriteSample(media.Sample{Data: page, Duration: d}); err != nil {
			return err
		}
	}
}

// State is the peer connection's state.
func (p *Publisher) State() webrtc.PeerConnectionState { return p.pc.ConnectionState() }

// Location is the session's URL.
func (p *Publisher) Location() string { return p.location }

// Stop stops sending and closes the peer connection without telling the
// server, as a publisher that lost its network would.
func (p *Publisher) Stop() {
	p.cancel()
	p.wg.Wait()
	_ = p.pc.Close()
}

// Close ends the session with DELETE, then stops.
func (p *Publisher) Close(ctx context.Context) error {
	err := del(ctx, p.client, p.location, p.token)
	p.Stop()
	return err
}
