package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// origin is one member of the origin group and what is known of its health.
type origin struct {
	base    string // scheme://host:port
	healthy atomic.Bool

	requests atomic.Uint64
	errors   atomic.Uint64

	// failedChecks counts health checks failed in a row; it is touched only
	// by the checking goroutine.
	failedChecks int

	mu        sync.Mutex
	lastCheck time.Time
	lastError string
}

// originGroup sends requests to the first healthy origin and fails over to
// the next on connection errors, timeouts and 5xx; a background check of
// HealthPath marks origins up and down.
type originGroup struct {
	origins  []*origin
	client   *http.Client
	timeout  time.Duration
	via      string
	health   string
	interval time.Duration
	now      func() time.Time
	logger   *slog.Logger
	observe  func(latency time.Duration, failed bool)

	stop chan struct{}
	done chan struct{}
}

// errOriginTimeout is the cause of a request cancelled for silence.
var errOriginTimeout = errors.New("the origin did not answer in time")

func newOriginGroup(cfg Config, observe func(time.Duration, bool)) *originGroup {
	g := &originGroup{
		client:   cfg.Client,
		timeout:  cfg.OriginTimeout,
		via:      "1.1 " + cfg.Name,
		health:   cfg.HealthPath,
		interval: cfg.HealthInterval,
		now:      cfg.Now,
		logger:   cfg.Logger,
		observe:  observe,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, o := range cfg.Origins {
		u, _ := url.Parse(o) // checked by withDefaults
		og := &origin{base: u.Scheme + "://" + u.Host}
		og.healthy.Store(true)
		g.origins = append(g.origins, og)
	}
	return g
}

// originResponse is a response being read from an origin. Reading resets
// the silence timer; Close releases the request.
type originResponse struct {
	*http.Response
	origin *origin
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// read reads the body, failing with errOriginTimeout after a silence longer
// than the origin timeout.
func (r *originResponse) read(p []byte, timeout time.Duration) (int, error) {
	r.timer.Reset(timeout)
	n, err := r.Body.Read(p)
	r.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) {
		if cause := context.Cause(r.ctx); cause != nil {
			err = cause
		}
	}
	return n, err
}

// close releases the response.
func (r *originResponse) close() {
	r.timer.Stop()
	_ = r.Body.Close()
	r.cancel(nil)
}

// preferred lists the healthy origins in order, then the others: when all
// are marked down the checks may be stale, so they are still tried.
func (g *originGroup) preferred() []*origin {
	out := make([]*origin, 0, len(g.origins))
	for _, o := range g.origins {
		if o.healthy.Load() {
			out = append(out, o)
		}
	}
	for _, o := range g.origins {
		if !o.healthy.Load() {
			out = append(out, o)
		}
	}
	return out
}

// do asks the origins for target (path and query) in order of preference
// and returns the first response below 500. When every origin fails, it
// returns the last 5xx response if there was one, else the last error. hdr
// adds request headers.
func (g *originGroup) do(ctx context.Context, target string, hdr http.Header) (*originResponse, error) {
	var last *originResponse
	var lastErr error
	for _, o := range g.preferred() {
		resp, err := g.try(ctx, o, target, hdr)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if resp.StatusCode < 500 {
			if last != nil {
				last.close()
			}
			return resp, nil
		}
		if last != nil {
			last.close()
		}
		last = resp
	}
	if last != nil {
		return last, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no origin to ask")
	}
	return nil, lastErr
}

// try sends one request to one origin and waits for its headers.
func (g *originGroup) try(parent context.Context, o *origin, target string, hdr http.Header) (*originResponse, error) {
	ctx, cancel := context.WithCancelCause(parent)
	// target is a cache key, always a path from "/": the host stays the
	// configured origin's.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base+target, http.NoBody) //nolint:gosec // see above
	if err != nil {
		cancel(nil)
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Via", g.via)
	req.Header.Set("User-Agent", "sluice-edge")
	req.Header.Set("Accept-Encoding", "identity")
	timer := time.AfterFunc(g.timeout, func() { cancel(errOriginTimeout) })
	o.requests.Add(1)
	start := time.Now()
	resp, err := g.client.Do(req) //nolint:gosec,bodyclose // a configured origin; originResponse.close closes the body
	timer.Stop()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && parent.Err() == nil {
			err = cause
		}
		cancel(nil)
		o.errors.Add(1)
		g.observe(time.Since(start), true)
		if parent.Err() == nil {
			// A connection error or a timeout says the origin is in trouble;
			// the health check brings it back.
			g.mark(o, false, err.Error())
		}
		return nil, fmt.Errorf("origin %s: %w", o.base, err)
	}
	g.observe(time.Since(start), resp.StatusCode >= 500)
	if resp.StatusCode >= 500 {
		o.errors.Add(1)
	}
	return &originResponse{Response: resp, origin: o, ctx: ctx, cancel: cancel, timer: timer}, nil
}

// mark records an origin's health, logging changes.
func (g *originGroup) mark(o *origin, healthy bool, reason string) {
	o.mu.Lock()
	o.lastCheck = g.now()
	o.lastError = reason
	o.mu.Unlock()
	if was := o.healthy.Swap(healthy); was != healthy {
		if healthy {
			g.logger.Info("origin is up", "origin", o.base)
		} else {
			g.logger.Warn("origin is down", "origin", o.base, "reason", reason)
		}
	}
}

// run checks every origin each interval until stopped.
func (g *originGroup) run() {
	defer close(g.done)
	if g.interval <= 0 {
		<-g.stop
		return
	}
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.checkAll()
		}
	}
}

// downAfterChecks is how many health checks in a row must fail before an
// origin is marked down, so one slow or lost check does not flip it.
const downAfterChecks = 2

// checkAll checks every origin at once and waits for the answers. A check
// may take as long as an origin request would; ticks missed meanwhile are
// dropped.
func (g *originGroup) checkAll() {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for _, o := range g.origins {
		wg.Go(func() { g.check(ctx, o) })
	}
	wg.Wait()
}

// check asks one origin for the health path: any 2xx is healthy.
func (g *originGroup) check(ctx context.Context, o *origin) {
	reason := g.probe(ctx, o)
	select {
	case <-g.stop:
		return // the edge is closing; the origin is not to blame
	default:
	}
	if reason == "" {
		o.failedChecks = 0
		g.mark(o, true, "")
		return
	}
	o.failedChecks++
	if o.failedChecks >= downAfterChecks || !o.healthy.Load() {
		g.mark(o, false, reason)
	}
}

// probe makes one health request and says what was wrong with it, or ""
// when the origin answered 2xx.
func (g *originGroup) probe(ctx context.Context, o *origin) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base+g.health, http.NoBody)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Via", g.via)
	req.Header.Set("User-Agent", "sluice-edge")
	resp, err := g.client.Do(req)
	if err != nil {
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "health check answered " + resp.Status
	}
	return ""
}

// anyHealthy reports whether at least one origin is up.
func (g *originGroup) anyHealthy() bool {
	for _, o := range g.origins {
		if o.healthy.Load() {
			return true
		}
	}
	return false
}

// close stops the health checks.
func (g *originGroup) close() {
	close(g.stop)
	<-g.done
}

// OriginHealth is what the edge knows of one origin.
type OriginHealth struct {
	// URL is the origin's address; credentials in it are secrets, as in
	// resource.DistributionSpec.Origins.
	URL     string `json:"url" secret:"url"`
	Healthy bool   `json:"healthy"`
	// LastCheck is when its health was last observed, by a check or by a
	// request that failed; LastError says what went wrong then.
	LastCheck time.Time `json:"lastCheck,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	// Requests and Errors count requests sent to it and those that failed
	// (connection errors, timeouts, 5xx).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
}

func (g *originGroup) states() []OriginHealth {
	out := make([]OriginHealth, 0, len(g.origins))
	for _, o := range g.origins {
		o.mu.Lock()
		h := OriginHealth{URL: o.base, Healthy: o.healthy.Load(), LastCheck: o.lastCheck, LastError: o.lastError, Requests: o.requests.Load(), Errors: o.errors.Load()}
		o.mu.Unlock()
		out = append(out, h)
	}
	return out
}
