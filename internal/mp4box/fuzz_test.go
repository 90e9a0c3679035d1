package mp4box

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// FuzzFrame feeds arbitrary bytes to the Reader and, in pieces of any size,
// to the Framer: neither may panic or buffer past MaxSize, and both must
// find the same boxes and refuse the same streams.
func FuzzFrame(f *testing.F) {
	if seed := media.EncoderStream(f); seed != nil {
		f.Add(seed, 4096)
		f.Add(seed[:len(seed)/2], 13)
	}
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p'}, 1)
	f.Add([]byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 3)
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'f', 0, 0, 0, 8, 'm', 'd', 'a', 't'}, 3)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 + len(data)
		}
		var read [][]byte
		r := NewReader(bytes.NewReader(data))
		var rerr error
		for {
			b, _, err := r.Next()
			if err != nil {
				rerr = err
				break
			}
			if len(b) > MaxSize {
				t.Fatalf("a box of %d bytes", len(b))
			}
			read = append(read, b)
		}
		if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, ErrMalformed) {
			t.Fatalf("Reader error %v is neither io.EOF nor ErrMalformed", rerr)
		}

		var framed [][]byte
		var fr Framer
		var ferr error
		for p := data; len(p) > 0 && ferr == nil; {
			n := min(chunk, len(p))
			ferr = fr.Write(p[:n], func(_ Header, b []byte) error {
				framed = append(framed, bytes.Clone(b))
				return nil
			})
			p = p[n:]
		}
		if ferr != nil && !errors.Is(ferr, ErrMalformed) {
			t.Fatalf("Framer error %v is not ErrMalformed", ferr)
		}
		if len(framed) != len(read) {
			t.Fatalf("the Framer found %d boxes, the Reader %d", len(framed), len(read))
		}
		for i := range read {
			if !bytes.Equal(framed[i], read[i]) {
				t.Fatalf("box %d differs", i)
			}
		}
		// Both refuse a bad header with the same words; the Reader alone
		// refuses a stream cut short, which the Framer keeps waiting on.
		cut := errors.Is(rerr, ErrMalformed) && strings.Contains(rerr.Error(), "stream ends inside")
		switch {
		case ferr != nil && (rerr == nil || ferr.Error() != rerr.Error()):
			t.Fatalf("the Framer refused (%v), the Reader said %v", ferr, rerr)
		case ferr == nil && errors.Is(rerr, ErrMalformed) && !cut:
			t.Fatalf("the Reader refused (%v), the Framer did not", rerr)
		}
	})
}
