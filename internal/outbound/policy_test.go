package outbound

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestDefaultPolicy(t *testing.T) {
	public, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ip            string
		public, local bool // allowed?
	}{
		{"169.254.169.254", false, false},
		{"fe80::1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"127.0.0.1", false, true},
		{"127.9.9.9", false, true},
		{"::1", false, true},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"192.0.2.7", true, true},
		{"10.1.2.3", true, true},
		{"2001:db8::1", true, true},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.ip)
		if got := public.Check(ip, c.ip) == nil; got != c.public {
			t.Errorf("public server, %s: allowed %v, want %v", c.ip, got, c.public)
		}
		if got := local.Check(ip, c.ip) == nil; got != c.local {
			t.Errorf("loopback-only server, %s: allowed %v, want %v", c.ip, got, c.local)
		}
	}
	var nilPolicy *Policy
	if nilPolicy.Check(netip.MustParseAddr("169.254.169.254"), "x") != nil {
		t.Error("a nil policy allows everything")
	}
}

func TestDenyAndAllow(t *testing.T) {
	p, err := New(Config{Deny: []string{"private", "203.0.113.9"}, Allow: []string{"10.9.0.0/16", "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	for ip, allowed := range map[string]bool{
		"10.1.1.1":    false,
		"10.9.1.1":    true, // the allow punches a hole in "private"
		"192.168.0.1": false,
		"203.0.113.9": false,
		"203.0.113.8": true,
		"127.0.0.1":   true, // allowed although loopback is denied
		"127.0.0.2":   false,
		"fd00::1":     false,
	} {
		if got := p.Check(netip.MustParseAddr(ip), ip) == nil; got != allowed {
			t.Errorf("%s: allowed %v, want %v", ip, got, allowed)
		}
	}
	err = p.Check(netip.MustParseAddr("10.1.1.1"), "10.1.1.1:443")
	var denied *DeniedError
	if !errors.As(err, &denied) || !errors.Is(err, ErrDenied) ||
		!strings.Contains(err.Error(), "10.1.1.1:443") || !strings.Contains(err.Error(), "10.0.0.0/8 (private)") || !strings.Contains(err.Error(), "--outbound-allow") {
		t.Errorf("the refusal names the address, the range and the way out: %v", err)
	}
	if _, err := New(Config{Deny: []string{"10.0.0.0/33"}}); err == nil || !strings.Contains(err.Error(), "--outbound-deny") {
		t.Errorf("a bad CIDR names the flag: %v", err)
	}
}

// TestDialerRefusesAtConnect dials a real listener: a denied address is
// refused before a connection is made, also when it is reached by a name.
func TestDialerRefusesAtConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx := context.Background()

	deny, _ := New(Config{})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, err := deny.Dialer(5*time.Second).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "127.0.0.1:"+port) {
			t.Errorf("dialling %s: %v, want a refusal naming 127.0.0.1:%s", host, err, port)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the listener saw %d connections, want none", n)
	}

	allow, _ := New(Config{LoopbackOnly: true})
	c, err := allow.Dialer(5*time.Second).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("an allowed address: %v", err)
	}
	_ = c.Close()
	poll.UntilTrue(t, "the allowed connection to arrive", 10*time.Second, func() bool { return accepted.Load() != 0 })
	if accepted.Load() != 1 {
		t.Fatal("the allowed connection never arrived")
	}
}

func TestResolvePinsAnAllowedAddress(t *testing.T) {
	p, _ := New(Config{})
	if _, err := p.Resolve(context.Background(), "169.254.169.254:9000"); !errors.Is(err, ErrDenied) {
		t.Errorf("metadata address: %v", err)
	}
	if _, err := p.Resolve(context.Background(), "localhost:9000"); !errors.Is(err, ErrDenied) {
		t.Errorf("a name of loopback: %v", err)
	}
	got, err := p.Resolve(context.Background(), "192.0.2.7:9000")
	if err != nil || got != "192.0.2.7:9000" {
		t.Errorf("an allowed address: %q %v", got, err)
	}
}

func TestPacketConnRefusesDeniedDestinations(t *testing.T) {
	rx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	p, _ := New(Config{})
	pc, err := p.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.WriteTo([]byte("x"), rx.LocalAddr()); !errors.Is(err, ErrDenied) {
		t.Errorf("sending to a denied address: %v", err)
	}
	open, _ := New(Config{LoopbackOnly: true})
	pc2, err := open.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	if _, err := pc2.WriteTo([]byte("x"), rx.LocalAddr()); err != nil {
		t.Fatalf("sending to an allowed address: %v", err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 8)
	if n, _, err := rx.ReadFrom(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("the allowed datagram: %q %v", buf[:n], err)
	}
}
