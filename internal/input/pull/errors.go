package pull

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

	"github.com/sluice-video/sluice/internal/outbound"
)

// ErrProgressiveMP4 refuses an HTTP URL that serves an MP4 file: it has
// no live edge to follow, and Sluice plays files through FILE inputs.
var ErrProgressiveMP4 = errors.New("the URL serves a progressive MP4 file, which cannot be pulled as a live stream; use a FILE input for it")

// Reasons an attempt ends without a failure of the connection.
var (
	// errEnded: the source finished (a VOD playlist played out, a stream closed).
	errEnded = errors.New("the source ended the stream")
	// errStopped: Run's context ended.
	errStopped = errors.New("the input was stopped")
)

// kickedError: Sluice ended the session from outside (the input deleted).
type kickedError struct{ reason string }

func (e *kickedError) Error() string { return "Sluice ended the session: " + e.reason }

// statusError is an HTTP or RTSP answer that is not a success.
type statusError struct {
	code int
	text string
}

func (e *statusError) Error() string {
	text := e.text
	if text == "" {
		text = http.StatusText(e.code)
	}
	return fmt.Sprintf("%d %s", e.code, text)
}

// idleError: the source sent nothing for a while.
type idleError struct{ d time.Duration }

func (e *idleError) Error() string { return fmt.Sprintf("no data from the source for %s", e.d) }

// panicError: a parser failed on hostile or broken data.
type panicError struct{ value any }

func (e *panicError) Error() string {
	return fmt.Sprintf("the stream failed on malformed data (%v)", e.value)
}

// describe says why an attempt failed, in words, without credentials.
func describe(err error, s *source) string {
	var (
		status   *statusError
		rtspCode liberrors.ErrClientBadStatusCode
		opErr    *net.OpError
		dnsErr   *net.DNSError
		denied   *outbound.DeniedError
	)
	// "Get \"<the source's URL>\": …" repeats what the log line says already.
	var ue *url.Error
	if errors.As(err, &ue) && (ue.URL == s.public || ue.URL == s.url.Redacted() || ue.URL == s.raw) {
		err = ue.Err
	}
	switch {
	case err == nil:
		return "no reason given"
	case errors.As(err, &denied):
		return denied.Error()
	case errors.Is(err, context.Canceled):
		return errStopped.Error()
	case errors.As(err, &status):
		return status.Error()
	case errors.As(err, &rtspCode):
		return (&statusError{code: int(rtspCode.Code), text: rtspCode.Message}).Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Addr != nil {
			return "connection refused by " + opErr.Addr.String()
		}
		return "connection refused"
	case errors.As(err, &dnsErr):
		return s.secret.clean(fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err))
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return s.secret.clean("timed out: " + err.Error())
	}
	return s.secret.clean(err.Error())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
