// Package ingest runs the live side of inputs: it keeps the registry of
// hubs in step with the input resources and their security groups, runs
// the workers that receive or fetch media for one input (UDP and RTP ports,
// SRT callers, URL pulls), and reports endpoints and status. Inputs Sluice
// fetches itself (SRT callers, URL pulls) connect out only while a running
// channel uses them (Demand).
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/resource"
)

// Workers run the per-input receivers; each runs until its context ends.
// A nil worker means the kind of input cannot run on this server.
type Workers struct {
	UDP       func(ctx context.Context, input, addr string, rtp bool) error
	SRTCaller func(ctx context.Context, input, address, streamID, passphrase string, latency time.Duration) error
	Pull      func(ctx context.Context, input, rawURL string) error
	// Relay, on a node of a cluster, brings a push input's media from the
	// node its publisher connected to, for as long as a channel running
	// here wants the input (RTMP, SRT listener and WHIP inputs); nil on
	// a single server.
	Relay func(ctx context.Context, in resource.Input) error
}

// Config configures the ingest.
type Config struct {
	Registry *live.Registry
	Workers  Workers
	// PublicHost is the host publishers reach this server at, for the
	// endpoint URLs (default 127.0.0.1).
	PublicHost string
	// HTTPBase is the HTTP listener's URL as publishers reach it
	// ("http://host:8080"), for WHIP endpoint URLs; empty shows none.
	HTTPBase string
	// OneHost says that PublicHost is the one name in front of every node
	// of a cluster (the operator gave it): endpoints name it alone.
	OneHost bool
	// Nodes, on a cluster without OneHost, lists the live nodes publishers
	// may send to, each with its host and ingest ports: a push input shows
	// an endpoint on each. Nil on a single server.
	Nodes func() []NodeIngest
	// RTMP, RTMPS and SRT are the listeners, asked for their ports when
	// endpoints are shown; nil (or a port of 0) means the protocol is not
	// served.
	RTMP, RTMPS, SRT Port
	Logger           *slog.Logger
}

// NodeIngest is a node of a cluster as publishers reach it: the host it
// advertises and its ingest ports (0: not served), and the base URL of
// its HTTP listener for WHIP ("" when unknown).
type NodeIngest struct {
	Node             string
	Host             string
	RTMP, RTMPS, SRT int
	HTTP             string
}

// Port is a listener's bound port (0 when not bound).
type Port interface {
	Number() int
}

func portOf(p Port) int {
	if p == nil {
		return 0
	}
	return p.Number()
}

// Ingest is the live side of all inputs.
type Ingest struct {
	cfg    Config
	logger *slog.Logger

	// ops serialises Apply, Remove and Demand, which start and stop workers.
	ops sync.Mutex

	mu      sync.Mutex
	workers map[string]*worker
	inputs  map[string]resource.Input // as last applied, for Demand
	wanted  map[string]bool
	// ownOnly are the wanted push inputs taken only from a publisher
	// connected to this node, never relayed from another.
	ownOnly map[string]bool
}

type worker struct {
	key    string // what the worker was started for; a change restarts it
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns an ingest.
func New(cfg Config) *Ingest {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PublicHost == "" {
		cfg.PublicHost = "127.0.0.1"
	}
	return &Ingest{cfg: cfg, logger: cfg.Logger, workers: map[string]*worker{}, inputs: map[string]resource.Input{}, wanted: map[string]bool{}, ownOnly: map[string]bool{}}
}

// Apply configures an input (new or changed) with the security groups it
// names. Inputs that are not live are ignored.
func (g *Ingest) Apply(in resource.Input, groups map[string]resource.SecurityGroup) {
	if !in.Type.IsLive() {
		g.Remove(in.Name)
		return
	}
	g.ops.Lock()
	defer g.ops.Unlock()
	g.mu.Lock()
	g.inputs[in.Name] = in
	g.mu.Unlock()
	cfg := live.InputConfig{Name: in.Name, Protocol: protocol(in.Type), StreamKey: in.StreamKey}
	for _, name := range in.SecurityGroups {
		for _, c := range groups[name].Allow {
			if p, err := netip.ParsePrefix(c); err == nil {
				cfg.Allow = append(cfg.Allow, p.Masked())
			}
		}
	}
	if srt := in.SRT; srt != nil {
		cfg.Passphrase = srt.Passphrase
		cfg.Latency = srt.Latency()
	}
	g.cfg.Registry.Set(cfg)
	g.runWorker(in)
}

// Remove stops an input's worker and disconnects its publisher.
func (g *Ingest) Remove(name string) {
	g.ops.Lock()
	defer g.ops.Unlock()
	g.mu.Lock()
	delete(g.inputs, name)
	g.mu.Unlock()
	g.stopWorker(name)
	g.cfg.Registry.Remove(name)
}

// Demand names the inputs running channels use. An input Sluice fetches
// itself starts fetching when it becomes wanted and stops, disconnecting
// from its source, when no running channel wants it any more: a detached
// URL_PULL or SRT_CALLER makes no connection. On a node of a cluster, a
// wanted push input is relayed from the node its publisher is connected
// to, unless ownOnly names it: it then takes only a publisher connected
// to this node (a pipeline of a STANDARD channel that does not cross-feed).
func (g *Ingest) Demand(wanted, ownOnly map[string]bool) {
	g.ops.Lock()
	defer g.ops.Unlock()
	g.mu.Lock()
	g.wanted = make(map[string]bool, len(wanted))
	for n, w := range wanted {
		if w {
			g.wanted[n] = true
		}
	}
	g.ownOnly = make(map[string]bool, len(ownOnly))
	for n, o := range ownOnly {
		if o {
			g.ownOnly[n] = true
		}
	}
	var change []resource.Input
	for name, in := range g.inputs {
		if fetched(in.Type) || g.relayed(in.Type) {
			_, running := g.workers[name]
			if running != g.runs(in) {
				change = append(change, in)
			}
		}
	}
	g.mu.Unlock()
	for _, in := range change {
		g.runWorker(in)
	}
}

// runs reports whether an input Sluice fetches or relays has its worker
// running now; g.mu is held.
func (g *Ingest) runs(in resource.Input) bool {
	if g.relayed(in.Type) && g.ownOnly[in.Name] {
		return false
	}
	return g.wanted[in.Name]
}

// fetched reports whether Sluice connects out for an input of this type.
func fetched(t resource.InputType) bool {
	return t == resource.InputURLPull || t == resource.InputSRTCaller
}

// relayed reports whether an input of this type is relayed from the node
// its publisher connected to, when this node runs its channel.
func (g *Ingest) relayed(t resource.InputType) bool {
	return g.cfg.Workers.Relay != nil && published(t)
}

// published reports whether publishers connect to an input of this type
// on any node of a cluster, from where it is relayed.
func published(t resource.InputType) bool {
	return t == resource.InputRTMPPush || t == resource.InputSRTListener || t == resource.InputWHIPPush
}

// Start does nothing: inputs are applied as the channel manager loads
// them.
func (g *Ingest) Start(context.Context) error { return nil }

// Close stops every worker.
func (g *Ingest) Close(context.Context) error {
	g.mu.Lock()
	names := make([]string, 0, len(g.workers))
	for n := range g.workers {
		names = append(names, n)
	}
	g.mu.Unlock()
	for _, n := range names {
		g.stopWorker(n)
	}
	return nil
}

// Hub returns an input's hub.
func (g *Ingest) Hub(name string) (*live.Hub, bool) { return g.cfg.Registry.Hub(name) }

// Input returns an input as last applied.
func (g *Ingest) Input(name string) (resource.Input, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.inputs[name]
	return in, ok
}

// Status returns the live status of an input, nil for inputs that are not live.
func (g *Ingest) Status(name string) *resource.LiveStatus {
	h, ok := g.cfg.Registry.Hub(name)
	if !ok {
		return nil
	}
	st := h.Status()
	return &st
}

// Endpoints returns the URLs publishers send to, key included (WHIP's is
// the bearer token, not in the URL): on a cluster without a public host,
// one on each live node.
func (g *Ingest) Endpoints(in resource.Input) []string {
	self := NodeIngest{Host: g.cfg.PublicHost, RTMP: portOf(g.cfg.RTMP), RTMPS: portOf(g.cfg.RTMPS), SRT: portOf(g.cfg.SRT), HTTP: g.cfg.HTTPBase}
	if g.cfg.OneHost || g.cfg.Nodes == nil {
		return endpointsOn(in, self)
	}
	var out []string
	for _, n := range g.cfg.Nodes() {
		out = append(out, endpointsOn(in, n)...)
	}
	if len(out) == 0 {
		return endpointsOn(in, self)
	}
	return out
}

// NodeEndpoints returns the URLs publishers send an input to on one node
// of a cluster (the node of one pipeline of a STANDARD channel), key
// included: the one name in front of every node when there is one, this
// server's on a single server; none when the node is not live. A WHIP
// input has none of a pipeline's own: it takes one publisher across the
// cluster, at any of the input's endpoints.
func (g *Ingest) NodeEndpoints(in resource.Input, node string) []string {
	if in.Type == resource.InputWHIPPush {
		return nil
	}
	self := NodeIngest{Host: g.cfg.PublicHost, RTMP: portOf(g.cfg.RTMP), RTMPS: portOf(g.cfg.RTMPS), SRT: portOf(g.cfg.SRT)}
	if g.cfg.OneHost || g.cfg.Nodes == nil {
		return endpointsOn(in, self)
	}
	for _, n := range g.cfg.Nodes() {
		if n.Node == node {
			return endpointsOn(in, n)
		}
	}
	return nil
}

// endpointsOn are the URLs of an input on one node.
func endpointsOn(in resource.Input, n NodeIngest) []string {
	hp := func(port int) string { return net.JoinHostPort(n.Host, strconv.Itoa(port)) }
	var out []string
	switch in.Type {
	case resource.InputRTMPPush:
		if n.RTMP != 0 {
			out = append(out, "rtmp://"+hp(n.RTMP)+"/live/"+in.StreamKey)
		}
		if n.RTMPS != 0 {
			out = append(out, "rtmps://"+hp(n.RTMPS)+"/live/"+in.StreamKey)
		}
	case resource.InputSRTListener:
		if n.SRT != 0 {
			q := url.Values{"streamid": {in.StreamKey}}
			if in.SRT != nil && in.SRT.Passphrase != "" {
				q.Set("passphrase", in.SRT.Passphrase)
				q.Set("pbkeylen", "16")
			}
			if in.SRT != nil && in.SRT.Latency() > 0 {
				q.Set("latency", strconv.FormatInt(in.SRT.Latency().Microseconds(), 10))
			}
			out = append(out, "srt://"+hp(n.SRT)+"?"+q.Encode())
		}
	case resource.InputWHIPPush:
		if n.HTTP != "" {
			out = append(out, strings.TrimSuffix(n.HTTP, "/")+"/ingest/whip/"+in.Name)
		}
	case resource.InputUDPPush:
		out = append(out, "udp://"+hp(in.Port))
	case resource.InputRTPPush:
		out = append(out, "rtp://"+hp(in.Port))
	}
	return out
}

// runWorker starts (or restarts, when its settings changed) the receiver
// of an input that needs one.
func (g *Ingest) runWorker(in resource.Input) {
	run, key := g.workerFor(in)
	g.mu.Lock()
	w, ok := g.workers[in.Name]
	if (fetched(in.Type) || g.relayed(in.Type)) && !g.runs(in) {
		run, key = nil, ""
	}
	g.mu.Unlock()
	if ok && w.key == key {
		return
	}
	g.stopWorker(in.Name)
	if run == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w = &worker{key: key, cancel: cancel, done: make(chan struct{})}
	g.mu.Lock()
	g.workers[in.Name] = w
	g.mu.Unlock()
	go func() {
		defer close(w.done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			g.logger.Error(fmt.Sprintf("the receiver of input %s stopped", in.Name), "input", in.Name, "error", err)
		}
	}()
}

func (g *Ingest) workerFor(in resource.Input) (func(context.Context) error, string) {
	w := g.cfg.Workers
	switch in.Type {
	case resource.InputUDPPush, resource.InputRTPPush:
		if w.UDP == nil {
			return nil, ""
		}
		addr := ":" + strconv.Itoa(in.Port)
		rtp := in.Type == resource.InputRTPPush
		return func(ctx context.Context) error { return w.UDP(ctx, in.Name, addr, rtp) }, fmt.Sprint(in.Type, addr)
	case resource.InputSRTCaller:
		if w.SRTCaller == nil {
			return nil, ""
		}
		u, _ := url.Parse(in.URL)
		var sid, pass string
		var lat time.Duration
		if in.SRT != nil {
			sid, pass, lat = in.SRT.StreamID, in.SRT.Passphrase, in.SRT.Latency()
		}
		return func(ctx context.Context) error { return w.SRTCaller(ctx, in.Name, u.Host, sid, pass, lat) },
			fmt.Sprint(in.URL, sid, pass, lat)
	case resource.InputURLPull:
		if w.Pull == nil {
			return nil, ""
		}
		return func(ctx context.Context) error { return w.Pull(ctx, in.Name, in.URL) }, in.URL
	case resource.InputRTMPPush, resource.InputSRTListener, resource.InputWHIPPush:
		if w.Relay == nil {
			return nil, ""
		}
		return func(ctx context.Context) error { return w.Relay(ctx, in) }, "relay " + in.ID
	}
	return nil, ""
}

// Published returns the hub of an input, by id, whose publisher is
// connected to this node rather than relayed from another.
func (g *Ingest) Published(id string) (*live.Hub, bool) {
	g.mu.Lock()
	var name string
	for n, in := range g.inputs {
		if in.ID == id {
			name = n
			break
		}
	}
	g.mu.Unlock()
	if name == "" {
		return nil, false
	}
	h, ok := g.cfg.Registry.Hub(name)
	if !ok {
		return nil, false
	}
	if pub, live := h.Live(); !live || pub.Via != "" {
		return nil, false
	}
	return h, true
}

// Publishing lists the push inputs (by id) whose publisher is connected to
// this node, not relayed, with the start of each session.
func (g *Ingest) Publishing() map[string]time.Time {
	g.mu.Lock()
	ins := make([]resource.Input, 0, len(g.inputs))
	for _, in := range g.inputs {
		if published(in.Type) {
			ins = append(ins, in)
		}
	}
	g.mu.Unlock()
	out := map[string]time.Time{}
	for _, in := range ins {
		h, ok := g.cfg.Registry.Hub(in.Name)
		if !ok {
			continue
		}
		if st := h.Status(); st.Connected {
			if pub, live := h.Live(); live && pub.Via == "" {
				out[in.ID] = st.Since
			}
		}
	}
	return out
}

func (g *Ingest) stopWorker(name string) {
	g.mu.Lock()
	w, ok := g.workers[name]
	delete(g.workers, name)
	g.mu.Unlock()
	if ok {
		w.cancel()
		<-w.done
	}
}

// protocol is the registry's protocol name of an input type.
func protocol(t resource.InputType) string {
	switch t {
	case resource.InputRTMPPush:
		return "rtmp"
	case resource.InputSRTListener:
		return "srt"
	case resource.InputUDPPush:
		return "udp"
	case resource.InputRTPPush:
		return "rtp"
	case resource.InputWHIPPush:
		return "whip"
	}
	return "pull"
}
