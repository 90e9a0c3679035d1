package udp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// rtpPacket is the part of an RTP packet (RFC 3550) Sluice reads.
type rtpPacket struct {
	PayloadType uint8
	Marker      bool
	Sequence    uint16
	Timestamp   uint32
	SSRC        uint32
	// Payload aliases the datagram.
	Payload []byte
}

// payloadTypeMP2T is the static RTP payload type of MPEG-TS (RFC 2250,
// RFC 3551).
const payloadTypeMP2T = 33

var errNotRTP = errors.New("not an RTP packet")

// parseRTP reads an RTP header: the version, the CSRC list, the header
// extension and the padding are checked against the datagram's length.
func parseRTP(b []byte) (rtpPacket, error) {
	const fixed = 12
	if len(b) < fixed {
		return rtpPacket{}, fmt.Errorf("%w: %d bytes is shorter than an RTP header", errNotRTP, len(b))
	}
	if v := b[0] >> 6; v != 2 {
		return rtpPacket{}, fmt.Errorf("%w: version %d", errNotRTP, v)
	}
	p := rtpPacket{
		PayloadType: b[1] & 0x7f,
		Marker:      b[1]&0x80 != 0,
		Sequence:    binary.BigEndian.Uint16(b[2:]),
		Timestamp:   binary.BigEndian.Uint32(b[4:]),
		SSRC:        binary.BigEndian.Uint32(b[8:]),
	}
	off := fixed + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return rtpPacket{}, fmt.Errorf("%w: truncated header extension", errNotRTP)
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts it
		if end <= off {
			return rtpPacket{}, fmt.Errorf("%w: padding without payload", errNotRTP)
		}
		pad := int(b[end-1])
		if pad == 0 || pad > end-off {
			return rtpPacket{}, fmt.Errorf("%w: %d bytes of padding do not fit", errNotRTP, pad)
		}
		end -= pad
	}
	if off > end {
		return rtpPacket{}, fmt.Errorf("%w: the header is longer than the packet", errNotRTP)
	}
	p.Payload = b[off:end]
	return p, nil
}

// carriesTS reports whether an RTP packet carries MPEG-TS: payload type
// 33, or a dynamic payload type whose payload starts with a TS sync byte
// (some senders announce MPEG-TS with a dynamic type).
func carriesTS(p rtpPacket) bool {
	if p.PayloadType == payloadTypeMP2T {
		return true
	}
	return p.PayloadType >= 96 && len(p.Payload) > 0 && p.Payload[0] == 0x47
}
