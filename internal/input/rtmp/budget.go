package rtmp

import (
	"errors"
	"net"
	"sync/atomic"
)

// errBudget ends a connection that sent more than a handshake needs
// before it was admitted.
var errBudget = errors.New("too many bytes before publishing was admitted")

// maxBytesBeforeAdmission bounds what an unadmitted client may send: the
// handshake (3073 bytes) and a few commands. Media comes only later.
const maxBytesBeforeAdmission = 64 << 10

// budgetConn is a connection that reads at most a budget of bytes until
// lifted, so that nothing unadmitted can make the server buffer much.
type budgetConn struct {
	net.Conn
	left   atomic.Int64
	lifted atomic.Bool
}

func newBudgetConn(c net.Conn, budget int64) *budgetConn {
	b := &budgetConn{Conn: c}
	b.left.Store(budget)
	return b
}

func (b *budgetConn) Read(p []byte) (int, error) {
	if b.lifted.Load() {
		return b.Conn.Read(p)
	}
	left := b.left.Load()
	if left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.Conn.Read(p)
	b.left.Add(-int64(n))
	return n, err
}

// lift removes the budget once the publisher is admitted.
func (b *budgetConn) lift() { b.lifted.Store(true) }
