package udp

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// feedQueue and feedQueueBytes bound the datagrams waiting for the
// demuxer: a demuxer that falls behind loses datagrams, counted, and never
// stalls the socket.
const (
	feedQueue      = 1024
	feedQueueBytes = 4 << 20
)

// maxOtherSources bounds the other sources remembered per session.
const maxOtherSources = 256

// errFeedStopped ends the pipe when a session ends.
var errFeedStopped = errors.New("the session ended")

// feed is one source's publishing session: its datagrams go through a
// bounded queue and a pipe into live.ReadTS.
type feed struct {
	src  netip.AddrPort
	hub  *live.Hub
	sess *live.Session
	last time.Time

	queue    chan []byte
	queued   atomic.Int64 // bytes in queue
	pr       *io.PipeReader
	readDone chan error
	wg       sync.WaitGroup

	rtp      reorder
	ssrc     uint32
	haveSSRC bool

	dropped   uint64
	malformed uint64
	others    map[netip.AddrPort]bool // sources refused while this one publishes
}

func startFeed(src netip.AddrPort, hub *live.Hub, sess *live.Session, now time.Time, warn func(string)) *feed {
	pr, pw := io.Pipe()
	f := &feed{
		src: src, hub: hub, sess: sess, last: now,
		queue: make(chan []byte, feedQueue), pr: pr, readDone: make(chan error, 1),
		others: map[netip.AddrPort]bool{},
	}
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		for b := range f.queue {
			f.queued.Add(-int64(len(b)))
			if _, err := pw.Write(b); err != nil {
				continue // the reader is gone: drain until stopped
			}
		}
		_ = pw.Close()
	}()
	go func() {
		defer f.wg.Done()
		err := readTS(pr, sess, warn)
		_ = pr.CloseWithError(errFeedStopped)
		f.readDone <- err
	}()
	return f
}

// push queues a datagram's MPEG-TS without blocking.
func (f *feed) push(b []byte) {
	if f.queued.Load()+int64(len(b)) > feedQueueBytes {
		f.dropped++
		return
	}
	select {
	case f.queue <- b:
		f.queued.Add(int64(len(b)))
	default:
		f.dropped++
	}
}

// pushRTP takes an RTP packet's payload in sequence order.
func (f *feed) pushRTP(p rtpPacket) {
	if !f.haveSSRC || p.SSRC != f.ssrc {
		f.ssrc, f.haveSSRC = p.SSRC, true
		f.rtp.reset()
	}
	f.rtp.push(p.Sequence, p.Payload, f.push)
}

// refuseOther reports whether a datagram from another source is the first
// of that source in this session (to count and log it once).
func (f *feed) refuseOther(src netip.AddrPort) bool {
	if f.others[src] || len(f.others) >= maxOtherSources {
		return false
	}
	f.others[src] = true
	return true
}

// stop ends the demuxer and waits for it.
func (f *feed) stop() {
	close(f.queue)
	_ = f.pr.CloseWithError(errFeedStopped)
	f.wg.Wait()
}

// readTS is live.ReadTS that turns a panic of a parser of hostile bytes
// into an error, so that it ends the session and not Sluice.
func readTS(r io.Reader, sess *live.Session, warn func(string)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed MPEG-TS: %v", p)
		}
	}()
	return live.ReadTS(r, sess, warn)
}
