package pull

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"sync/atomic"
	"time"
)

// httpClient is the HTTP client of one attempt. Every request is bounded:
// connecting, the TLS handshake and the response headers each within the
// connect timeout, and a body that sends nothing for the read timeout
// fails. It remembers the last answer that was not a success, since the
// HLS client only reports "bad status code".
type httpClient struct {
	*http.Client
	transport *http.Transport

	mu         sync.Mutex
	lastStatus *statusError
	// activity is when a response body last brought data (Unix nanoseconds).
	activity atomic.Int64
}

// newHTTPClient returns a client; total, when positive, bounds each
// request as a whole (playlists and segments, not endless streams).
func newHTTPClient(o options, total time.Duration) *httpClient {
	t := &http.Transport{
		// No proxy from the environment: the policy must see the address
		// connected to, not a proxy's.
		DialContext:            o.policy.Dialer(o.connectTimeout).DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    o.connectTimeout,
		TLSClientConfig:        o.tlsConfig,
		ResponseHeaderTimeout:  o.readTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
	}
	c := &httpClient{transport: t}
	c.touch()
	jar, _ := cookiejar.New(nil) // never fails without options
	c.Client = &http.Client{
		Transport: &idleTransport{base: t, idle: o.readTimeout, onStatus: c.noteStatus, onData: c.touch},
		Jar:       jar, // some CDNs hand out session cookies with the playlist
		Timeout:   total,
	}
	return c
}

func (c *httpClient) noteStatus(code int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastStatus = &statusError{code: code, text: text}
}

// status returns the last answer that was not a success, if any.
func (c *httpClient) status() *statusError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastStatus
}

func (c *httpClient) touch() { c.activity.Store(time.Now().UnixNano()) }

// idleFor returns how long no response brought data.
func (c *httpClient) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - c.activity.Load())
}

// close drops the attempt's idle connections.
func (c *httpClient) close() { c.transport.CloseIdleConnections() }

// idleTransport fails a response body that sends nothing for idle.
type idleTransport struct {
	base     http.RoundTripper
	idle     time.Duration
	onStatus func(code int, text string)
	onData   func()
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	res, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode >= 400 {
		t.onStatus(res.StatusCode, http.StatusText(res.StatusCode))
	}
	b := &idleBody{body: res.Body, idle: t.idle, cancel: cancel, onData: t.onData}
	b.timer = time.AfterFunc(t.idle, func() {
		b.expired.Store(true)
		cancel()
	})
	res.Body = b
	return res, nil
}

// idleBody is a response body with a watchdog: each read that brings
// data rearms it; when it fires, the request is cancelled.
type idleBody struct {
	body    io.ReadCloser
	idle    time.Duration
	cancel  context.CancelFunc
	timer   *time.Timer
	expired atomic.Bool
	onData  func()
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 && !b.expired.Load() {
		b.timer.Reset(b.idle)
		b.onData()
	}
	if err != nil && b.expired.Load() {
		return n, &idleError{d: b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel()
	return err
}
