package mp4box

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// box makes a box of type typ around payload, with a 64-bit size when large.
func box(typ string, payload []byte, large bool) []byte {
	if large {
		b := []byte{0, 0, 0, 1}
		b = append(b, typ...)
		n := uint64(16 + len(payload))
		b = append(b, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		return append(b, payload...)
	}
	n := 8 + len(payload)
	b := []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	b = append(b, typ...)
	return append(b, payload...)
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    Header
		ok      bool
		problem string
	}{
		{name: "short", in: []byte{0, 0, 0, 8, 'f'}},
		{name: "plain", in: box("ftyp", []byte("isom"), false), want: Header{Size: 12, Len: 8, Type: [4]byte{'f', 't', 'y', 'p'}}, ok: true},
		{name: "large", in: box("mdat", []byte("x"), true), want: Header{Size: 17, Len: 16, Type: [4]byte{'m', 'd', 'a', 't'}}, ok: true},
		{name: "large header cut", in: []byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0}},
		{name: "to the end", in: []byte{0, 0, 0, 0, 'm', 'd', 'a', 't'}, problem: `box "mdat" runs to the end of the stream`},
		{name: "smaller than header", in: []byte{0, 0, 0, 4, 'f', 't', 'y', 'p'}, problem: `box "ftyp" declares 4 bytes (limit 67108864)`},
		{name: "large smaller than header", in: []byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 15}, problem: "declares 15 bytes"},
		{name: "over the limit", in: []byte{0xff, 0xff, 0xff, 0xff, 'm', 0, 'a', 0x7f}, problem: `box "m?a?" declares 4294967295 bytes`},
		{name: "at the limit", in: []byte{4, 0, 0, 0, 'm', 'd', 'a', 't'}, want: Header{Size: MaxSize, Len: 8, Type: [4]byte{'m', 'd', 'a', 't'}}, ok: true},
		{name: "one past the limit", in: []byte{4, 0, 0, 1, 'm', 'd', 'a', 't'}, problem: "declares 67108865 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok, err := ParseHeader(tc.in)
			if tc.problem != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("error %v, want one matching ErrMalformed saying %q", err, tc.problem)
				}
				return
			}
			if err != nil || ok != tc.ok || h != tc.want {
				t.Fatalf("got %+v %v %v, want %+v %v", h, ok, err, tc.want, tc.ok)
			}
		})
	}
}

func TestReader(t *testing.T) {
	ftyp, moof, mdat := box("ftyp", []byte("isom"), false), box("moof", nil, false), box("mdat", []byte("data"), true)
	stream := bytes.Join([][]byte{ftyp, moof, mdat}, nil)
	r := NewReader(bytes.NewReader(stream))
	var pos uint64
	for _, want := range [][]byte{ftyp, moof, mdat} {
		b, at, err := r.Next()
		if err != nil || !bytes.Equal(b, want) || at != pos {
			t.Fatalf("Next = % x at %d, %v; want % x at %d", b, at, err, want, pos)
		}
		pos += uint64(len(want))
	}
	if _, _, err := r.Next(); err != io.EOF { //nolint:errorlint // the clean end is io.EOF itself
		t.Fatalf("at the end: %v, want io.EOF", err)
	}

	for _, tc := range []struct {
		name, problem string
		in            []byte
	}{
		{"header cut", "stream ends inside a box header", stream[:len(ftyp)+3]},
		{"large header cut", "stream ends inside a box header", mdat[:10]},
		{"box cut", `stream ends inside box "mdat"`, mdat[:len(mdat)-1]},
		{"to the end", "runs to the end", []byte{0, 0, 0, 0, 'm', 'd', 'a', 't'}},
		{"oversized", "declares", []byte{0xff, 0xff, 0xff, 0xff, 'm', 'd', 'a', 't'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.in))
			var err error
			for err == nil {
				_, _, err = r.Next()
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("error %v, want one matching ErrMalformed saying %q", err, tc.problem)
			}
		})
	}

	boom := errors.New("pipe broke")
	if _, _, err := NewReader(io.MultiReader(bytes.NewReader(ftyp), errReader{boom})).Next(); err != nil {
		t.Fatalf("the first box: %v", err)
	}
	r = NewReader(io.MultiReader(bytes.NewReader(ftyp), errReader{boom}))
	_, _, _ = r.Next()
	if _, _, err := r.Next(); !errors.Is(err, boom) || errors.Is(err, ErrMalformed) {
		t.Fatalf("a failing stream between boxes: %v, want its own error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestFramerAnyWriteSizes(t *testing.T) {
	want := [][]byte{box("ftyp", []byte("isom"), false), box("moov", bytes.Repeat([]byte{7}, 40), false), box("mdat", []byte("data"), true)}
	stream := bytes.Join(want, nil)
	for chunk := 1; chunk <= len(stream); chunk++ {
		var f Framer
		var got [][]byte
		for p := stream; len(p) > 0; {
			n := min(chunk, len(p))
			if err := f.Write(p[:n], func(h Header, b []byte) error {
				if uint64(len(b)) != h.Size {
					t.Fatalf("box of %d bytes, header says %d", len(b), h.Size)
				}
				got = append(got, bytes.Clone(b))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d boxes, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("chunk %d: box %d is % x, want % x", chunk, i, got[i], want[i])
			}
		}
	}
}

func TestFramerErrors(t *testing.T) {
	var f Framer
	if err := f.Write([]byte{0, 0, 0, 4, 'f', 't', 'y', 'p'}, func(Header, []byte) error { return nil }); !errors.Is(err, ErrMalformed) {
		t.Errorf("a box smaller than its header: %v", err)
	}
	stop := errors.New("stop")
	f = Framer{}
	if err := f.Write(box("free", nil, false), func(Header, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("the callback's error: %v", err)
	}
}
