package udp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestParseRTP(t *testing.T) {
	ts := bytes.Repeat([]byte{0x47, 1, 2, 3}, 47)
	plain := rtpPacketBytes(65535, 9000, 0xabcdef01, 33, ts)
	withAll := func() []byte {
		b := []byte{0x80 | 0x20 | 0x10 | 2, 0x80 | 33, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2}
		b = append(b, 1, 1, 1, 1, 2, 2, 2, 2) // two CSRCs
		b = append(b, 0xbe, 0xde, 0, 1, 9, 9, 9, 9)
		b = append(b, ts...)
		return append(b, 0, 0, 3) // three bytes of padding
	}()
	cases := []struct {
		name    string
		in      []byte
		seq     uint16
		marker  bool
		payload []byte
		err     bool
	}{
		{"plain", plain, 65535, false, ts, false},
		{"csrc, extension, padding, marker", withAll, 7, true, ts, false},
		{"short", plain[:11], 0, false, nil, true},
		{"version 1", append([]byte{0x40}, plain[1:]...), 0, false, nil, true},
		{"csrc beyond the end", append([]byte{0x8f}, plain[1:20]...), 0, false, nil, true},
		{"extension beyond the end", []byte{0x90, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 0, false, nil, true},
		{"padding larger than the payload", []byte{0xa0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200}, 0, false, nil, true},
		{"zero padding", []byte{0xa0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 0, false, nil, true},
		{"header only", plain[:12], 65535, false, []byte{}, false},
	}
	for _, c := range cases {
		p, err := parseRTP(c.in)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v", c.name, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, errNotRTP) {
				t.Errorf("%s: %v is not errNotRTP", c.name, err)
			}
			continue
		}
		if p.Sequence != c.seq || p.Marker != c.marker || p.PayloadType != 33 || !bytes.Equal(p.Payload, c.payload) {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
}

func TestReorder(t *testing.T) {
	cases := []struct {
		name    string
		in      []uint16
		out     []uint16
		lost    uint64
		dupes   uint64
		reorder uint64
	}{
		{"in order across the wrap", []uint16{65534, 65535, 0, 1}, []uint16{65534, 65535, 0, 1}, 0, 0, 0},
		{"swapped", []uint16{1, 3, 2, 4}, []uint16{1, 2, 3, 4}, 0, 0, 1},
		{"duplicates", []uint16{1, 2, 2, 3, 1, 5, 5}, []uint16{1, 2, 3}, 0, 3, 1},
		{"a lost packet is skipped after a few", []uint16{1, 3, 4, 5, 6, 7, 8, 9, 10, 11}, []uint16{1, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1, 0, 8},
		{"a late packet after the skip is dropped", []uint16{1, 3, 4, 5, 6, 7, 8, 9, 10, 2, 11}, []uint16{1, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1, 1, 8},
		{"a sender restart", []uint16{100, 101, 40000, 40001}, []uint16{100, 101, 40000, 40001}, 0, 0, 0},
		{"a jump back beyond the window restarts", []uint16{5000, 5001, 10, 11}, []uint16{5000, 5001, 10, 11}, 0, 0, 0},
	}
	for _, c := range cases {
		var r reorder
		var got []uint16
		for _, seq := range c.in {
			payload := []byte{byte(seq >> 8), byte(seq)}
			r.push(seq, payload, func(b []byte) { got = append(got, uint16(b[0])<<8|uint16(b[1])) })
		}
		if !equal(got, c.out) || r.Lost != c.lost || r.Duplicates != c.dupes || r.Reordered != c.reorder {
			t.Errorf("%s: got %v lost %d dupes %d reordered %d; want %v %d %d %d", c.name, got, r.Lost, r.Duplicates, r.Reordered, c.out, c.lost, c.dupes, c.reorder)
		}
	}
}

func equal(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseRTP: any datagram gives a packet whose payload lies inside it,
// or an error; never a panic.
func FuzzParseRTP(f *testing.F) {
	f.Add(rtpPacketBytes(1, 2, 3, 33, bytes.Repeat([]byte{0x47}, 188)))
	f.Add([]byte{0xb2, 0xa1, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 2, 2, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0x47, 0, 2})
	f.Add([]byte{0x90, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseRTP(b)
		if err != nil {
			return
		}
		if len(b) < 12 || b[0]>>6 != 2 || len(p.Payload) > len(b)-12 {
			t.Fatalf("accepted %x as %+v", b, p)
		}
		if p.Sequence != binary.BigEndian.Uint16(b[2:]) || p.SSRC != binary.BigEndian.Uint32(b[8:]) {
			t.Fatalf("header fields of %x read as %+v", b, p)
		}
		// The payload is a window of the datagram.
		if len(p.Payload) > 0 && !bytes.Contains(b, p.Payload) {
			t.Fatalf("payload not from the datagram")
		}
	})
}

// FuzzReorder: any arrival order emits each packet at most once, in
// increasing sequence order between restarts, holding only a few.
func FuzzReorder(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2, 0, 4})
	f.Add([]byte{0xff, 0xfe, 0xff, 0xff, 0, 0, 0, 2, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r reorder
		emitted := map[uint16]int{}
		var prev uint16
		var have bool
		for i := 0; i+1 < len(b); i += 2 {
			seq := binary.BigEndian.Uint16(b[i:])
			restart := r.started && (seqDiff(seq, r.next) >= reorderSlots || seqDiff(seq, r.next) <= -resync)
			if restart {
				have = false
				clear(emitted)
			}
			r.push(seq, []byte{b[i], b[i+1]}, func(p []byte) {
				s := binary.BigEndian.Uint16(p)
				if emitted[s] > 0 {
					t.Fatalf("sequence %d emitted twice", s)
				}
				emitted[s]++
				if have && seqDiff(s, prev) <= 0 && !restart {
					t.Fatalf("sequence %d after %d", s, prev)
				}
				prev, have = s, true
			})
			if r.count >= maxHeld || r.count < 0 {
				t.Fatalf("%d packets held", r.count)
			}
		}
	})
}
