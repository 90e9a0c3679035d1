package srt

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// DefaultReadTimeout is how long an SRT publisher may send no media
// before Sluice ends its session (SRT keepalives do not count).
const DefaultReadTimeout = 10 * time.Second

// readSession demuxes the MPEG-TS an SRT connection carries into the
// session until the connection ends, falls silent for idle, or the session
// is ended from outside (then the connection is closed at once). It
// returns why the session ended, in words.
func readSession(conn io.ReadCloser, hub *live.Hub, sess *live.Session, idle time.Duration, warn func(string)) string {
	r := &activityReader{r: conn}
	r.touch()
	stop := make(chan struct{})
	var silent atomic.Bool
	go func() {
		tick := time.NewTicker(max(min(idle/4, time.Second), 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-sess.Done():
				_ = conn.Close()
				return
			case <-stop:
				return
			case <-tick.C:
				if r.idleFor() > idle {
					silent.Store(true)
					_ = conn.Close()
					return
				}
			}
		}
	}()
	err := live.ReadTS(r, sess, warn)
	close(stop)
	_ = conn.Close()
	select {
	case <-sess.Done():
		return "Sluice ended the session: " + hub.Status().LastEndReason
	default:
	}
	switch {
	case silent.Load():
		return fmt.Sprintf("no media from the publisher for %s", idle)
	case err == nil, errors.Is(err, io.EOF):
		return "the publisher closed the connection"
	case errors.Is(err, live.ErrNoVideo):
		return err.Error()
	}
	if r.failed(err) {
		return "the connection failed: " + err.Error()
	}
	return "the stream could not be read: " + err.Error()
}

// activityReader remembers when data last arrived, and the connection's
// error to tell it from the demuxer's.
type activityReader struct {
	r    io.Reader
	last atomic.Int64
	err  error // only touched by the reading goroutine
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	if err != nil {
		a.err = err
	}
	return n, err
}

// failed reports whether err came from the connection.
func (a *activityReader) failed(err error) bool { return a.err != nil && errors.Is(err, a.err) }

func (a *activityReader) touch() { a.last.Store(time.Now().UnixNano()) }

func (a *activityReader) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - a.last.Load())
}
