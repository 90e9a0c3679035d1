package rtcpeer

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

func TestSplitRTPReadsWhatPionWrites(t *testing.T) {
	for _, p := range []rtp.Packet{
		{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 102, SequenceNumber: 7, Timestamp: 9, SSRC: 1}, Payload: []byte{0x65, 1, 2, 3}},
		{Header: rtp.Header{Version: 2, PayloadType: 111, CSRC: []uint32{5, 6}}, Payload: []byte{9, 9}},
		{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 102, Padding: true, PaddingSize: 3}, Payload: []byte{0x7c, 0x85, 4}},
	} {
		if err := p.SetExtension(3, []byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		marker, payload, ok := splitRTP(b)
		if !ok || marker != p.Marker || !bytes.Equal(payload, p.Payload) {
			t.Errorf("%v: marker %v payload %x ok %v, want %v %x", p.Header, marker, payload, ok, p.Marker, p.Payload)
		}
	}
	for _, b := range [][]byte{nil, {0x80, 0}, {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9}} {
		if _, _, ok := splitRTP(b); ok {
			t.Errorf("%x read as a packet", b)
		}
	}
}
