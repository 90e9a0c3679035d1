package main

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// udpRelay is a UDP relay the soak puts between a publisher (SRT, RTP)
// and the server to impair the network from outside Sluice: delay, random
// loss, reordering and a cut (every datagram dropped). It relays both
// ways, as a NAT does: each publisher address gets its own socket towards
// the server, and what the server sends back to it (SRT's ACKs, NAKs and
// handshake answers) is relayed to the publisher through the same
// impairments.
type udpRelay struct {
	conn   *net.UDPConn
	target *net.UDPAddr

	mu    sync.Mutex
	imp   impairment
	rng   *rand.Rand
	peers map[string]*udpPeer
	done  bool
	wg    sync.WaitGroup

	stats relayStats
}

// impairment is what the relay does to each datagram, both ways.
type impairment struct {
	// Delay holds every datagram this long (order kept).
	Delay time.Duration
	// Loss is the share of datagrams dropped at random.
	Loss float64
	// Reorder is the share of datagrams held back until the next one of
	// their direction has been sent.
	Reorder float64
	// Cut drops every datagram.
	Cut bool
}

// relayStats counts what the relay did.
type relayStats struct {
	relayed, lost, cut, reordered atomic.Int64
}

// udpPeer is one publisher address and the relay's socket towards the
// server for it, with a lane each way.
type udpPeer struct {
	client   *net.UDPAddr
	up       *net.UDPConn
	toServer *lane
	toClient *lane
	last     atomic.Int64 // unix nanoseconds of the last datagram from the client
}

// peerIdle is how long a publisher address may stay silent before its
// socket towards the server is closed.
const peerIdle = 30 * time.Second

// heldFor bounds how long a datagram held back for reordering waits for
// the next one before it goes anyway.
const heldFor = 50 * time.Millisecond

// startUDPRelay listens on a free loopback port and relays to target;
// seed makes the random losses and reorderings repeatable.
func startUDPRelay(target string, seed uint64) (*udpRelay, error) {
	t, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	r := &udpRelay{conn: conn, target: t, peers: map[string]*udpPeer{}, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))} //nolint:gosec // impairments, not secrets
	r.wg.Add(1)
	go r.fromClients()
	return r, nil
}

// addr is where publishers send.
func (r *udpRelay) addr() string { return r.conn.LocalAddr().String() }

// set changes the impairment from now on.
func (r *udpRelay) set(imp impairment) {
	r.mu.Lock()
	r.imp = imp
	r.mu.Unlock()
}

// fate decides what happens to one datagram: dropped (and why), held
// back for reordering, and its delay.
func (r *udpRelay) fate() (drop, hold bool, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.imp.Cut:
		r.stats.cut.Add(1)
		return true, false, 0
	case r.imp.Loss > 0 && r.rng.Float64() < r.imp.Loss:
		r.stats.lost.Add(1)
		return true, false, 0
	}
	hold = r.imp.Reorder > 0 && r.rng.Float64() < r.imp.Reorder
	return false, hold, r.imp.Delay
}

// fromClients reads what publishers send and relays it to the server.
func (r *udpRelay) fromClients() {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(heldFor))
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.flushAll()
				continue
			}
			return
		}
		p := r.peer(from)
		if p == nil {
			continue
		}
		p.last.Store(time.Now().UnixNano())
		p.toServer.push(append([]byte(nil), buf[:n]...))
	}
}

// peer returns the relay's socket for a publisher address, opening it
// (and its way back) for a new one.
func (r *udpRelay) peer(from *net.UDPAddr) *udpPeer {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.peers[key]; p != nil || r.done {
		return p
	}
	up, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, r.target)
	if err != nil {
		return nil
	}
	_ = up.SetReadBuffer(4 << 20)
	client := &net.UDPAddr{IP: from.IP, Port: from.Port}
	p := &udpPeer{client: client, up: up}
	p.toServer = newLane(r, func(b []byte) { _, _ = up.Write(b) })
	p.toClient = newLane(r, func(b []byte) { _, _ = r.conn.WriteToUDP(b, client) })
	p.last.Store(time.Now().UnixNano())
	r.peers[key] = p
	r.wg.Add(1)
	go r.fromServer(key, p)
	return p
}

// fromServer relays what the server sends to one publisher address, and
// closes the way when the publisher has been silent for peerIdle.
func (r *udpRelay) fromServer(key string, p *udpPeer) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		if r.peers[key] == p {
			delete(r.peers, key)
		}
		r.mu.Unlock()
		_ = p.up.Close()
		p.toServer.close()
		p.toClient.close()
	}()
	buf := make([]byte, 64<<10)
	for {
		_ = p.up.SetReadDeadline(time.Now().Add(heldFor))
		n, err := p.up.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				p.toClient.flush()
				if time.Since(time.Unix(0, p.last.Load())) > peerIdle {
					return
				}
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a refused send (the server is down) reads as an error here
		}
		p.toClient.push(append([]byte(nil), buf[:n]...))
	}
}

func (r *udpRelay) flushAll() {
	r.mu.Lock()
	peers := make([]*udpPeer, 0, len(r.peers))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	r.mu.Unlock()
	for _, p := range peers {
		p.toServer.flush()
	}
}

// close stops relaying and waits for the relay's goroutines.
func (r *udpRelay) close() {
	r.mu.Lock()
	r.done = true
	for _, p := range r.peers {
		_ = p.up.Close()
	}
	r.mu.Unlock()
	_ = r.conn.Close()
	r.wg.Wait()
}

// lane is one direction of one peer: datagrams go through the relay's
// impairments into a queue that a goroutine sends from once their delay
// is over. Only one goroutine pushes to a lane.
type lane struct {
	r     *udpRelay
	send  func([]byte)
	queue chan queued
	stop  chan struct{}
	once  sync.Once

	// held is a datagram held back until the next one (or heldFor).
	held   []byte
	heldAt time.Time
}

type queued struct {
	due  time.Time
	data []byte
}

// laneQueue bounds the datagrams waiting out their delay; beyond it they
// are dropped, as a router's full queue does.
const laneQueue = 8192

func newLane(r *udpRelay, send func([]byte)) *lane {
	l := &lane{r: r, send: send, queue: make(chan queued, laneQueue), stop: make(chan struct{})}
	r.wg.Add(1)
	go l.run()
	return l
}

// push takes one datagram through the impairments.
func (l *lane) push(b []byte) {
	drop, hold, delay := l.r.fate()
	if drop {
		return
	}
	if hold && l.held == nil {
		l.held, l.heldAt = b, time.Now()
		l.r.stats.reordered.Add(1)
		return
	}
	l.enqueue(b, delay)
	if l.held != nil {
		l.enqueue(l.held, delay)
		l.held = nil
	}
}

// flush sends a datagram held back for longer than heldFor.
func (l *lane) flush() {
	if l.held != nil && time.Since(l.heldAt) >= heldFor {
		l.enqueue(l.held, l.r.delay())
		l.held = nil
	}
}

func (l *lane) enqueue(b []byte, delay time.Duration) {
	select {
	case l.queue <- queued{due: time.Now().Add(delay), data: b}:
	default:
		l.r.stats.lost.Add(1)
	}
}

func (l *lane) run() {
	defer l.r.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		case q := <-l.queue:
			if d := time.Until(q.due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-l.stop:
					t.Stop()
					return
				}
			}
			l.send(q.data)
			l.r.stats.relayed.Add(1)
		}
	}
}

func (l *lane) close() { l.once.Do(func() { close(l.stop) }) }

// delay is the current delay, for a datagram already past the other
// impairments.
func (r *udpRelay) delay() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.imp.Delay
}
