package rtmp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// openingSize is C0 and C1: the version byte and the 1536 bytes a client
// sends as soon as it has connected, before it hears from the server.
const openingSize = 1 + 1536

// readOpening reads C0 and C1 by the deadline, so that a connection that
// sends nothing, or only a trickle, is closed long before the handshake
// timeout and holds its place among the handshakes in progress briefly.
// It returns a reader that gives the bytes read again and then the rest
// of r, for the handshake to read from the start.
func readOpening(nc net.Conn, r io.Reader, deadline time.Time) (io.Reader, error) {
	_ = nc.SetDeadline(deadline)
	buf := make([]byte, openingSize)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(buf), r), nil
}

// readWriter reads from one side and writes to another: the replayed
// opening and the connection.
type readWriter struct {
	io.Reader
	io.Writer
}

// isTimeout reports whether err is a deadline that ran out, on the
// connection or, on RTMPS, in its TLS handshake.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
