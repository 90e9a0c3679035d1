package httpguard

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// perClient is a listener that lets each client address hold at most max
// connections: one client opening hundreds of idle or trickling
// connections would otherwise use up the server's file descriptors and
// goroutines. A connection over the bound is closed as soon as it is
// accepted (with a reset, so it leaves nothing behind on the server),
// counted, and logged once until all of that client's connections have
// closed.
type perClient struct {
	net.Listener
	max     int
	refused func()
	logger  *slog.Logger

	mu     sync.Mutex
	open   map[netip.Addr]int
	warned map[netip.Addr]bool
}

func newPerClient(ln net.Listener, maxConns int, refused func(), logger *slog.Logger) *perClient {
	return &perClient{
		Listener: ln, max: maxConns, refused: refused, logger: logger,
		open: map[netip.Addr]int{}, warned: map[netip.Addr]bool{},
	}
}

// Accept returns the next connection of a client under its bound.
func (l *perClient) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, ok := clientAddr(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		if l.admit(addr) {
			return &countedConn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		if l.refused != nil {
			l.refused()
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// admit counts a new connection of addr, unless addr is at its bound.
func (l *perClient) admit(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] < l.max {
		l.open[addr]++
		return true
	}
	if !l.warned[addr] {
		l.warned[addr] = true
		l.logger.Warn("closing connections of a client over the bound of connections per client address",
			"client", addr.String(), "bound", l.max)
	}
	return false
}

// release forgets a closed connection of addr.
func (l *perClient) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open[addr]--
	if l.open[addr] <= 0 {
		delete(l.open, addr)
		delete(l.warned, addr)
	}
}

// clientAddr is the IP address a connection comes from; IPv4 addresses
// mapped into IPv6 count as the IPv4 address.
func clientAddr(a net.Addr) (netip.Addr, bool) {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// countedConn releases its place under the bound when it is closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom lets the server send files with sendfile(2) through the
// connection, as it does on the bare TCP connection.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// CloseWrite lets the server half-close the connection, as it does on the
// bare TCP connection before closing one whose request it refused.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// writerOnly hides every method but Write, so io.Copy does not recurse.
type writerOnly struct{ io.Writer }
