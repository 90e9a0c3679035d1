package live

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Admission errors, each refused before any media is read.
var (
	// ErrNotAllowed: the address is outside the input's security groups.
	ErrNotAllowed = errors.New("address not allowed by the input's security groups")
	// ErrUnknownKey: no input of this protocol has this stream key.
	ErrUnknownKey = errors.New("unknown stream key")
)

// InputConfig is what the registry needs to know of a push or pull input.
type InputConfig struct {
	Name string
	// Protocol is the protocol publishers use: "rtmp", "srt", "udp", "rtp",
	// or "pull" for inputs Sluice fetches itself.
	Protocol string
	// StreamKey authenticates publishers (RTMP path, SRT stream id).
	StreamKey string
	// Allow lists the address ranges that may publish; empty allows none
	// for push inputs (a push input needs a security group).
	Allow []netip.Prefix
	// Passphrase encrypts SRT; Latency is SRT's receive latency.
	Passphrase string
	Latency    time.Duration
}

// Registry maps inputs to their hubs and admits publishers: stream key,
// security group and a slowdown for addresses that keep failing.
type Registry struct {
	now func() time.Time

	mu     sync.RWMutex
	inputs map[string]*entry
	byKey  map[string]string // protocol + "\x00" + key → input name

	failures *failures
}

type entry struct {
	cfg InputConfig
	hub *Hub
}

// NewRegistry returns an empty registry.
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{now: now, inputs: map[string]*entry{}, byKey: map[string]string{}, failures: newFailures(now)}
}

// Set adds or updates an input. A publisher whose address the new security
// groups no longer allow is disconnected; a changed key applies to new
// connections (and ends the current session, which used the old key).
func (r *Registry) Set(cfg InputConfig) *Hub {
	r.mu.Lock()
	e, ok := r.inputs[cfg.Name]
	if !ok {
		e = &entry{hub: NewHub(cfg.Name, r.now)}
		r.inputs[cfg.Name] = e
	}
	old := e.cfg
	delete(r.byKey, keyOf(old.Protocol, old.StreamKey))
	e.cfg = cfg
	if cfg.StreamKey != "" {
		r.byKey[keyOf(cfg.Protocol, cfg.StreamKey)] = cfg.Name
	}
	r.mu.Unlock()
	if pub, live := e.hub.Live(); live {
		switch {
		case ok && old.StreamKey != cfg.StreamKey:
			e.hub.Kick("the stream key was rotated")
		case !allowedBy(cfg.Allow, pub.Remote) && cfg.Protocol != "pull":
			e.hub.Kick("the security group no longer allows " + pub.Remote)
		}
	}
	return e.hub
}

// Remove deletes an input, disconnecting its publisher.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	e, ok := r.inputs[name]
	if ok {
		delete(r.inputs, name)
		delete(r.byKey, keyOf(e.cfg.Protocol, e.cfg.StreamKey))
	}
	r.mu.Unlock()
	if ok {
		e.hub.Kick("the input was deleted")
	}
}

// Hub returns an input's hub.
func (r *Registry) Hub(name string) (*Hub, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.inputs[name]
	if !ok {
		return nil, false
	}
	return e.hub, true
}

// Admit checks a publisher that presents key over protocol from remote
// ("ip:port") and returns the input's hub. A refusal is counted on the
// input when the key names one, and the address's failures are recorded:
// Penalty then says how long to wait before answering it.
func (r *Registry) Admit(protocol, key, remote string) (*Hub, error) {
	r.mu.RLock()
	name, ok := r.byKey[keyOf(protocol, key)]
	var e *entry
	if ok {
		e = r.inputs[name]
	}
	r.mu.RUnlock()
	if e == nil {
		r.failures.add(remote)
		return nil, fmt.Errorf("%w for %s from %s", ErrUnknownKey, protocol, remote)
	}
	if !allowedBy(e.cfg.Allow, remote) {
		e.hub.Refused()
		r.failures.add(remote)
		return nil, fmt.Errorf("input %s: %w: %s", name, ErrNotAllowed, remote)
	}
	return e.hub, nil
}

// AllowedAnywhere reports whether any input of the protocol allows remote:
// a connection nobody allows is closed at once, before its handshake.
func (r *Registry) AllowedAnywhere(protocol, remote string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.inputs {
		if e.cfg.Protocol == protocol && allowedBy(e.cfg.Allow, remote) {
			return true
		}
	}
	return false
}

// Config returns an input's configuration (for protocol details such as
// the SRT passphrase).
func (r *Registry) Config(name string) (InputConfig, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.inputs[name]
	if !ok {
		return InputConfig{}, false
	}
	return e.cfg, true
}

// Lookup finds the input a stream key of a protocol names, without
// admitting anyone (to choose, say, the SRT passphrase for a handshake).
func (r *Registry) Lookup(protocol, key string) (InputConfig, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	name, ok := r.byKey[keyOf(protocol, key)]
	if !ok {
		return InputConfig{}, false
	}
	return r.inputs[name].cfg, true
}

// AdmitAddress checks a publisher of an input that has no key (UDP, RTP,
// an SRT listener with one input per port): only the address matters.
func (r *Registry) AdmitAddress(name, remote string) (*Hub, error) {
	r.mu.RLock()
	e := r.inputs[name]
	r.mu.RUnlock()
	if e == nil {
		return nil, fmt.Errorf("input %s does not exist", name)
	}
	if !allowedBy(e.cfg.Allow, remote) {
		e.hub.Refused()
		r.failures.add(remote)
		return nil, fmt.Errorf("input %s: %w: %s", name, ErrNotAllowed, remote)
	}
	return e.hub, nil
}

// Fail records a failed attempt from remote that Admit could not see (a
// wrong SRT passphrase), so that guessing it slows down as guessing keys does.
func (r *Registry) Fail(remote string) { r.failures.add(remote) }

// Penalty is how long to wait before answering an address that keeps
// failing: nothing at first, then doubling up to 5 s.
func (r *Registry) Penalty(remote string) time.Duration { return r.failures.penalty(remote) }

func keyOf(protocol, key string) string { return protocol + "\x00" + key }

// allowedBy reports whether remote ("ip:port" or "ip") is in one of the prefixes.
func allowedBy(allow []netip.Prefix, remote string) bool {
	ip, err := parseIP(remote)
	if err != nil {
		return false
	}
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func parseIP(remote string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(remote)
	return a.Unmap(), err
}
