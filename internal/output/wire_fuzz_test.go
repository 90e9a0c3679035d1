package output

import (
	"bytes"
	"net/url"
	"testing"
	"time"
)

// FuzzFrameReader feeds arbitrary bytes to the frames stream reader: it
// must return frames or an error, never panic or allocate beyond its limits.
func FuzzFrameReader(f *testing.F) {
	var b bytes.Buffer
	_ = WriteFrame(&b, FrameHeader{Seq: 1, PTS: 2, Time: time.Unix(3, 0), Width: 2, Height: 1, Format: FormatRGB24}, make([]byte, 6))
	_ = WriteFrame(&b, FrameHeader{Seq: 2, Format: FormatJPEG}, []byte{0xff, 0xd8})
	f.Add(b.Bytes())
	f.Add([]byte("SLFR\x00\x00\x00\x02{}\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewFrameReader(bytes.NewReader(data))
		for range 100 {
			h, p, err := r.Next()
			if err != nil {
				return
			}
			if len(p) > MaxPayload || (h.Format == FormatRGB24 && len(p) != h.Width*h.Height*3) {
				t.Fatalf("frame %+v with %d bytes", h, len(p))
			}
		}
	})
}

// FuzzParseFrameRequest checks that any query gives a request within the
// limits or an error.
func FuzzParseFrameRequest(f *testing.F) {
	for _, s := range []string{"", "width=224&height=224&fps=5&format=rgb24", "fps=1e309", "count=-1&transport=x", "width=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := ParseFrameRequest(q)
		if err != nil {
			return
		}
		if req.FPS < 0.01 || req.FPS > MaxFramesFPS || req.Width < 0 || req.Width > 3840 || req.Height > 3840 || req.Count < 0 || (req.Width == 0) != (req.Height == 0) {
			t.Fatalf("accepted %+v from %q", req, raw)
		}
	})
}
