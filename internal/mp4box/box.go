// Package mp4box frames the top-level boxes of an MP4 byte stream: it reads
// box headers, bounds box sizes and hands whole boxes over without decoding
// them. The packager's encoder-output reader (a pull Reader over a pipe) and
// the outputs' stream tap (a push Framer fed by writes) both frame with it,
// so both refuse the same streams for the same reasons.
package mp4box

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxSize bounds one top-level box. A fragment of a few hundred
// milliseconds of even 4K video is far below it; anything larger is a
// corrupt or hostile stream and is refused before it is buffered.
const MaxSize = 64 << 20

// ErrMalformed matches (errors.Is) every error about the bytes of a box
// stream. The errors' own text describes the fault without this prefix, so
// that callers wrap them in their own sentinel.
var ErrMalformed = errors.New("malformed MP4 box stream")

// formatError is a fault in the bytes of a box stream.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrMalformed }

func malformed(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// Header is the start of a box.
type Header struct {
	// Size is the whole box's length, header included.
	Size uint64
	// Len is the header's length: 8, or 16 with a 64-bit size.
	Len int
	// Type is the four-character box type.
	Type [4]byte
}

// Name is the box type with unprintable bytes shown as '?', for messages.
func (h Header) Name() string { return Printable(h.Type[:]) }

// ParseHeader reads the header at the start of b. ok is false while b is
// too short to hold it. A box that runs to the end of the stream (size 0)
// or whose size is smaller than its header or larger than MaxSize is an
// error matching ErrMalformed.
func ParseHeader(b []byte) (h Header, ok bool, err error) {
	if len(b) < 8 {
		return Header{}, false, nil
	}
	copy(h.Type[:], b[4:8])
	h.Size, h.Len = uint64(binary.BigEndian.Uint32(b)), 8
	switch h.Size {
	case 0:
		return Header{}, false, malformed("box %q runs to the end of the stream, which a live stream cannot do", h.Name())
	case 1:
		if len(b) < 16 {
			return Header{}, false, nil
		}
		h.Size, h.Len = binary.BigEndian.Uint64(b[8:]), 16
	}
	if h.Size < uint64(h.Len) || h.Size > MaxSize { //nolint:gosec // h.Len is 8 or 16
		return Header{}, false, malformed("box %q declares %d bytes (limit %d)", h.Name(), h.Size, MaxSize)
	}
	return h, true, nil
}

// Printable shows a four-character code (a box type, a stream's magic)
// with its unprintable bytes as '?', for messages.
func Printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
