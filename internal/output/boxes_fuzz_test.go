package output

import (
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// FuzzSplitter feeds arbitrary bytes to the encoder-stream tap: it must
// report malformed input as an error, never panic or run away with memory.
func FuzzSplitter(f *testing.F) {
	if seed := media.EncoderStream(f); seed != nil {
		f.Add(seed, 4096)
		f.Add(seed[:len(seed)/2], 13)
	}
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'f', 0, 0, 0, 8, 'm', 'd', 'a', 't'}, 3)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 + len(data)
		}
		var info *initInfo
		sp := splitter{
			onInit: func(b []byte) error {
				in, err := parseInit(b)
				if err == nil {
					info = &in
				}
				return err
			},
			onFragment: func(b []byte) error {
				if info == nil {
					return errBox
				}
				_, err := parseFragment(b, *info)
				return err
			},
		}
		h := NewHub(nil, nil)
		w := h.Writer("v", nil)
		for len(data) > 0 {
			n := min(chunk, len(data))
			if n, err := w.Write(data[:n]); err != nil || n == 0 {
				t.Fatalf("the tap failed a write: %d %v", n, err)
			}
			if err := sp.write(data[:n]); err != nil {
				return
			}
			data = data[n:]
		}
		_ = w.Close()
	})
}
