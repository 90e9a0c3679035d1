package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/resource"
)

// Publications says which nodes an input's publishers are connected to,
// as the nodes record them in the state database, the newest first (a
// publisher may send to two nodes at once, one per pipeline of a STANDARD
// channel); none when no publisher is connected.
type Publications interface {
	InputPublishers(ctx context.Context, inputID string) (nodes []string, err error)
}

// Nodes gives the advertised URL of a live node of the cluster; ok is
// false for a node that is not live (it died, or said goodbye).
type Nodes interface {
	NodeURL(ctx context.Context, node string) (u string, ok bool, err error)
}

// Hubs finds an input's hub on this node.
type Hubs interface {
	Hub(name string) (*live.Hub, bool)
}

// Puller pulls the media of push inputs whose publisher is connected to
// another node into this node's hubs.
type Puller struct {
	// Self is this node's id: a publication of this node is local.
	Self         string
	Key          *peer.Key
	Publications Publications
	Nodes        Nodes
	Hubs         Hubs
	// Transport carries the streams (default peer.NewTransport).
	Transport http.RoundTripper
	// Interval is how often a wanted input without a publisher looks for
	// one (default 500 ms).
	Interval time.Duration
	// IdleTimeout ends a stream that brings nothing for this long: the
	// other node was paused or cut off (default 5 s).
	IdleTimeout time.Duration
	Logger      *slog.Logger

	once   sync.Once
	client *http.Client
}

func (p *Puller) init() {
	p.once.Do(func() {
		if p.Transport == nil {
			p.Transport = peer.NewTransport(peer.TransportConfig{ResponseHeaderTimeout: 5 * time.Second})
		}
		if p.Interval <= 0 {
			p.Interval = 500 * time.Millisecond
		}
		if p.IdleTimeout <= 0 {
			p.IdleTimeout = 5 * time.Second
		}
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		p.client = &http.Client{Transport: p.Transport}
	})
}

// Run relays the input for as long as ctx lasts (while a channel this
// node runs wants it): whenever the input has no publisher here and one
// is recorded on another live node, its stream is pulled into the hub.
func (p *Puller) Run(ctx context.Context, in resource.Input) error {
	p.init()
	hub, ok := p.Hubs.Hub(in.Name)
	if !ok {
		return fmt.Errorf("input %s has no live side on this node", in.Name)
	}
	logger := p.Logger.With("input", in.Name)
	var lastWhy string
	for ctx.Err() == nil {
		why := p.relayOnce(ctx, hub, in, logger)
		if why != "" && why != lastWhy {
			logger.Debug("input " + in.Name + ": " + why)
		}
		lastWhy = why
		t := time.NewTimer(p.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// relayOnce looks for the input's publisher once and relays it when it is on
// another node (the newest publisher on a live node), until that stream
// ends. It says why it relayed nothing.
func (p *Puller) relayOnce(ctx context.Context, hub *live.Hub, in resource.Input, logger *slog.Logger) string {
	if pub, live := hub.Live(); live {
		return "its publisher " + pub.Describe() + " is connected here"
	}
	nodes, err := p.Publications.InputPublishers(ctx, in.ID)
	switch {
	case err != nil:
		return "finding its publisher failed: " + err.Error()
	case len(nodes) == 0:
		return "no publisher is connected to any node"
	}
	why := ""
	node, base := "", ""
	for _, n := range nodes {
		if n == p.Self {
			why = "its publisher is recorded on this node"
			continue
		}
		u, ok, err := p.Nodes.NodeURL(ctx, n)
		switch {
		case err != nil:
			why = "finding node " + n + " failed: " + err.Error()
			continue
		case !ok:
			why = "its publisher was on node " + n + ", which is not live"
			continue
		}
		node, base = n, u
		break
	}
	if node == "" {
		return why
	}
	err = p.pull(ctx, hub, in, node, base, logger)
	if ctx.Err() == nil {
		logger.Info(fmt.Sprintf("input %s: relay from node %s ended: %v", in.Name, node, err), "node", node)
	}
	return ""
}

// pull reads the input's stream from node into a session of the hub.
func (p *Puller) pull(ctx context.Context, hub *live.Hub, in resource.Input, node, base string, logger *slog.Logger) error {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/internal/v1/inputs/" + url.PathEscape(in.ID) + "/stream")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	p.Key.Sign(req, p.Self)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("node %s answered %s: %s", node, resp.Status, strings.TrimSpace(string(b)))
	}
	pub := live.Publisher{Protocol: resp.Header.Get(HeaderProtocol), Remote: resp.Header.Get(HeaderRemote), Via: node}
	sess, err := hub.Claim(pub)
	if err != nil {
		return err // a publisher connected here meanwhile
	}
	logger.Info(fmt.Sprintf("input %s: relaying publisher %s", in.Name, pub.Describe()), "node", node, "publisher", pub.Remote)
	idle := newIdleReader(resp.Body, p.IdleTimeout, func() { cancel(errIdle) })
	defer idle.stop()
	done := make(chan error, 1)
	go func() {
		done <- live.ReadTS(idle, sess, func(w string) { logger.Warn("input " + in.Name + ": relayed stream: " + w) })
	}()
	select {
	case err = <-done:
	case <-sess.Done():
		// Kicked here (the input was deleted, its key rotated).
		cancel(errors.New("the session was ended on this node"))
		err = <-done
	}
	if c := context.Cause(sctx); c != nil && ctx.Err() == nil {
		err = c
	}
	reason := "the relayed stream ended"
	if err != nil {
		reason = "the relayed stream failed: " + err.Error()
	}
	sess.Close(reason)
	return err
}

// errIdle ends a stream that fell silent.
var errIdle = errors.New("the relayed stream brought nothing for too long")

// idleReader calls onIdle when no read returned bytes for timeout.
type idleReader struct {
	r     io.Reader
	d     time.Duration
	timer *time.Timer
}

func newIdleReader(r io.Reader, d time.Duration, onIdle func()) *idleReader {
	return &idleReader{r: r, d: d, timer: time.AfterFunc(d, onIdle)}
}

func (i *idleReader) Read(b []byte) (int, error) {
	n, err := i.r.Read(b)
	if n > 0 {
		i.timer.Reset(i.d)
	}
	return n, err
}

func (i *idleReader) stop() { i.timer.Stop() }
