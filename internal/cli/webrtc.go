package cli

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sluice-video/sluice/internal/rtc"
)

// webrtcOptions are serve's WebRTC flags: the ICE ports, the STUN servers
// and the bounds of sessions.
type webrtcOptions struct {
	udp          string
	udpPorts     string
	tcp          string
	stun         []string
	sessions     int
	perEndpoint  int
	whipSessions int
}

func addWebRTCFlags(f *pflag.FlagSet, o *webrtcOptions) {
	f.StringVar(&o.udp, "webrtc-udp", envOr("SLUICE_WEBRTC_UDP", ":8189"), "the one UDP port WebRTC viewers (WHEP) and publishers (WHIP) share (ICE UDP mux); \"\" gives each session its own port from --webrtc-udp-ports (env SLUICE_WEBRTC_UDP)")
	f.StringVar(&o.udpPorts, "webrtc-udp-ports", os.Getenv("SLUICE_WEBRTC_UDP_PORTS"), "with --webrtc-udp \"\": the range of UDP ports sessions take, such as 20000-20999 (default any) (env SLUICE_WEBRTC_UDP_PORTS)")
	f.StringVar(&o.tcp, "webrtc-tcp", os.Getenv("SLUICE_WEBRTC_TCP"), "address of the ICE-TCP port, for viewers and publishers whose networks drop UDP, such as :8189 (default none) (env SLUICE_WEBRTC_TCP)")
	f.StringArrayVar(&o.stun, "webrtc-stun", nil, "STUN server for server-reflexive candidates, also given to clients in Link headers, such as stun:stun.example.net:3478 (repeatable)")
	f.IntVar(&o.sessions, "webrtc-sessions", 1000, "most WebRTC viewers the server takes at once; more are answered 503 (0: no bound)")
	f.IntVar(&o.perEndpoint, "webrtc-sessions-per-endpoint", 0, "most WebRTC viewers of one channel's endpoint at once (0: no bound)")
	f.IntVar(&o.whipSessions, "whip-sessions", 64, "most WHIP publishers the server takes at once")
}

// config turns the flags into the WebRTC networking; the public host, when
// given, is the address put in host candidates.
func (o webrtcOptions) config(publicHost string) (rtc.Config, error) {
	lo, hi, err := rtc.ParsePortRange(o.udpPorts)
	if err != nil {
		return rtc.Config{}, fmt.Errorf("--webrtc-udp-ports: %w", err)
	}
	cfg := rtc.Config{UDP: o.udp, UDPPortMin: lo, UDPPortMax: hi, TCP: o.tcp, STUN: o.stun}
	for _, s := range o.stun {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "stuns:") {
			return rtc.Config{}, fmt.Errorf("--webrtc-stun %q: want stun:host:port", s)
		}
	}
	if publicHost != "" {
		cfg.PublicHosts = []string{publicHost}
	}
	return cfg, nil
}

// httpBase is the HTTP listener's URL as publishers reach it.
func httpBase(host string, addr net.Addr) string {
	port := "8080"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(tcp.Port)
	}
	return "http://" + net.JoinHostPort(host, port)
}
