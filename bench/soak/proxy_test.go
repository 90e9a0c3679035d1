package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// testProxy is a fault proxy before a TCP echo server, closed with the
// test.
func testProxy(t *testing.T) *proxy {
	t.Helper()
	p, err := startProxy(tcpEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

func dial(t *testing.T, p *proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The proxy relays real bytes both ways, unchanged.
func TestUnitProxyRelays(t *testing.T) {
	p := testProxy(t)
	c := dial(t, p)
	sent := make([]byte, 1<<20)
	_, _ = rand.Read(sent)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(sent)
		errc <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, len(sent))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back through the proxy: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write through the proxy: %v", err)
	}
	if !bytes.Equal(got, sent) {
		t.Error("the bytes that came back differ from those sent")
	}
}

// A delay holds every chunk each way, on connections open before it
// was set and on new ones, until it is set back to 0.
func TestUnitProxyLatency(t *testing.T) {
	const d = 150 * time.Millisecond
	p := testProxy(t)
	before := dial(t, p)
	if !echoes(before, "warm") {
		t.Fatal("nothing came back through the proxy")
	}
	if err := p.setDelay(d); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]net.Conn{"open before": before, "new": dial(t, p)} {
		start := time.Now()
		if !echoes(c, "delayed") {
			t.Fatalf("nothing came back on the %s connection", name)
		}
		if took := time.Since(start); took < 2*d {
			t.Errorf("a round trip on the %s connection took %v, less than the delay both ways (%v)", name, took, 2*d)
		}
	}
	if err := p.setDelay(0); err != nil {
		t.Fatal(err)
	}
	if !echoes(before, "undelayed") {
		t.Error("nothing came back once the delay was taken off")
	}
}

// A cut closes the live connections and refuses new ones while it
// lasts; after it, new connections on the same address are relayed.
func TestUnitProxyCut(t *testing.T) {
	const d = 3 * time.Second
	p := testProxy(t)
	addr := p.addr()
	live := dial(t, p)
	if !echoes(live, "before") {
		t.Fatal("nothing came back through the proxy")
	}
	cutAt := time.Now()
	p.cut(d)
	_, err := net.Dial("tcp", p.addr())
	if err == nil && time.Since(cutAt) < d {
		t.Error("a new connection was accepted during the cut")
	}
	if err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a connection during the cut failed otherwise than refused: %v", err)
	}
	_ = live.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := live.Read(make([]byte, 1)); err == nil {
		t.Errorf("the live connection read %d bytes after the cut", n)
	}
	if p.addr() != addr {
		t.Errorf("the proxy's address changed from %s to %s", addr, p.addr())
	}
	poll.Until(t, "a new connection to be relayed after the cut", d+30*time.Second, func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close()
		return echoes(c, "after"), "nothing came back"
	})
	if time.Since(cutAt) < d {
		t.Errorf("a connection was relayed %v after a cut of %v", time.Since(cutAt), d)
	}
}

// Closing the proxy ends every one of its goroutines, those relaying
// live connections included, and nothing listens on its address any
// more; closing it during a cut ends the cut's wait too.
func TestUnitProxyClose(t *testing.T) {
	p, err := startProxy(tcpEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.setDelay(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if !echoes(dial(t, p), "open") {
			t.Fatal("nothing came back through the proxy")
		}
	}
	p.close()
	p.close()
	if c, err := net.Dial("tcp", p.addr()); err == nil {
		_ = c.Close()
		t.Error("a connection was accepted after the proxy closed")
	}
	poll.Until(t, "the proxy's goroutines to end", 30*time.Second, func() (bool, string) {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "github.com/Shopify/toxiproxy") {
				return false, g
			}
		}
		return true, ""
	})

	cut := testProxy(t)
	cut.cut(time.Hour)
	cut.close() // returns without waiting out the hour
}
