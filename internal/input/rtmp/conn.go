package rtmp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/sluice-video/sluice/internal/input/live"
)

// conn is one client connection: handshake, command exchange, admission,
// then the media of an admitted publisher until either side ends it.
type conn struct {
	srv      *Server
	nc       net.Conn
	remote   string
	accepted time.Time
	// admitted takes the connection out of the handshakes in progress,
	// once it is admitted (calls after the first do nothing).
	admitted func()
}

func (c *conn) run() {
	defer func() {
		// The parsers below take hostile bytes; a bug in one must end
		// this connection, never the server.
		if p := recover(); p != nil {
			c.srv.Logger.Error("RTMP connection ended on malformed data", "remote", c.remote, "panic", fmt.Sprint(p))
		}
	}()
	log := c.srv.Logger.With("remote", c.remote)

	budget := newBudgetConn(c.nc, maxBytesBeforeAdmission)
	handshakeDeadline := c.accepted.Add(c.srv.HandshakeTimeout)
	opening, err := readOpening(c.nc, budget, earlier(c.accepted.Add(c.srv.FirstBytesTimeout), handshakeDeadline))
	if err != nil {
		c.failed(log, err, live.RefusedIdle, fmt.Sprintf("RTMP connection closed: it did not start its handshake within %s", c.srv.FirstBytesTimeout))
		return
	}
	_ = c.nc.SetDeadline(handshakeDeadline)
	bc := bytecounter.NewReadWriter(readWriter{opening, budget})
	keyIn, _, err := handshake.DoServer(bc, false)
	if err != nil {
		c.failed(log, err, live.RefusedHandshakeTimeout, fmt.Sprintf("RTMP connection closed: its handshake did not complete within %s", c.srv.HandshakeTimeout))
		return
	}
	if keyIn != nil {
		c.refused(live.RefusedBadRequest, "RTMP connection refused: encrypted RTMP (RTMPE) is not supported; use RTMPS")
		return
	}
	mrw := message.NewReadWriter(bc, bc, false)
	req, err := negotiate(mrw)
	if err != nil {
		c.failed(log, err, live.RefusedHandshakeTimeout, fmt.Sprintf("RTMP connection closed: it did not ask to publish within %s", c.srv.HandshakeTimeout))
		return
	}
	if !req.Publish {
		_ = refuse(mrw, req, "NetStream.Play.Failed", "Sluice takes RTMP publishers only; play the channel's HLS or DASH output instead.")
		c.refused(live.RefusedBadRequest, "RTMP play request refused: Sluice's RTMP is ingest only")
		return
	}
	key, err := streamKey(req.TCURL, req.App, req.Name)
	if err != nil {
		c.refuseAfterPenalty(mrw, req, "NetStream.Publish.BadName", "Publishing refused: "+err.Error()+".")
		c.refused(live.RefusedStreamKey, "RTMP publisher refused", "reason", err.Error(), "app", truncate(req.App))
		return
	}
	hub, err := c.srv.Registry.Admit("rtmp", key, c.remote)
	if err != nil {
		// The answer does not tell a wrong key from a refused address.
		c.refuseAfterPenalty(mrw, req, "NetStream.Publish.Rejected", "Publishing refused: unknown stream key or address not allowed.")
		reason := live.RefusedStreamKey
		if errors.Is(err, live.ErrNotAllowed) {
			reason = live.RefusedSecurityGroup
		}
		c.refused(reason, "RTMP publisher refused", "reason", err.Error())
		return
	}
	log = log.With("input", hub.Name())
	sess, err := hub.Claim(live.Publisher{Protocol: "rtmp", Remote: c.remote})
	if err != nil {
		_ = refuse(mrw, req, "NetStream.Publish.BadName", "Publishing refused: the input already has a publisher.")
		c.refused(live.RefusedBusy, "RTMP publisher refused: the input already has a publisher", "input", hub.Name(), "reason", err.Error())
		return
	}
	// Ends the session also when a parser panics below (a no-op otherwise).
	defer sess.Close("the RTMP connection failed on malformed data")
	c.admitted()
	budget.lift()
	_ = c.nc.SetDeadline(time.Now().Add(c.srv.ReadTimeout))
	if err := acceptPublish(mrw, req); err != nil {
		sess.Close("the RTMP publisher went away during the handshake")
		log.Info("RTMP publisher left before its first frame", "reason", describe(err))
		return
	}
	log.Info("RTMP publisher connected") // neither the app nor the name: either may hold the key
	reason := c.publish(mrw, hub, sess, log.Warn)
	sess.Close(reason)
	log.Info("RTMP publisher disconnected", "reason", reason)
}

// failed ends a connection whose handshake or command exchange failed: a
// client that left is only noted; one that ran out of time is refused
// for timeout with msg; anything else is a bad request.
func (c *conn) failed(log *slog.Logger, err error, timeout live.Refusal, msg string) {
	switch {
	case isTimeout(err):
		c.refused(timeout, msg)
	case leftEarly(err):
		log.Debug("RTMP client left before publishing", "reason", describe(err))
	default:
		c.refused(live.RefusedBadRequest, "RTMP connection refused: "+describe(err))
	}
}

// refused counts and logs a refusal of this connection.
func (c *conn) refused(reason live.Refusal, msg string, attrs ...any) {
	c.srv.refusals.Refuse(c.remote, reason, msg, attrs...)
}

// publish reads the publisher's messages into the session until it leaves,
// falls silent, sends something unusable, or the session is ended from
// outside (then the connection is closed at once).
func (c *conn) publish(mrw *message.ReadWriter, hub *live.Hub, sess *live.Session, warn func(string, ...any)) string {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sess.Done():
			_ = c.nc.Close()
		case <-stop:
		}
	}()
	d := newDemuxer(sess, func(text string) { warn("RTMP publisher: " + text) })
	for {
		_ = c.nc.SetDeadline(time.Now().Add(c.srv.ReadTimeout))
		msg, err := mrw.Read()
		if err == nil {
			err = d.handle(msg)
		}
		if err == nil {
			continue
		}
		select {
		case <-sess.Done():
			return "Sluice ended the session: " + hub.Status().LastEndReason
		default:
		}
		switch {
		case c.srv.isClosed():
			return "the RTMP server is shutting down"
		case errors.Is(err, errPublisherLeft):
			return "the publisher stopped publishing"
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Sprintf("no data from the publisher for %s", c.srv.ReadTimeout)
		}
		return describe(err)
	}
}

// refuseAfterPenalty waits the registry's penalty for the address (so that
// guessing keys gets slower with each wrong guess), then answers.
func (c *conn) refuseAfterPenalty(mrw *message.ReadWriter, req *request, code, description string) {
	if p := c.srv.Registry.Penalty(c.remote); p > 0 {
		t := time.NewTimer(p)
		select {
		case <-t.C:
		case <-c.srv.done:
			t.Stop()
			return
		}
	}
	_ = c.nc.SetDeadline(time.Now().Add(c.srv.HandshakeTimeout))
	_ = refuse(mrw, req, code, description)
}

// leftEarly reports errors that mean the client went away (or the server
// is closing), which refuses nobody.
func leftEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

// describe words a connection error for the log.
func describe(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the client closed the connection"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "the client was too slow"
	case errors.Is(err, errBudget):
		return errBudget.Error()
	case errors.Is(err, net.ErrClosed):
		return "the connection was closed"
	case strings.Contains(err.Error(), "connection reset"):
		return "the client reset the connection"
	}
	return err.Error()
}
