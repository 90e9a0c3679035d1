// Package pull reads the live sources Sluice fetches itself (URL_PULL
// inputs): HLS playlists, MPEG-TS over HTTP, RTMP and RTSP servers. Each
// connection becomes a publishing session on the input's hub, and a source
// that fails or ends is connected again after a backoff.
package pull

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/outbound"
)

// options are a puller's limits; Run uses defaultOptions, tests shorten them.
type options struct {
	// connectTimeout bounds connecting: dial, TLS, handshakes, the first answer.
	connectTimeout time.Duration
	// readTimeout ends a connection that brings nothing for this long.
	readTimeout time.Duration
	// requestTimeout bounds one HLS playlist or segment download.
	requestTimeout time.Duration
	// Reconnection: firstBackoff doubling to maxBackoff, back to
	// firstBackoff after a session that lasted stableAfter.
	firstBackoff, maxBackoff, stableAfter time.Duration
	// maxTSProbe is how many bytes of MPEG-TS over HTTP may go by before
	// the video must be decodable.
	maxTSProbe int64
	// tlsConfig verifies servers of https, rtmps and rtsps URLs; nil uses
	// the system's roots.
	tlsConfig *tls.Config
	// policy says which addresses sources may be at; every connection
	// (and every UDP packet sent) is checked. Nil allows all.
	policy *outbound.Policy
	now    func() time.Time
}

func defaultOptions() options {
	return options{
		connectTimeout: 10 * time.Second,
		readTimeout:    10 * time.Second,
		requestTimeout: 2 * time.Minute,
		firstBackoff:   time.Second,
		maxBackoff:     30 * time.Second,
		stableAfter:    time.Minute,
		maxTSProbe:     32 << 20,
		now:            time.Now,
	}
}

// Run pulls rawURL into the named input's hub until ctx ends, reconnecting
// with backoff (1 s doubling to 30 s, reset after a minute of success);
// each failure is logged in words ("pulling input news from
// rtsp://cam/stream failed: 401 Unauthorized; retrying in 4s").
//
// URL forms: http(s) to an HLS playlist (by a .m3u8/.m3u path or by its
// content), other http(s) URLs as MPEG-TS over HTTP, rtmp(s) to play a
// stream, rtsp(s). Credentials in the URL are used, never logged.
//
// Every connection passes policy, checked on the address connected to; a
// refusal is logged and shown in the input's status (lastError) like any
// other failure, naming the address and the rule.
//
// Run returns nil when ctx ends, and an error at once when the URL cannot
// be pulled at all (an unsupported scheme, a progressive MP4 file).
func Run(ctx context.Context, reg *live.Registry, input, rawURL string, policy *outbound.Policy, logger *slog.Logger) error {
	o := defaultOptions()
	o.policy = policy
	return run(ctx, reg, input, rawURL, logger, o)
}

// run is Run with the limits given.
func run(ctx context.Context, reg *live.Registry, input, rawURL string, logger *slog.Logger, o options) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	src, err := parseSource(rawURL)
	if err != nil {
		return fmt.Errorf("pulling input %s: %w", input, err)
	}
	p := &puller{reg: reg, input: input, src: src, opts: o,
		log:    logger.With("input", input, "url", src.public),
		prefix: fmt.Sprintf("pulling input %s from %s", input, src.public)}
	bo := newBackoff(o.firstBackoff, o.maxBackoff, o.stableAfter)
	for {
		lived, err := p.attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		reason := describe(err, src)
		if lived == 0 && !errors.Is(err, errStopped) {
			p.failed(reason)
		}
		if errors.Is(err, ErrProgressiveMP4) {
			p.log.Error(p.prefix + " failed: " + reason)
			return fmt.Errorf("pulling input %s from %s: %w", input, src.public, err)
		}
		wait := bo.delay(lived)
		if lived > 0 {
			p.log.Warn(fmt.Sprintf("%s ended: %s; reconnecting in %s", p.prefix, reason, wait), "retry_in", wait)
		} else {
			p.log.Warn(fmt.Sprintf("%s failed: %s; retrying in %s", p.prefix, reason, wait), "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// puller is one pull input: the source and where its media goes.
type puller struct {
	reg    *live.Registry
	input  string
	src    *source
	opts   options
	log    *slog.Logger
	prefix string // "pulling input news from rtsp://cam/stream"
}

// failed shows why connecting failed in the input's status.
func (p *puller) failed(reason string) {
	if hub, ok := p.reg.Hub(p.input); ok {
		hub.Failed(reason)
	}
}

// attempt connects to the source once and reads it until it fails or
// ends. It returns how long media flowed and why it stopped.
func (p *puller) attempt(ctx context.Context) (time.Duration, error) {
	hub, ok := p.reg.Hub(p.input)
	if !ok {
		return 0, fmt.Errorf("input %s does not exist", p.input)
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := &attempt{p: p, ctx: actx, cancel: cancel}
	a.feed = &feed{
		hub:    hub,
		pub:    live.Publisher{Protocol: p.src.url.Scheme, Remote: p.src.public},
		log:    p.log,
		prefix: p.prefix + ": ",
		kicked: func(reason string) { cancel(&kickedError{reason: reason}) },
		now:    p.opts.now,
	}
	err := a.run()
	switch {
	case ctx.Err() != nil:
		err = errStopped
	case actx.Err() != nil && context.Cause(actx) != nil:
		err = context.Cause(actx) // a kick or a panic, not the library's own words
	}
	a.feed.close(describe(err, p.src))
	return a.feed.lived(), err
}

// attempt is one connection to the source.
type attempt struct {
	p      *puller
	ctx    context.Context
	cancel context.CancelCauseFunc
	feed   *feed
}

// run dispatches on the scheme; a panic in a parser ends the attempt.
func (a *attempt) run() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	switch a.p.src.url.Scheme {
	case "http", "https":
		return a.pullHTTP()
	case "rtmp", "rtmps":
		return a.pullRTMP()
	default:
		return a.pullRTSP()
	}
}

// guard runs a callback of a library goroutine: a panic there ends the
// attempt instead of Sluice.
func (a *attempt) guard(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			a.cancel(&panicError{value: v})
		}
	}()
	fn()
}

// warn logs a problem with the source once per connection.
func (a *attempt) warn(key, msg string) { a.feed.warn(key, msg) }
