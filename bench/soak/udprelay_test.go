package main

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// udpEnd is one end of a relayed exchange on loopback: it keeps the
// numbers of the datagrams it receives, in order, and answers each with
// the same number when echo is set.
type udpEnd struct {
	conn *net.UDPConn
	echo bool

	mu   sync.Mutex
	got  []uint32
	from map[string]bool
}

func listenEnd(t *testing.T, echo bool) *udpEnd {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	e := &udpEnd{conn: c, echo: echo, from: map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 4 {
				continue
			}
			e.mu.Lock()
			e.got = append(e.got, binary.BigEndian.Uint32(buf))
			e.from[from.String()] = true
			e.mu.Unlock()
			if e.echo {
				_, _ = c.WriteToUDP(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-done })
	return e
}

func (e *udpEnd) received() []uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint32(nil), e.got...)
}

// send sends datagrams numbered from..to-1 to addr, a little apart so
// that loopback's buffers never drop one.
func (e *udpEnd) send(t *testing.T, addr string, from, to uint32) {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 188)
	for i := from; i < to; i++ {
		binary.BigEndian.PutUint32(b, i)
		if _, err := e.conn.WriteToUDP(b, a); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond)
		}
	}
}

func startRelay(t *testing.T, target string) *udpRelay {
	t.Helper()
	r, err := startUDPRelay(target, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

// Loss drops about its share of the datagrams, the rest arrive once and
// in order.
func TestUnitUDPRelayLoss(t *testing.T) {
	server := listenEnd(t, false)
	client := listenEnd(t, false)
	r := startRelay(t, server.conn.LocalAddr().String())
	r.set(impairment{Loss: 0.3})
	const n = 2000
	client.send(t, r.addr(), 0, n)
	poll.UntilTrue(t, "every datagram relayed or lost", 30*time.Second, func() bool {
		return int64(len(server.received()))+r.stats.lost.Load() == n
	})
	got := server.received()
	if lost := r.stats.lost.Load(); lost < n/5 || lost > n*2/5 {
		t.Errorf("%d of %d datagrams lost at a loss of 30 %%", lost, n)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("datagram %d arrived after %d without reordering asked for", got[i], got[i-1])
		}
	}
}

// Reordering holds some datagrams back behind the next one: every one
// arrives, some out of order.
func TestUnitUDPRelayReorder(t *testing.T) {
	server := listenEnd(t, false)
	client := listenEnd(t, false)
	r := startRelay(t, server.conn.LocalAddr().String())
	r.set(impairment{Reorder: 0.2})
	const n = 1000
	client.send(t, r.addr(), 0, n)
	poll.UntilTrue(t, "every datagram relayed", 30*time.Second, func() bool { return len(server.received()) == n })
	got := server.received()
	seen := map[uint32]bool{}
	inversions := 0
	for i, g := range got {
		seen[g] = true
		if i > 0 && g < got[i-1] {
			inversions++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct datagrams of %d arrived", len(seen), n)
	}
	if held := r.stats.reordered.Load(); inversions == 0 || held == 0 || int64(inversions) > held {
		t.Errorf("%d datagrams arrived out of order, %d were held back", inversions, held)
	}
}

// Delay holds datagrams both ways, and the server's answers come back to
// the publisher from the relay, as SRT's acknowledgements must.
func TestUnitUDPRelayDelayBothWays(t *testing.T) {
	server := listenEnd(t, true)
	client := listenEnd(t, false)
	r := startRelay(t, server.conn.LocalAddr().String())
	const delay = 150 * time.Millisecond
	r.set(impairment{Delay: delay})
	began := time.Now()
	client.send(t, r.addr(), 0, 10)
	poll.UntilTrue(t, "the answers to come back", 30*time.Second, func() bool { return len(client.received()) == 10 })
	// A lower bound only: the relay may be slower, never faster.
	if took := time.Since(began); took < 2*delay {
		t.Errorf("a round trip through the relay took %s, less than twice its delay of %s", took, delay)
	}
	got := client.received()
	for i, g := range got {
		if g != uint32(i) {
			t.Fatalf("answers arrived as %v: a delay alone reordered them", got)
		}
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	if len(client.from) != 1 || !client.from[r.addr()] {
		t.Errorf("answers came from %v, not only from the relay %s", client.from, r.addr())
	}
}

// A cut drops everything until it is lifted; then datagrams flow again.
func TestUnitUDPRelayCut(t *testing.T) {
	server := listenEnd(t, true)
	client := listenEnd(t, false)
	r := startRelay(t, server.conn.LocalAddr().String())
	client.send(t, r.addr(), 0, 5)
	poll.UntilTrue(t, "the first answers", 30*time.Second, func() bool { return len(client.received()) == 5 })
	r.set(impairment{Cut: true})
	client.send(t, r.addr(), 5, 105)
	poll.UntilTrue(t, "the cut to drop what was sent", 30*time.Second, func() bool { return r.stats.cut.Load() == 100 })
	r.set(impairment{})
	client.send(t, r.addr(), 1000, 1001)
	poll.UntilTrue(t, "an answer after the cut", 30*time.Second, func() bool { return len(client.received()) == 6 })
	if got := server.received(); len(got) != 6 || got[5] != 1000 {
		t.Errorf("the server received %v: something passed the cut", got)
	}
}
