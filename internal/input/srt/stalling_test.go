package srt

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"
	"github.com/datarhei/gosrt/circular"
	"github.com/datarhei/gosrt/packet"
)

// stallingCaller is an address that keeps as many SRT connection requests
// waiting in the listener as it can: it concludes handshakes with a wrong
// stream key, which the listener answers only once the address's penalty
// is over, and sends a new one for every answer. It speaks SRT's handshake
// itself, from a socket bound to the address it is given, as an attacker
// would.
type stallingCaller struct {
	pc      *net.UDPConn
	start   time.Time
	mu      sync.Mutex
	cookie  uint32
	next    uint32
	stopped chan struct{}
	done    chan struct{}
}

// stallHandshakes starts n connection requests from localIP to addr and
// keeps them coming until the test ends.
func stallHandshakes(t *testing.T, addr, localIP string, n int) {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	s := &stallingCaller{pc: pc, start: time.Now(), next: 1000, stopped: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() {
		close(s.stopped)
		pc.Close()
		<-s.done
	})
	go s.read(n)
	go func() {
		// A cookie is good for a minute or two: ask again now and then.
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			s.send(packet.HSTYPE_INDUCTION, 1)
			select {
			case <-tick.C:
			case <-s.stopped:
				return
			}
		}
	}()
}

// read answers the listener: the first cookie starts n requests, and each
// refusal starts another, at once when the penalty made it wait and a
// little later when the listener had no room for it.
func (s *stallingCaller) read(n int) {
	defer close(s.done)
	buf := make([]byte, 1500)
	started := false
	for {
		m, err := s.pc.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p, err := packet.NewPacketFromData(s.pc.RemoteAddr(), buf[:m])
		if err != nil || !p.Header().IsControlPacket || p.Header().ControlType != packet.CTRLTYPE_HANDSHAKE {
			continue
		}
		cif := &packet.CIFHandshake{}
		if err := p.UnmarshalCIF(cif); err != nil {
			continue
		}
		switch {
		case cif.HandshakeType == packet.HSTYPE_INDUCTION:
			s.mu.Lock()
			s.cookie = cif.SynCookie
			s.mu.Unlock()
			if !started {
				started = true
				for range n {
					s.send(packet.HSTYPE_CONCLUSION, 0)
				}
			}
		case cif.HandshakeType == packet.HandshakeType(gosrt.REJ_ROGUE):
			s.send(packet.HSTYPE_INDUCTION, 1) // the cookie is too old: a new one
		case cif.HandshakeType == packet.HandshakeType(gosrt.REJX_OVERLOAD):
			time.AfterFunc(100*time.Millisecond, func() { s.send(packet.HSTYPE_CONCLUSION, 0) })
		case cif.HandshakeType.IsRejection():
			s.send(packet.HSTYPE_CONCLUSION, 0)
		}
	}
}

// send sends an induction (from socket id) or a conclusion with a new
// socket id, the last cookie and a stream key no input has.
func (s *stallingCaller) send(typ packet.HandshakeType, socketID uint32) {
	select {
	case <-s.stopped:
		return
	default:
	}
	s.mu.Lock()
	cookie := s.cookie
	if socketID == 0 {
		s.next++
		socketID = s.next
	}
	s.mu.Unlock()
	p := packet.NewPacket(s.pc.RemoteAddr())
	h := p.Header()
	h.IsControlPacket = true
	h.ControlType = packet.CTRLTYPE_HANDSHAKE
	h.Timestamp = uint32(time.Since(s.start).Microseconds())
	cif := &packet.CIFHandshake{
		IsRequest:                   true,
		Version:                     4,
		ExtensionField:              2,
		InitialPacketSequenceNumber: circular.New(0, packet.MAX_SEQUENCENUMBER),
		MaxTransmissionUnitSize:     1500,
		MaxFlowWindowSize:           25600,
		HandshakeType:               typ,
		SRTSocketId:                 socketID,
	}
	cif.PeerIP.FromNetAddr(s.pc.LocalAddr())
	if typ == packet.HSTYPE_CONCLUSION {
		cif.Version, cif.ExtensionField, cif.SynCookie = 5, 0x4A17, cookie
		cif.HasHS, cif.HasSID = true, true
		cif.SRTHS = &packet.CIFHandshakeExtension{
			SRTVersion: gosrt.SRT_VERSION,
			SRTFlags: packet.CIFHandshakeExtensionFlags{
				TSBPDSND: true, TSBPDRCV: true, CRYPT: true, TLPKTDROP: true, PERIODICNAK: true, REXMITFLG: true,
			},
			RecvTSBPDDelay: 120,
			SendTSBPDDelay: 120,
		}
		cif.StreamId = "not-a-key"
	}
	if err := p.MarshalCIF(cif); err != nil {
		return
	}
	var b bytes.Buffer
	if err := p.Marshal(&b); err != nil {
		return
	}
	_, _ = s.pc.Write(b.Bytes())
}
