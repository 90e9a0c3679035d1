// Package udp is Sluice's MPEG-TS over UDP ingest (UDP_PUSH) and over RTP
// (RTP_PUSH, RFC 2250): one port per input. Every datagram's source must
// be admitted by the input's security group; the first admitted source
// publishes until it falls silent, and datagrams from any other source
// meanwhile are dropped.
//
// Publishers send to udp://host:port (MPEG-TS, ideally seven 188-byte
// packets a datagram: ffmpeg -f mpegts "udp://host:port?pkt_size=1316")
// or rtp://host:port (ffmpeg -f rtp_mpegts).
package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// DefaultIdleTimeout ends a session whose source sends nothing for so long.
const DefaultIdleTimeout = 5 * time.Second

// Receiver bounds.
const (
	maxDatagram = 65535
	verdictTTL  = time.Second
	maxVerdicts = 4096
	busyRetry   = time.Second
)

// Receiver receives one UDP or RTP push input.
type Receiver struct {
	// Input names the input (its hub and its security group).
	Input string
	// Addr is the local address to listen on, ":5000".
	Addr string
	// RTP selects RTP_PUSH (MPEG-TS in RTP, payload type 33); otherwise
	// datagrams carry bare MPEG-TS.
	RTP      bool
	Registry *live.Registry
	Logger   *slog.Logger
	// IdleTimeout ends a session after this long without a datagram from
	// its source; DefaultIdleTimeout when zero.
	IdleTimeout time.Duration

	mu    sync.Mutex
	bound net.Addr
}

// LocalAddr returns the address Run listens on, nil before it is bound.
func (r *Receiver) LocalAddr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bound
}

// Run receives until ctx ends (then it returns nil) or the socket fails.
func (r *Receiver) Run(ctx context.Context) error {
	pc, err := net.ListenPacket("udp", r.Addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	r.mu.Lock()
	r.bound = pc.LocalAddr()
	r.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()

	st := r.newState()
	defer st.end("the "+st.label()+" receiver stopped", false)
	st.log.Info(st.label()+" receiver listening", "address", pc.LocalAddr().String())
	tick := max(min(st.idle/4, 250*time.Millisecond), 10*time.Millisecond)
	buf := make([]byte, maxDatagram)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(tick))
		n, from, err := pc.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				st.check(now)
				continue
			}
			return fmt.Errorf("%s input %s: %w", st.proto, r.Input, err)
		}
		if ua, ok := from.(*net.UDPAddr); ok {
			ap := ua.AddrPort()
			st.datagram(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), buf[:n], now)
		}
		st.check(now)
	}
}

// state is what the receiving goroutine keeps; nothing else touches it.
type state struct {
	r       *Receiver
	proto   string // "udp" or "rtp"
	idle    time.Duration
	log     *slog.Logger
	allowed *verdicts
	refused *live.LogLimiter
	cur     *feed

	malformedLog *live.LogLimiter

	busyUntil time.Time
	coolSrc   netip.AddrPort
	coolUntil time.Time
}

func (r *Receiver) newState() *state {
	st := &state{
		r: r, proto: "udp", idle: r.IdleTimeout, log: r.Logger,
		allowed: newVerdicts(verdictTTL, maxVerdicts),
		refused: live.NewLogLimiter(time.Minute, 4096),

		malformedLog: live.NewLogLimiter(time.Minute, 256),
	}
	if r.RTP {
		st.proto = "rtp"
	}
	if st.idle <= 0 {
		st.idle = DefaultIdleTimeout
	}
	if st.log == nil {
		st.log = slog.New(slog.DiscardHandler)
	}
	st.log = st.log.With("input", r.Input)
	return st
}

func (st *state) label() string {
	if st.proto == "rtp" {
		return "RTP"
	}
	return "UDP"
}

// datagram admits, assigns and forwards one datagram.
func (st *state) datagram(src netip.AddrPort, data []byte, now time.Time) {
	remote := src.String()
	v, ok := st.allowed.get(src.Addr(), now)
	if !ok {
		_, err := st.r.Registry.AdmitAddress(st.r.Input, remote)
		v = verdict{allowed: err == nil}
		if err != nil {
			v.reason = err.Error()
		}
		st.allowed.put(src.Addr(), v, now)
		if !v.allowed && st.refused.Allow(remote, now) {
			st.log.Warn(st.label()+" datagrams refused", "remote", remote, "reason", v.reason)
		}
	}
	if !v.allowed {
		return
	}
	// Only a datagram that carries MPEG-TS may start a session.
	var pkt rtpPacket
	if st.r.RTP {
		p, err := parseRTP(data)
		if err != nil {
			st.malformed(src, err.Error())
			return
		}
		if !carriesTS(p) {
			st.malformed(src, fmt.Sprintf("RTP payload type %d is not MPEG-TS (33)", p.PayloadType))
			return
		}
		pkt = p
	} else if len(data) < tsPacket || data[0] != tsSync {
		st.malformed(src, "the datagram does not start with an MPEG-TS packet")
		return
	}
	if st.cur == nil && !st.claim(src, now) {
		return
	}
	f := st.cur
	if f.src != src {
		if f.refuseOther(src) {
			f.hub.Refused()
			st.log.Warn(st.label()+" datagrams dropped: the input already has a publisher", "remote", remote, "publisher", f.src.String())
		}
		return
	}
	f.last = now
	if st.r.RTP {
		pkt.Payload = slices.Clone(pkt.Payload)
		f.pushRTP(pkt)
		return
	}
	f.push(slices.Clone(data))
}

// MPEG-TS framing.
const (
	tsPacket = 188
	tsSync   = 0x47
)

// malformed counts a datagram that carries no MPEG-TS, and says so in the
// log at most once a minute per source.
func (st *state) malformed(src netip.AddrPort, why string) {
	if f := st.cur; f != nil && f.src == src {
		f.malformed++
	}
	if st.malformedLog.Allow(src.String(), time.Now()) {
		st.log.Warn(st.label()+" datagram ignored", "remote", src.String(), "reason", why)
	}
}

// claim starts a session for src, unless the input is busy or src just
// sent something unusable.
func (st *state) claim(src netip.AddrPort, now time.Time) bool {
	if now.Before(st.busyUntil) || (src == st.coolSrc && now.Before(st.coolUntil)) {
		return false
	}
	hub, ok := st.r.Registry.Hub(st.r.Input)
	if !ok {
		return false
	}
	sess, err := hub.Claim(live.Publisher{Protocol: st.proto, Remote: src.String()})
	if err != nil {
		st.busyUntil = now.Add(busyRetry)
		if st.refused.Allow(src.String(), now) {
			st.log.Warn(st.label()+" datagrams dropped", "remote", src.String(), "reason", err.Error())
		}
		return false
	}
	label := st.label()
	st.cur = startFeed(src, hub, sess, now, func(w string) { st.log.Warn(label+" publisher: "+w, "remote", src.String()) })
	st.log.Info(label+" publisher started", "remote", src.String())
	return true
}

// check ends the session when its source fell silent, its stream could not
// be read, or Sluice ended it (a new security group).
func (st *state) check(now time.Time) {
	f := st.cur
	if f == nil {
		return
	}
	select {
	case <-f.sess.Done():
		st.end("Sluice ended the session: "+f.hub.Status().LastEndReason, true)
		return
	case err := <-f.readDone:
		reason := "the stream ended"
		if err != nil {
			reason = "the stream could not be read: " + err.Error()
		}
		st.coolSrc, st.coolUntil = f.src, now.Add(st.idle)
		st.end(reason, false)
		return
	default:
	}
	if now.Sub(f.last) > st.idle {
		st.end(fmt.Sprintf("no datagrams for %s", st.idle), false)
	}
}

// end stops the current session; kicked sessions make every cached
// verdict stale, since the registry changed.
func (st *state) end(reason string, kicked bool) {
	f := st.cur
	if f == nil {
		return
	}
	st.cur = nil
	f.stop()
	f.sess.Close(reason)
	if kicked {
		st.allowed.forget()
	}
	attrs := []any{"remote", f.src.String(), "reason", reason}
	if f.dropped > 0 {
		attrs = append(attrs, "dropped_datagrams", f.dropped)
	}
	if st.r.RTP {
		attrs = append(attrs, "rtp_lost", f.rtp.Lost, "rtp_reordered", f.rtp.Reordered, "rtp_duplicates", f.rtp.Duplicates, "rtp_malformed", f.malformed)
	}
	st.log.Info(st.label()+" publisher stopped", attrs...)
}
