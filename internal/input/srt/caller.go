package srt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/outbound"
)

// CallerConfig is an SRT_CALLER input: Sluice connects to an SRT listener
// and reads the MPEG-TS it sends.
type CallerConfig struct {
	// Input names the hub the stream feeds.
	Input string
	// Address is the listener's host:port.
	Address string
	// StreamID, Passphrase (10 to 79 characters, or empty for none) and
	// Latency (SRT's default when zero) are the connection's SRT options.
	StreamID   string
	Passphrase string
	Latency    time.Duration
	// ReadTimeout ends a connection that carries no media for this long;
	// DefaultReadTimeout when zero.
	ReadTimeout time.Duration
	// Policy says which addresses the listener may be at. SRT takes an
	// address, not a dialer: the name is resolved here, checked, and the
	// checked address is the one dialled. Nil allows every address.
	Policy *outbound.Policy
}

// Reconnection backoff of the caller.
const (
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
	// stableSession is how long a session must last for the next
	// reconnection to start again at firstBackoff.
	stableSession = 30 * time.Second
)

// Call connects to cfg.Address, publishes what it receives on the input's
// hub, and reconnects with a backoff (1 s, doubling to 30 s) whenever the
// connection fails or ends, until ctx is done. Each failure is logged in
// words. It returns nil when ctx ends, or an error if cfg is unusable.
func Call(ctx context.Context, cfg CallerConfig, reg *live.Registry, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	srtCfg, err := callerSRTConfig(cfg)
	if err != nil {
		return fmt.Errorf("SRT caller for input %s: %w", cfg.Input, err)
	}
	log := logger.With("input", cfg.Input, "address", cfg.Address)
	backoff := firstBackoff
	for {
		start := time.Now()
		reason, err := callOnce(ctx, cfg, srtCfg, reg, log)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Warn("SRT caller could not publish", "reason", err.Error(), "retry_in", backoff)
		} else {
			log.Info("SRT caller session ended", "reason", reason, "retry_in", backoff)
		}
		if time.Since(start) >= stableSession {
			backoff = firstBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// callerSRTConfig builds and checks the connection options.
func callerSRTConfig(cfg CallerConfig) (gosrt.Config, error) {
	c := gosrt.DefaultConfig()
	c.StreamId = cfg.StreamID
	c.Passphrase = cfg.Passphrase
	if cfg.Latency > 0 {
		c.Latency = cfg.Latency
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// callOnce makes one connection and reads it until it ends. The error is
// for failures before media could flow; the reason says why a session ended.
func callOnce(ctx context.Context, cfg CallerConfig, srtCfg gosrt.Config, reg *live.Registry, log *slog.Logger) (reason string, err error) {
	hub, ok := reg.Hub(cfg.Input)
	if !ok {
		return "", fmt.Errorf("input %s does not exist", cfg.Input)
	}
	addr, err := cfg.Policy.Resolve(ctx, cfg.Address)
	if err != nil {
		hub.Failed(err.Error())
		return "", err
	}
	conn, err := dial(ctx, addr, srtCfg)
	if err != nil {
		hub.Failed(err.Error())
		return "", fmt.Errorf("connecting to %s failed: %w", cfg.Address, err)
	}
	sess, err := hub.Claim(live.Publisher{Protocol: "srt", Remote: cfg.Address})
	if err != nil {
		_ = conn.Close()
		return "", err
	}
	defer func() {
		// A bug in a parser of hostile bytes must end this session, not Sluice.
		if p := recover(); p != nil {
			_ = conn.Close()
			reason = "the stream failed on malformed data"
			sess.Close(reason)
			log.Error("SRT caller session ended on malformed data", "panic", fmt.Sprint(p))
		}
	}()
	log.Info("SRT caller connected")
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	reason = readSession(conn, hub, sess, cfg.ReadTimeout, func(w string) { log.Warn("SRT source: " + w) })
	if ctx.Err() != nil {
		reason = "the input was stopped"
	}
	sess.Close(reason)
	return reason, nil
}

// dial connects, giving up when ctx ends (gosrt's own connection timeout
// bounds the attempt otherwise).
func dial(ctx context.Context, addr string, cfg gosrt.Config) (gosrt.Conn, error) {
	type result struct {
		conn gosrt.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := gosrt.Dial("srt", addr, cfg)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.conn, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.conn != nil {
				_ = r.conn.Close()
			}
		}()
		return nil, errors.New("the input was stopped")
	}
}
