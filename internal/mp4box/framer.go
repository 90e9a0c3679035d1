package mp4box

// Framer cuts a byte stream written in pieces of any size into whole
// boxes: the push counterpart of Reader, for a tap on a stream that
// someone else reads.
type Framer struct {
	buf []byte
}

// Write adds p to the stream and calls box for every box it completes, in
// order. The slice box receives is the framer's own and valid only during
// the call. Write returns the first error, from the stream (matching
// ErrMalformed) or from box; the framer is not to be used after one.
func (f *Framer) Write(p []byte, box func(h Header, b []byte) error) error {
	f.buf = append(f.buf, p...)
	off := 0
	for {
		rest := f.buf[off:]
		h, ok, err := ParseHeader(rest)
		if err != nil {
			return err
		}
		if !ok || uint64(len(rest)) < h.Size {
			break
		}
		if err := box(h, rest[:h.Size]); err != nil {
			return err
		}
		off += int(h.Size) //nolint:gosec // h.Size <= MaxSize
	}
	if off > 0 {
		f.buf = append(f.buf[:0], f.buf[off:]...)
	}
	return nil
}
