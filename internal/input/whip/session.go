package whip

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/rtc"
)

// session is one publisher.
type session struct {
	srv    *Server
	id     string
	key    string
	hub    *live.Hub
	live   *live.Session
	pc     *webrtc.PeerConnection
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	start  time.Time

	mu        sync.Mutex
	closing   bool
	connected bool
	lastMedia time.Time
	audio     *live.Track // announced with the video once its size is known
	params    live.VideoParams
	announced bool
}

// start claims the input's hub and negotiates the session.
func (s *Server) start(id string, hub *live.Hub, remote string, offer rtc.Offer, sdp string) (*session, string, error) {
	ls, err := hub.Claim(live.Publisher{Protocol: Protocol, Remote: remote})
	if err != nil {
		return nil, "", err
	}
	peer, err := s.cfg.Engine.NewPeerConnection(nil)
	if err != nil {
		ls.Close("the WebRTC session could not start")
		return nil, "", err
	}
	pc := peer.PeerConnection
	ss := &session{srv: s, id: id, hub: hub, live: ls, pc: pc, remote: remote, start: time.Now(), params: live.VideoParams{Codec: live.H264}}
	if cfg, ok := s.cfg.Registry.Config(hub.Name()); ok {
		ss.key = cfg.StreamKey
	}
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	if offer.Audio > 0 && offer.Opus {
		ss.audio = &live.Track{Kind: live.Audio, Codec: live.Opus, SampleRate: 48000, Channels: 2}
	}
	fail := func(err error) (*session, string, error) {
		ss.cancel()
		_ = pc.Close()
		ls.Close("the WebRTC session could not start")
		return nil, "", err
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail(err)
		}
	}
	pc.OnTrack(ss.onTrack)
	pc.OnConnectionStateChange(ss.onState)
	answer, err := rtc.Answer(pc, sdp, time.Second)
	if err != nil {
		return fail(err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ss.run()
	}()
	s.cfg.Logger.Info("WHIP publisher connecting", "input", hub.Name(), "remote", remote)
	return ss, answer, nil
}

func (ss *session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		ss.mu.Lock()
		ss.connected = true
		ss.lastMedia = time.Now()
		ss.mu.Unlock()
	case webrtc.PeerConnectionStateFailed:
		go ss.Close("the connection to the publisher failed")
	case webrtc.PeerConnectionStateClosed:
		go ss.Close("the connection was closed")
	}
}

// Close ends the session: the hub's session, the peer connection, the
// goroutines.
func (ss *session) Close(reason string) {
	ss.once.Do(func() {
		ss.mu.Lock()
		ss.closing = true
		ss.mu.Unlock()
		ss.cancel()
		_ = ss.pc.Close()
		ss.wg.Wait()
		ss.live.Close(reason)
		ss.srv.sessions.Remove(ss.id)
		ss.srv.cfg.Logger.Info("WHIP publisher disconnected", "input", ss.hub.Name(), "remote", ss.remote, "reason", reason)
	})
}

// run watches the session: connected in time, media flowing, not ended
// from outside (a key rotated, a security group changed, the input
// deleted).
func (ss *session) run() {
	reason := "the session ended"
	defer func() { ss.Close(reason) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ss.ctx.Done():
			return
		case <-ss.live.Done():
			reason = "Sluice ended the session: " + ss.hub.Status().LastEndReason
			return
		case now := <-tick.C:
			ss.mu.Lock()
			connected, last := ss.connected, ss.lastMedia
			ss.mu.Unlock()
			switch {
			case !connected && now.Sub(ss.start) > ss.srv.cfg.ConnectTimeout:
				reason = fmt.Sprintf("the publisher did not connect within %s", ss.srv.cfg.ConnectTimeout)
				return
			case connected && now.Sub(last) > ss.srv.cfg.ReadTimeout:
				reason = fmt.Sprintf("no media from the publisher for %s", ss.srv.cfg.ReadTimeout)
				return
			}
		}
	}
}

// onTrack reads one of the publisher's tracks until the session ends.
func (ss *session) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	ss.mu.Lock()
	if ss.closing {
		ss.mu.Unlock()
		return
	}
	ss.wg.Add(1)
	ss.mu.Unlock()
	defer ss.wg.Done()
	switch t.Codec().MimeType {
	case webrtc.MimeTypeH264:
		ss.readVideo(t)
	case webrtc.MimeTypeOpus:
		ss.readAudio(t)
	}
}

// clock turns a track's RTP timestamps into times since the session
// began: the first packet is placed at its arrival, the rest follow their
// timestamps (unwrapped).
type clock struct {
	rate    int64
	started bool
	first   uint32
	cycles  int64
	last    uint32
	offset  time.Duration
}

func (c *clock) at(ts uint32, arrival time.Duration) time.Duration {
	if !c.started {
		c.started, c.first, c.last, c.offset = true, ts, ts, arrival
	}
	if ts < c.last && c.last-ts > 1<<31 {
		c.cycles++
	} else if ts > c.last && ts-c.last > 1<<31 {
		c.cycles-- // a late packet from before a wrap
	}
	c.last = ts
	ticks := c.cycles<<32 + int64(ts) - int64(c.first)
	return c.offset + time.Duration(ticks*int64(time.Second)/c.rate)
}

// readVideo turns H.264 RTP into access units on the hub, asking for a
// key frame until one comes and whenever the picture breaks.
func (ss *session) readVideo(t *webrtc.TrackRemote) {
	sb := samplebuilder.New(256, &codecs.H264Packet{}, 90000, samplebuilder.WithMaxTimeDelay(500*time.Millisecond))
	clk := &clock{rate: 90000}
	var lastPLI time.Time
	gotKey := false
	pli := func() {
		if time.Since(lastPLI) < time.Second {
			return
		}
		lastPLI = time.Now()
		_ = ss.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
	}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		ss.touch()
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			if smp.PrevDroppedPackets > 0 {
				gotKey = false
			}
			var au h264.AnnexB
			if err := au.Unmarshal(smp.Data); err != nil || len(au) == 0 {
				pli()
				continue
			}
			key := h264.IsRandomAccess(au)
			if !key && !gotKey {
				pli()
				continue
			}
			gotKey = true
			pts := clk.at(smp.PacketTimestamp, time.Since(ss.start))
			ss.video(pts, au, key)
		}
	}
}

// video publishes an access unit once the picture size is known.
func (ss *session) video(pts time.Duration, au [][]byte, key bool) {
	ss.mu.Lock()
	tr, changed := ss.params.Observe(au)
	if changed || !ss.announced {
		if tr == nil {
			tr = ss.params.Track()
		}
		if tr.Width == 0 {
			ss.mu.Unlock()
			return // no parameter sets yet
		}
		tracks := []*live.Track{tr}
		if ss.audio != nil {
			tracks = append(tracks, ss.audio)
		}
		ss.live.SetTracks(tracks)
		ss.announced = true
	}
	ss.mu.Unlock()
	ss.live.Write(live.Frame{Kind: live.Video, PTS: pts, DTS: pts, Key: key, NALUs: au})
}

// readAudio publishes each Opus packet as a frame.
func (ss *session) readAudio(t *webrtc.TrackRemote) {
	clk := &clock{rate: 48000}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		ss.touch()
		if len(pkt.Payload) == 0 {
			continue
		}
		pts := clk.at(pkt.Timestamp, time.Since(ss.start))
		ss.mu.Lock()
		ok := ss.announced
		ss.mu.Unlock()
		if ok {
			ss.live.Write(live.Frame{Kind: live.Audio, PTS: pts, DTS: pts, Key: true, Data: payload(pkt)})
		}
	}
}

func payload(p *rtp.Packet) []byte { return append([]byte(nil), p.Payload...) }

func (ss *session) touch() {
	ss.mu.Lock()
	ss.lastMedia = time.Now()
	ss.mu.Unlock()
}
