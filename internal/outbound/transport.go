package outbound

import (
	"net"
	"net/http"
	"time"
)

// Transport returns an HTTP transport whose every connection, redirects
// included, passes the policy. It takes no proxy from the environment:
// through a proxy the policy would see only the proxy's address, and the
// proxy would connect wherever the URL says.
func (p *Policy) Transport(connectTimeout time.Duration) *http.Transport {
	return &http.Transport{
		DialContext:           p.Dialer(connectTimeout).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connectTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
	}
}

// ListenPacket is net.ListenPacket for protocols that send UDP to
// addresses a server tells them (RTSP over UDP): the connection refuses to
// send to an address the policy denies.
func (p *Policy) ListenPacket(network, address string) (net.PacketConn, error) {
	pc, err := net.ListenPacket(network, address)
	if err != nil || p == nil {
		return pc, err
	}
	udp, ok := pc.(*net.UDPConn)
	if !ok {
		return pc, nil
	}
	return &packetConn{UDPConn: udp, p: p}, nil
}

// packetConn is a UDP socket whose WriteTo checks the destination.
type packetConn struct {
	*net.UDPConn
	p *Policy
}

func (c *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if addr != nil {
		if err := c.p.CheckAddr(addr.String()); err != nil {
			return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: err}
		}
	}
	return c.UDPConn.WriteTo(b, addr)
}
