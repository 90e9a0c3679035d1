package outbound

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Relay lets ffmpeg read remote files through Go, so the policy covers
// them too: ffmpeg's own HTTP client connects wherever a name resolves and
// follows redirects on its own, and no ffmpeg option pins an address. The
// relay listens on loopback; each remote URL in use gets an unguessable
// local URL, and every request ffmpeg makes there (Range requests for
// seeking included) is made again upstream by a client that enforces the
// policy on every connection and redirect.
type Relay struct {
	client *http.Client
	logger *slog.Logger
	ln     net.Listener
	srv    *http.Server

	mu     sync.Mutex
	routes map[string]*Fetch
}

// Fetch is one remote URL relayed: ffmpeg opens URL; Err says why the last
// upstream request failed, in words, since ffmpeg reports only a status.
type Fetch struct {
	// URL is the local address ffmpeg reads.
	URL    string
	remote string
	token  string
	relay  *Relay

	mu  sync.Mutex
	err error
}

// Err returns why the last upstream request failed, nil if it did not.
func (f *Fetch) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *Fetch) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// Close ends the local URL.
func (f *Fetch) Close() {
	f.relay.mu.Lock()
	defer f.relay.mu.Unlock()
	delete(f.relay.routes, f.token)
}

// NewRelay starts a relay on a loopback port; its upstream requests pass p.
func NewRelay(p *Policy, logger *slog.Logger) (*Relay, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the relay for remote files: %w", err)
	}
	r := &Relay{
		client: &http.Client{
			Transport: p.Transport(15 * time.Second),
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 10 {
					return errors.New("stopped after 10 redirects")
				}
				if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
					return fmt.Errorf("redirected to a %s URL; only http and https are followed", req.URL.Scheme)
				}
				return nil
			},
		},
		logger: logger,
		ln:     ln,
		routes: map[string]*Fetch{},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Open returns the local URL of a remote http(s) URL; Close the Fetch once
// ffmpeg is done. The local URL keeps the remote file's name, so ffmpeg
// can still guess the format from its extension.
func (r *Relay) Open(remote string) (*Fetch, error) {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an http(s) URL", redact(remote))
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	name := path.Base(u.Path)
	if name == "/" || name == "." {
		name = "file"
	}
	f := &Fetch{
		URL:    "http://" + r.ln.Addr().String() + "/" + token + "/" + url.PathEscape(name),
		remote: remote, token: token, relay: r,
	}
	r.mu.Lock()
	r.routes[token] = f
	r.mu.Unlock()
	return f, nil
}

// Start does nothing: the relay serves from NewRelay on.
func (r *Relay) Start(context.Context) error { return nil }

// Close stops the relay, giving the requests in progress a second.
func (r *Relay) Close(context.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	return r.srv.Close()
}

func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	token, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	r.mu.Lock()
	f := r.routes[token]
	r.mu.Unlock()
	if f == nil {
		http.NotFound(w, req)
		return
	}
	up, err := http.NewRequestWithContext(req.Context(), req.Method, f.remote, nil)
	if err != nil {
		f.setErr(err)
		http.Error(w, "bad upstream URL", http.StatusBadGateway)
		return
	}
	// The headers reading and seeking a file over HTTP needs go upstream,
	// and back from the answer.
	for _, h := range [...]string{"Range", "If-Range", "Accept", "User-Agent"} {
		if v := req.Header.Get(h); v != "" {
			up.Header.Set(h, v)
		}
	}
	res, err := r.client.Do(up) //nolint:gosec // the URL is the user's by design; the client enforces the outbound policy on every connection
	if err != nil {
		if req.Context().Err() == nil {
			err = unwrapURLError(err)
			f.setErr(err)
			r.logger.Warn("fetching a remote file failed: "+err.Error(), "url", redact(f.remote))
		}
		http.Error(w, "upstream failed", http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	if res.StatusCode >= 400 {
		f.setErr(fmt.Errorf("the server answered %s", res.Status))
	} else {
		f.setErr(nil)
	}
	for _, h := range [...]string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified", "ETag"} {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	if req.Method == http.MethodGet {
		_, _ = io.Copy(w, res.Body)
	}
}

// unwrapURLError drops the "Get <url>:" that repeats the URL (and any
// credentials in it) around the reason.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact returns a URL without its credentials, for logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}
