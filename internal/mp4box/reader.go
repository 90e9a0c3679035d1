package mp4box

import (
	"bytes"
	"errors"
	"io"
)

// Reader reads whole boxes from a stream, such as the pipe of one encoder
// output.
type Reader struct {
	r   io.Reader
	pos uint64
	buf bytes.Buffer
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next returns the next whole box, header included, as a copy the caller
// may keep, and the stream offset at which it starts. It returns io.EOF
// when the stream ends cleanly between two boxes, and the stream's own
// error when reading a box header fails otherwise; a box cut short or out
// of bounds is an error matching ErrMalformed. The box is buffered as its
// bytes arrive, so a size that lies costs no more than the bytes sent.
func (r *Reader) Next() (box []byte, pos uint64, err error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r.r, hdr[:8]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, malformed("stream ends inside a box header")
		}
		return nil, 0, err
	}
	n := 8
	if hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0 && hdr[3] == 1 {
		if _, err := io.ReadFull(r.r, hdr[8:16]); err != nil {
			return nil, 0, malformed("stream ends inside a box header")
		}
		n = 16
	}
	h, _, err := ParseHeader(hdr[:n])
	if err != nil {
		return nil, 0, err
	}
	r.buf.Reset()
	r.buf.Write(hdr[:h.Len])
	if _, err := io.CopyN(&r.buf, r.r, int64(h.Size)-int64(h.Len)); err != nil { //nolint:gosec // h.Size <= MaxSize
		return nil, 0, malformed("stream ends inside box %q", h.Name())
	}
	pos = r.pos
	r.pos += h.Size
	return bytes.Clone(r.buf.Bytes()), pos, nil
}
