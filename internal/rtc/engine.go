// Package rtc is what Sluice's WebRTC playback (WHEP) and ingest (WHIP)
// share: the ICE transports (one muxed UDP port or a port range, ICE-TCP),
// the addresses advertised to peers, the codecs, the defensive reading of
// the SDP and trickle-ICE fragments clients send, and the table of live
// sessions with its bounds and timeouts.
package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Config is the WebRTC networking of a server.
type Config struct {
	// UDP is the address of the one UDP port every session shares
	// (":8189"); empty uses a port per session from UDPPortMin–UDPPortMax
	// (any port when both are zero).
	UDP                    string
	UDPPortMin, UDPPortMax uint16
	// TCP, when set, is the address of the ICE-TCP port (passive
	// candidates), for viewers whose networks drop UDP.
	TCP string
	// PublicHosts are the addresses put in host candidates instead of the
	// machine's own (the address a NAT or load balancer forwards, or a
	// name that resolves to it); empty advertises the local addresses.
	PublicHosts []string
	// STUN lists stun: URLs for server-reflexive candidates and for
	// browsers (given to them in Link headers).
	STUN []string
	// DisconnectedTimeout is how long a session may go without ICE
	// traffic before it counts as disconnected; FailedTimeout after that
	// ends it. Defaults 5 s and 25 s: 30 s in all, when consent expires
	// (RFC 7675), so a peer that a busy machine answers late is kept.
	DisconnectedTimeout, FailedTimeout time.Duration
	Logger                             *slog.Logger
}

// Engine holds the sockets WebRTC sessions share and makes the pion API
// objects of new sessions. Start opens the sockets, Close closes them.
type Engine struct {
	cfg Config

	mu     sync.Mutex
	udp    net.PacketConn
	udpMux ice.UDPMux
	tcp    net.Listener
	tcpMux ice.TCPMux
	nat    []string
}

// NewEngine returns an engine for cfg; nothing is opened until Start.
func NewEngine(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DisconnectedTimeout <= 0 {
		cfg.DisconnectedTimeout = 5 * time.Second
	}
	if cfg.FailedTimeout <= 0 {
		cfg.FailedTimeout = 25 * time.Second
	}
	return &Engine{cfg: cfg}
}

// Start opens the shared UDP and TCP ports and resolves the public hosts.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	// A public host that does not resolve (yet) leaves the local
	// addresses in the candidates: viewers on the same network still
	// connect, and the log says why others may not.
	nat, err := resolveHosts(ctx, e.cfg.PublicHosts)
	if err != nil {
		e.cfg.Logger.Warn("WebRTC candidates carry this machine's own addresses: "+err.Error(), "public_hosts", e.cfg.PublicHosts)
	}
	e.nat = nat
	lf := pionLogger(e.cfg.Logger)
	if e.cfg.UDP != "" {
		conn, err := net.ListenPacket("udp", e.cfg.UDP)
		if err != nil {
			return fmt.Errorf("WebRTC UDP port %s: %w (pass --webrtc-udp with another address)", e.cfg.UDP, err)
		}
		e.udp = conn
		e.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: lf.NewLogger("udpmux")})
		e.cfg.Logger.Info("WebRTC UDP port listening", "address", conn.LocalAddr().String())
	}
	if e.cfg.TCP != "" {
		ln, err := net.Listen("tcp", e.cfg.TCP)
		if err != nil {
			e.closeLocked()
			return fmt.Errorf("WebRTC ICE-TCP port %s: %w (pass --webrtc-tcp with another address)", e.cfg.TCP, err)
		}
		e.tcp = ln
		e.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, ReadBufferSize: 32, Logger: lf.NewLogger("tcpmux")})
		e.cfg.Logger.Info("WebRTC ICE-TCP port listening", "address", ln.Addr().String())
	}
	return nil
}

// Close closes the shared ports; sessions still open lose their transport.
func (e *Engine) Close(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeLocked()
	return nil
}

func (e *Engine) closeLocked() {
	if e.udpMux != nil {
		_ = e.udpMux.Close()
		e.udpMux = nil
	}
	if e.udp != nil {
		_ = e.udp.Close()
		e.udp = nil
	}
	if e.tcpMux != nil {
		_ = e.tcpMux.Close()
		e.tcpMux = nil
	}
	if e.tcp != nil {
		_ = e.tcp.Close()
		e.tcp = nil
	}
}

// UDPAddr returns the bound address of the shared UDP port, or nil.
func (e *Engine) UDPAddr() net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.udp == nil {
		return nil
	}
	return e.udp.LocalAddr()
}

// TCPAddr returns the bound address of the ICE-TCP port, or nil.
func (e *Engine) TCPAddr() net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tcp == nil {
		return nil
	}
	return e.tcp.Addr()
}

// ICEServers are the STUN servers a session (and a browser) uses.
func (e *Engine) ICEServers() []webrtc.ICEServer {
	if len(e.cfg.STUN) == 0 {
		return nil
	}
	return []webrtc.ICEServer{{URLs: e.cfg.STUN}}
}

// Interceptors adds a session's own interceptors (a bandwidth estimator)
// to the defaults: NACK, RTCP reports, TWCC, stats.
type Interceptors func(m *webrtc.MediaEngine, r *interceptor.Registry) error

// Peer is a peer connection with the statistics of its RTP streams, by
// SSRC: what was sent and what the other side reported (pion's GetStats
// lists only what is received).
type Peer struct {
	*webrtc.PeerConnection
	Stats stats.Getter
}

// NewPeerConnection makes a peer connection on the shared transports,
// with Sluice's codecs (H.264 packetization mode 1, Opus) and the default
// interceptors plus extra.
func (e *Engine) NewPeerConnection(extra Interceptors) (Peer, error) {
	m := &webrtc.MediaEngine{}
	if err := RegisterCodecs(m); err != nil {
		return Peer{}, err
	}
	reg := &interceptor.Registry{}
	getters := make(chan stats.Getter, 1)
	if err := e.defaultInterceptors(m, reg, getters); err != nil {
		return Peer{}, err
	}
	if extra != nil {
		if err := extra(m, reg); err != nil {
			return Peer{}, err
		}
	}
	s := webrtc.SettingEngine{}
	s.LoggerFactory = pionLogger(e.cfg.Logger)
	s.SetIncludeLoopbackCandidate(true)
	s.SetICETimeouts(e.cfg.DisconnectedTimeout, e.cfg.FailedTimeout, 2*time.Second)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	e.mu.Lock()
	if e.udpMux != nil {
		s.SetICEUDPMux(e.udpMux)
	} else if e.cfg.UDPPortMin != 0 || e.cfg.UDPPortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(e.cfg.UDPPortMin, e.cfg.UDPPortMax); err != nil {
			e.mu.Unlock()
			return Peer{}, err
		}
	}
	if e.tcpMux != nil {
		s.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	var rewrite error
	if len(e.nat) > 0 {
		rewrite = s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: e.nat, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		})
	}
	e.mu.Unlock()
	if rewrite != nil {
		return Peer{}, rewrite
	}
	s.SetNetworkTypes(networks)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: e.ICEServers()})
	if err != nil {
		return Peer{}, err
	}
	p := Peer{PeerConnection: pc}
	select {
	case p.Stats = <-getters:
	default:
		p.Stats = noStats{}
	}
	return p, nil
}

// defaultInterceptors registers what pion's RegisterDefaultInterceptors
// does (NACK, RTCP reports, simulcast header extensions, statistics, TWCC
// feedback), with a NACK buffer of nackBuffer packets, and hands the
// statistics of each new peer connection to getters.
func (e *Engine) defaultInterceptors(m *webrtc.MediaEngine, reg *interceptor.Registry, getters chan<- stats.Getter) error {
	lf := pionLogger(e.cfg.Logger)
	// NACK answers come from a buffer of the packets last sent: 256 is
	// two to three seconds of a rung, well beyond a round trip, and a
	// quarter of pion's default, which is most of a viewer's memory.
	if err := webrtc.ConfigureNackWithOptions(m, reg,
		[]nack.GeneratorOption{nack.WithGeneratorLoggerFactory(lf)},
		nack.ResponderSize(nackBuffer), nack.WithResponderLoggerFactory(lf)); err != nil {
		return err
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg,
		[]report.ReceiverOption{report.WithReceiverLoggerFactory(lf)}, report.WithSenderLoggerFactory(lf)); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return err
	}
	st, err := stats.NewInterceptor(stats.WithLoggerFactory(lf))
	if err != nil {
		return err
	}
	st.OnNewPeerConnection(func(_ string, g stats.Getter) {
		select {
		case getters <- g:
		default:
		}
	})
	reg.Add(st)
	return webrtc.ConfigureTWCCSenderWithOptions(m, reg, twcc.WithLoggerFactory(lf))
}

// noStats stands for the statistics of a peer connection that has none.
type noStats struct{}

func (noStats) Get(uint32) *stats.Stats { return nil }

// nackBuffer is how many sent packets a session keeps for retransmission.
const nackBuffer = 256

// H.264 and Opus as Sluice negotiates them.
const (
	H264FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	OpusFMTP = "minptime=10;useinbandfec=1"
)

// VideoCapability is the H.264 track capability.
func VideoCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264FMTP, RTCPFeedback: []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}}
}

// AudioCapability is the Opus track capability.
func AudioCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: OpusFMTP}
}

// RegisterCodecs registers H.264 (constrained baseline and the other
// profiles browsers offer, all packetization mode 1) and Opus.
func RegisterCodecs(m *webrtc.MediaEngine) error {
	video := []struct {
		pt   webrtc.PayloadType
		fmtp string
	}{
		{102, H264FMTP},
		{104, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"},
		{106, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"},
		{108, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"},
	}
	for _, v := range video {
		c := VideoCapability()
		c.SDPFmtpLine = v.fmtp
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: v.pt}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: AudioCapability(), PayloadType: 111}, webrtc.RTPCodecTypeAudio)
}

// resolveHosts turns the public hosts into IP addresses.
func resolveHosts(ctx context.Context, hosts []string) ([]string, error) {
	var out []string
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			out = append(out, a.Unmap().String())
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		cancel()
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("WebRTC public host %q does not resolve: %w", h, errors.Join(err, errNoAddress))
		}
		for _, a := range addrs {
			out = append(out, a.Unmap().String())
		}
	}
	return out, nil
}

var errNoAddress = errors.New("no address")

// ParsePortRange reads "min-max".
func ParsePortRange(s string) (uint16, uint16, error) {
	if s == "" {
		return 0, 0, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
		return 0, 0, fmt.Errorf("UDP port range %q: want min-max, such as 20000-20999", s)
	}
	return uint16(a), uint16(b), nil
}

// pionLogger sends pion's warnings and errors to logger at debug level:
// they are about single sessions and often about the peer's network.
func pionLogger(logger *slog.Logger) logging.LoggerFactory {
	return &logFactory{l: logger}
}

type logFactory struct{ l *slog.Logger }

func (f *logFactory) NewLogger(scope string) logging.LeveledLogger {
	return &leveled{l: f.l.With("pion", scope)}
}

type leveled struct{ l *slog.Logger }

func (l *leveled) Trace(string)          {}
func (l *leveled) Tracef(string, ...any) {}
func (l *leveled) Debug(string)          {}
func (l *leveled) Debugf(string, ...any) {}
func (l *leveled) Info(string)           {}
func (l *leveled) Infof(string, ...any)  {}
func (l *leveled) Warn(msg string)       { l.l.Debug(msg) }
func (l *leveled) Warnf(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...))
}
func (l *leveled) Error(msg string) { l.l.Debug(msg) }
func (l *leveled) Errorf(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...))
}
