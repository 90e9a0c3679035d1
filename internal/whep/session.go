package whep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/rtc"
)

// Info describes a session, with its figures so far.
type Info struct {
	// ID names the session in lists, events and logs. It is not the last
	// element of the session's URL, which lets its holder end the
	// session, and which only the viewer is told.
	ID       string    `json:"id"`
	Channel  string    `json:"channel"`
	Endpoint string    `json:"endpoint"`
	Remote   string    `json:"remote"`
	Started  time.Time `json:"started"`
	// State is the peer connection's state; Layer the rung being sent.
	State string `json:"state"`
	Layer string `json:"layer"`
	// EstimateBps is the bandwidth estimate that chooses the layer.
	EstimateBps int64 `json:"estimateBps"`
	Stats
}

// Stats are a session's figures: what it sent and what the viewer said.
type Stats struct {
	BytesSent   uint64  `json:"bytesSent"`
	PacketsSent uint64  `json:"packetsSent"`
	PacketsLost int64   `json:"packetsLost"`
	NACKs       uint64  `json:"nacks"`
	RTT         float64 `json:"rttSeconds"`
	// Frames is the video frames sent; Dropped those the session could
	// not send because it fell behind.
	Frames  uint64 `json:"frames"`
	Dropped uint64 `json:"droppedFrames"`
}

// minus returns the growth of the counters since before.
func (s Stats) minus(before Stats) Stats {
	return Stats{
		BytesSent: s.BytesSent - before.BytesSent, PacketsSent: s.PacketsSent - before.PacketsSent,
		PacketsLost: s.PacketsLost - before.PacketsLost, NACKs: s.NACKs - before.NACKs,
		RTT: s.RTT, Frames: s.Frames - before.Frames, Dropped: s.Dropped - before.Dropped,
	}
}

// session is one viewer.
type session struct {
	srv *Server
	// key is the last element of the session's URL.
	key    string
	pc     *webrtc.PeerConnection
	video  *webrtc.TrackLocalStaticRTP
	audio  *webrtc.TrackLocalStaticRTP
	bwe    cc.BandwidthEstimator
	src    Source
	pinned int
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	// stats are the statistics of the session's RTP streams, by SSRC.
	stats stats.Getter

	mu        sync.Mutex
	inf       Info
	reported  Stats
	connected bool
	// streams are the SSRCs sent, each with its statistics as last read
	// (kept once the stream is gone, when the session closes).
	streams map[uint32]stats.Stats
}

// statsInterval is how often a session reads its peer connection's
// statistics into the metrics.
const statsInterval = 2 * time.Second

// start negotiates a session and starts its goroutines.
func (s *Server) start(key string, info Info, src Source, offer rtc.Offer, sdp string, pinned int) (*session, string, error) {
	estimators := make(chan cc.BandwidthEstimator, 1)
	top := src.Layers[0].Bitrate
	if top <= 0 {
		top = unknownLayerBitrate // a passthrough rung: the publisher's rate
	}
	maxRate := int(top)*2 + 256_000
	peer, err := s.cfg.Engine.NewPeerConnection(func(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
		f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(s.cfg.InitialBitrate),
				gcc.SendSideBWEMinBitrate(100_000), gcc.SendSideBWEMaxBitrate(maxRate),
				gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
		})
		if err != nil {
			return err
		}
		f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { estimators <- e })
		reg.Add(f)
		return webrtc.ConfigureTWCCHeaderExtensionSender(m, reg)
	})
	if err != nil {
		return nil, "", err
	}
	pc := peer.PeerConnection
	ss := &session{srv: s, key: key, pc: pc, stats: peer.Stats, src: src, pinned: pinned, inf: info, streams: map[uint32]stats.Stats{}}
	select {
	case ss.bwe = <-estimators:
	default:
	}
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	if offer.Video > 0 {
		if ss.video, err = webrtc.NewTrackLocalStaticRTP(rtc.VideoCapability(), "video", "sluice"); err == nil {
			err = ss.addTrack(ss.video)
		}
	}
	if err == nil && offer.Audio > 0 {
		if ss.audio, err = webrtc.NewTrackLocalStaticRTP(rtc.AudioCapability(), "audio", "sluice"); err == nil {
			err = ss.addTrack(ss.audio)
		}
	}
	if err != nil {
		ss.cancel()
		_ = pc.Close()
		return nil, "", err
	}
	pc.OnConnectionStateChange(ss.onState)
	answer, err := rtc.Answer(pc, sdp, time.Second)
	if err != nil {
		ss.cancel()
		_ = pc.Close()
		return nil, "", err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ss.run()
	}()
	s.cfg.Observer.SessionStarted(info)
	return ss, answer, nil
}

// addTrack sends a track and reads the viewer's RTCP for it, which the
// interceptors (NACK, reports, bandwidth estimation) need.
func (ss *session) addTrack(t webrtc.TrackLocal) error {
	sender, err := ss.pc.AddTrack(t)
	if err != nil {
		return err
	}
	for _, enc := range sender.GetParameters().Encodings {
		ss.streams[uint32(enc.SSRC)] = stats.Stats{}
	}
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

func (ss *session) onState(st webrtc.PeerConnectionState) {
	ss.mu.Lock()
	ss.inf.State = st.String()
	if st == webrtc.PeerConnectionStateConnected {
		ss.connected = true
	}
	ss.mu.Unlock()
	switch st {
	case webrtc.PeerConnectionStateFailed:
		go ss.Close("the connection to the viewer failed")
	case webrtc.PeerConnectionStateClosed:
		go ss.Close("the connection was closed")
	}
}

// Close ends the session: its goroutines stop, the peer connection
// closes, its place is freed.
func (ss *session) Close(reason string) {
	ss.once.Do(func() {
		ss.cancel()
		_ = ss.pc.Close()
		ss.wg.Wait()
		ss.srv.sessions.Remove(ss.key)
		ss.report()
		ss.srv.cfg.Observer.SessionEnded(ss.info(), reason)
	})
}

func (ss *session) info() Info {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	inf := ss.inf
	if ss.bwe != nil {
		inf.EstimateBps = int64(ss.bwe.GetTargetBitrate())
	}
	return inf
}

// run feeds the tracks until the session ends; it ends the session when
// the viewer does not connect in time.
func (ss *session) run() {
	defer ss.Close("the session ended")
	if ss.audio != nil && ss.src.Audio != "" {
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			ss.sendAudio()
		}()
	}
	if ss.video != nil {
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			ss.sendVideo()
		}()
	}
	connect := time.NewTimer(ss.srv.cfg.ConnectTimeout)
	defer connect.Stop()
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		select {
		case <-ss.ctx.Done():
			return
		case <-connect.C:
			ss.mu.Lock()
			ok := ss.connected
			ss.mu.Unlock()
			if !ok {
				ss.srv.cfg.Logger.Info("a WebRTC viewer did not connect in time", "channel", ss.inf.Channel, "remote", ss.inf.Remote)
				return
			}
		case <-tick.C:
			ss.report()
		}
	}
}

// report reads the statistics of the session's streams and hands their
// growth to the observer.
func (ss *session) report() {
	var st Stats
	ss.mu.Lock()
	for ssrc, last := range ss.streams {
		if cur := ss.stats.Get(ssrc); cur != nil {
			last = *cur
			ss.streams[ssrc] = last
		}
		out, remote := last.OutboundRTPStreamStats, last.RemoteInboundRTPStreamStats
		st.BytesSent += out.BytesSent
		st.PacketsSent += out.PacketsSent
		st.NACKs += uint64(out.NACKCount)
		st.PacketsLost += remote.PacketsLost
		st.RTT = max(st.RTT, remote.RoundTripTime.Seconds())
	}
	st.Frames, st.Dropped = ss.inf.Frames, ss.inf.Dropped
	d := st.minus(ss.reported)
	ss.reported = st
	ss.inf.Stats = st
	ss.mu.Unlock()
	ss.srv.cfg.Observer.SessionStats(ss.inf.Channel, ss.inf.Endpoint, d)
}

// lossFraction is the share of packets the viewer reported lost since the
// last decision.
func (ss *session) lossFraction(prev *Stats) float64 {
	ss.mu.Lock()
	cur := ss.inf.Stats
	ss.mu.Unlock()
	d := cur.minus(*prev)
	*prev = cur
	if d.PacketsSent == 0 || d.PacketsLost <= 0 {
		return 0
	}
	return float64(d.PacketsLost) / float64(d.PacketsSent)
}

// sample is one sample of a layer, as the pumps hand them over.
type sample struct {
	layer int
	scale uint32
	output.Sample
}

// pump reads one rendition from the tap as samples into out until ctx
// ends, joining each new encoder run at a key frame; a reader that falls
// behind joins again at the next key frame.
func pump(ctx context.Context, hub *output.Hub, rendition string, layer int, out chan<- sample) error {
	for {
		sub, err := hub.Subscribe(ctx, rendition, true)
		if err != nil {
			return err
		}
		err = pumpRun(ctx, sub, rendition, layer, out)
		sub.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, output.ErrBehind) {
			continue
		}
		return err
	}
}

// errReordered says a rendition's frames are not presented in the order
// they are sent (it has B-frames): WebRTC decoders take frames in
// presentation order only, so it cannot be a layer. Encoded rungs of a
// channel with a WEBRTC endpoint have none; a passthrough rung has what
// its publisher sends.
var errReordered = errors.New("its frames are presented out of decoding order (B-frames), which WebRTC cannot carry")

func pumpRun(ctx context.Context, sub *output.Sub, rendition string, layer int, out chan<- sample) error {
	ri := sub.Run()
	tr, err := output.ReadTrack(ri.Init)
	if err != nil {
		return fmt.Errorf("rendition init segment: %w", err)
	}
	var last int64
	seen := false
	for {
		f, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		smps, err := tr.Samples(f.Data)
		if err != nil {
			return err
		}
		for _, s := range smps {
			if seen && s.PTS < last {
				return fmt.Errorf("rendition %s: %w", rendition, errReordered)
			}
			last, seen = s.PTS, true
			select {
			case out <- sample{layer: layer, scale: tr.Timescale, Sample: s}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// sendAudio sends the Opus rendition.
func (ss *session) sendAudio() {
	in := make(chan sample, 64)
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		_ = pump(ss.ctx, ss.src.Hub, ss.src.Audio, 0, in)
	}()
	p := newPacketizer(audioKind, 48000)
	for {
		select {
		case <-ss.ctx.Done():
			return
		case s := <-in:
			for _, pkt := range p.packets(s) {
				if err := ss.audio.WriteRTP(pkt); err != nil && errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
		}
	}
}
