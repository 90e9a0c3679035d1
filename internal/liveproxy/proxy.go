// Package liveproxy is the origin of a node that does not hold a channel:
// every request for /live/<channel>/… is streamed to the node that holds
// the channel, at the URL it advertises, with the request's query and
// headers (blocking LL-HLS reloads and growing parts included), so that a
// player or an edge may ask any node for any channel. The first node checks
// the viewer's signed URL; the request it forwards is signed with the
// cluster key, and the holder trusts it. A channel no node holds is
// answered 503 with Retry-After and the reason.
package liveproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// Holder is the node that holds a channel: its id, the base URL it
// advertises (http://host:port) and the epoch of its lease.
type Holder struct {
	Node  string
	URL   string
	Epoch uint64
}

// Directory says which node holds a channel, from the leases in the state
// database. ok is false when no live node holds it.
type Directory interface {
	Holder(ctx context.Context, channel string) (h Holder, ok bool, err error)
}

// Local says whether this node holds a channel now: its lease is its own
// and not about to lapse.
type Local interface {
	Holds(channel string) bool
}

// Channels gives a channel's endpoints from the state, so the first node
// can check signed URLs; ok is false when the channel does not exist.
type Channels interface {
	Outputs(channel string) (outputs []resource.OutputGroup, ok bool)
}

// Verifier checks a viewer's signed URL or cookie; *signing.Verifier
// satisfies it.
type Verifier interface {
	Verify(r *http.Request) error
}

// Config configures a Proxy.
type Config struct {
	// Self is this node's id, which signs forwarded requests.
	Self string
	// Origin serves the channels this node holds (and /time).
	Origin    http.Handler
	Directory Directory
	Local     Local
	Channels  Channels
	// Key signs forwarded requests and recognises those of other nodes.
	Key *peer.Key
	// Verifier checks signed URLs of endpoints that require them; nil
	// refuses every request to such an endpoint, as the origin does.
	Verifier Verifier
	// Transport carries forwarded requests (default peer.NewTransport).
	Transport http.RoundTripper
	// RetryAfter is what a 503 tells clients to wait (default 1 s).
	RetryAfter time.Duration
	// HolderTTL is how long the holder of a channel is remembered before
	// the directory is asked again (default 500 ms); a holder that does
	// not answer is forgotten at once.
	HolderTTL time.Duration
	// Unanswered, when set, hears of a holder that did not answer a
	// forwarded request, so that the directory may name another node
	// that runs the channel (a STANDARD channel's other pipeline) next.
	Unanswered func(channel string, h Holder)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Proxy is the handler of /live/ on a node of a cluster.
type Proxy struct {
	cfg   Config
	proxy *httputil.ReverseProxy

	mu      sync.Mutex
	holders map[string]cachedHolder
}

type cachedHolder struct {
	h     Holder
	ok    bool
	until time.Time
}

// forwardedTo is the context key of the holder a request is forwarded to.
type forwardedTo struct{}

// New returns a proxy.
func New(cfg Config) *Proxy {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Transport == nil {
		cfg.Transport = peer.NewTransport(peer.TransportConfig{})
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.HolderTTL <= 0 {
		cfg.HolderTTL = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Proxy{cfg: cfg, holders: map[string]cachedHolder{}}
	p.proxy = &httputil.ReverseProxy{
		Rewrite:       p.rewrite,
		Transport:     cfg.Transport,
		FlushInterval: -1, // parts and growing segments reach the player as they come
		ErrorHandler:  p.failed,
		ErrorLog:      slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return p
}

// ServeHTTP answers a /live/ request: from this node's origin when it
// holds the channel, from the holder otherwise.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	channel, endpoint := channelOf(r.URL.Path)
	internal := false
	if _, err := p.cfg.Key.Verify(r); err == nil {
		internal = true
	} else if !errors.Is(err, peer.ErrUnsigned) {
		p.fail(w, r, http.StatusForbidden, "cluster-internal request refused: "+err.Error(), 0)
		return
	}
	if channel == "" || r.Method == http.MethodOptions || p.cfg.Local.Holds(channel) {
		p.cfg.Origin.ServeHTTP(w, r)
		return
	}
	if internal {
		// Another node thought this one holds the channel: it does not
		// (any more). Never forwarded again, so requests cannot loop.
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("this node does not hold channel %q; it is moving to another node", channel), p.retrySeconds())
		return
	}
	outputs, ok := p.cfg.Channels.Outputs(channel)
	if !ok {
		// The origin says what is wrong: no such channel, a bad name.
		p.cfg.Origin.ServeHTTP(w, r)
		return
	}
	if !p.allowed(w, r, outputs, endpoint) {
		return
	}
	h, ok, err := p.holder(r.Context(), channel)
	switch {
	case err != nil:
		p.cfg.Logger.Warn("finding the node that holds a channel failed", "channel", channel, "error", err)
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("the node holding channel %q cannot be found: the state database does not answer", channel), p.retrySeconds())
		return
	case !ok || h.Node == p.cfg.Self:
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("no node holds channel %q: it is not running, or it is starting or moving to another node", channel), p.retrySeconds())
		return
	}
	target, err := url.Parse(h.URL)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("node %s, which holds channel %q, advertises no usable URL", h.Node, channel), p.retrySeconds())
		return
	}
	ctx := context.WithValue(r.Context(), forwardedTo{}, forward{channel: channel, holder: h, target: target})
	p.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// forward is where a request goes.
type forward struct {
	channel string
	holder  Holder
	target  *url.URL
}

// rewrite makes the request to the holder: the same path and query on
// its URL, the viewer's Host kept (DASH manifests name it for the clock),
// the hop-by-hop headers dropped by ReverseProxy, and the cluster
// signature.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	f := pr.In.Context().Value(forwardedTo{}).(forward)
	peer.Strip(pr.Out.Header)
	pr.SetURL(f.target)
	pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	p.cfg.Key.Sign(pr.Out, p.cfg.Self)
}

// failed answers a forwarded request the holder did not answer: 503 with
// Retry-After (the channel is moving when its holder died), and the
// holder is asked of the directory again next time.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	f, _ := r.Context().Value(forwardedTo{}).(forward)
	p.forget(f.channel)
	if r.Context().Err() != nil {
		return // the viewer went away
	}
	if p.cfg.Unanswered != nil {
		p.cfg.Unanswered(f.channel, f.holder)
	}
	p.cfg.Logger.Warn("forwarding an origin request to the node holding the channel failed",
		"channel", f.channel, "node", f.holder.Node, "url", f.holder.URL, "error", err)
	p.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("node %s, which holds channel %q, does not answer; the channel moves to another node when its lease lapses", f.holder.Node, f.channel), p.retrySeconds())
}

// allowed checks the viewer's signature when the endpoint requires signed
// URLs, as the holder's origin would: the holder trusts the forwarded
// request.
func (p *Proxy) allowed(w http.ResponseWriter, r *http.Request, outputs []resource.OutputGroup, endpoint string) bool {
	for _, o := range outputs {
		if o.Name != endpoint || !o.RequireSignedURLs {
			continue
		}
		if p.cfg.Verifier == nil {
			p.fail(w, r, http.StatusForbidden, "this endpoint requires signed URLs and the server has no signing keys", 0)
			return false
		}
		if err := p.cfg.Verifier.Verify(r); err != nil {
			p.fail(w, r, http.StatusForbidden, err.Error(), 0)
			return false
		}
	}
	return true
}

// holder returns the holder of a channel, remembered for HolderTTL.
func (p *Proxy) holder(ctx context.Context, channel string) (Holder, bool, error) {
	now := p.cfg.Now()
	p.mu.Lock()
	c, hit := p.holders[channel]
	p.mu.Unlock()
	if hit && now.Before(c.until) {
		return c.h, c.ok, nil
	}
	h, ok, err := p.cfg.Directory.Holder(ctx, channel)
	if err != nil {
		return Holder{}, false, err
	}
	p.mu.Lock()
	if len(p.holders) > 4096 {
		clear(p.holders) // names come from requests: never an unbounded map
	}
	p.holders[channel] = cachedHolder{h: h, ok: ok, until: now.Add(p.cfg.HolderTTL)}
	p.mu.Unlock()
	return h, ok, nil
}

func (p *Proxy) forget(channel string) {
	p.mu.Lock()
	delete(p.holders, channel)
	p.mu.Unlock()
}

func (p *Proxy) retrySeconds() int {
	return max(1, int(p.cfg.RetryAfter.Round(time.Second)/time.Second))
}

// fail answers problem+json; a positive retry sets Retry-After and is
// never cached.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, status int, detail string, retry int) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Date, Age, Retry-After")
	h.Set("Timing-Allow-Origin", "*")
	if retry > 0 {
		h.Set("Retry-After", strconv.Itoa(retry))
	}
	problem.Write(w, r, status, detail, 0)
}

// channelOf reads the channel and endpoint of /live/<channel>/<endpoint>/…;
// "" for a path without them.
func channelOf(path string) (channel, endpoint string) {
	rest, ok := strings.CutPrefix(path, "/live/")
	if !ok {
		return "", ""
	}
	channel, rest, ok = strings.Cut(rest, "/")
	if !ok || !resource.ValidName(channel) {
		return "", ""
	}
	endpoint, _, _ = strings.Cut(rest, "/")
	return channel, endpoint
}

// TrustPeers wraps the origin's check of signed URLs so that requests a
// node of the cluster forwarded pass: that node checked the viewer's
// signature. Every other request is checked by v (refused when v is nil,
// as the origin refuses without signing keys).
func TrustPeers(v Verifier, key *peer.Key) Verifier {
	return trusting{v: v, key: key}
}

type trusting struct {
	v   Verifier
	key *peer.Key
}

func (t trusting) Verify(r *http.Request) error {
	if t.key.Signed(r) {
		return nil
	}
	if t.v == nil {
		return errors.New("this endpoint requires signed URLs and the server has no signing keys")
	}
	return t.v.Verify(r)
}
