// Package outbound decides which addresses Sluice may connect to when a
// user, not the operator, names the destination: webhooks, pulled live
// sources, remote files, pipeline storage. The check runs when a socket
// connects, on the address actually dialled, so a name that resolves to a
// denied address (DNS rebinding included) and a redirect to one are
// refused just the same.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Rule is one range of addresses in a policy, with the name an error
// shows ("link-local", or the CIDR as the operator wrote it).
type Rule struct {
	Prefix netip.Prefix
	Name   string
}

func (r Rule) String() string {
	if r.Name == "" || r.Name == r.Prefix.String() {
		return r.Prefix.String()
	}
	return r.Prefix.String() + " (" + r.Name + ")"
}

// Policy is the set of denied ranges and the allowed ranges that punch
// holes in them: an address in an allowed range may be connected to, an
// address in a denied one may not, anything else may. A nil Policy allows
// everything.
type Policy struct {
	deny  []Rule
	allow []Rule
}

// Config says what a policy denies beyond the defaults and what it allows.
type Config struct {
	// LoopbackOnly is true when the server answers on loopback only: its
	// users are then local and may reach loopback services; otherwise
	// loopback and the unspecified address are denied too.
	LoopbackOnly bool
	// Deny and Allow are flag values: CIDRs, addresses or named sets
	// (loopback, link-local, private, unspecified); see ParseRules.
	Deny, Allow []string
}

// New returns the policy of cfg: link-local is always denied (cloud
// metadata services live there), loopback and the unspecified address
// unless the server is loopback-only, then cfg.Deny; cfg.Allow wins over
// every denial.
func New(cfg Config) (*Policy, error) {
	p := &Policy{deny: namedSet("link-local")}
	if !cfg.LoopbackOnly {
		p.deny = append(p.deny, namedSet("loopback")...)
		p.deny = append(p.deny, namedSet("unspecified")...)
	}
	for _, v := range cfg.Deny {
		rules, err := ParseRules(v)
		if err != nil {
			return nil, fmt.Errorf("--outbound-deny: %w", err)
		}
		p.deny = append(p.deny, rules...)
	}
	for _, v := range cfg.Allow {
		rules, err := ParseRules(v)
		if err != nil {
			return nil, fmt.Errorf("--outbound-allow: %w", err)
		}
		p.allow = append(p.allow, rules...)
	}
	return p, nil
}

// Denied returns the denied ranges, for the log at start.
func (p *Policy) Denied() []Rule {
	if p == nil {
		return nil
	}
	return p.deny
}

// Allowed returns the ranges that punch holes in the denied ones.
func (p *Policy) Allowed() []Rule {
	if p == nil {
		return nil
	}
	return p.allow
}

// DeniedError refuses a connection the policy denies.
type DeniedError struct {
	// Addr is the address that was to be connected to ("169.254.169.254:80").
	Addr string
	// Rule is the denied range it falls in.
	Rule Rule
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("the outbound policy refuses to connect to %s: %s is denied (the operator can allow it with sluice serve --outbound-allow)", e.Addr, e.Rule)
}

// ErrDenied matches every *DeniedError with errors.Is.
var ErrDenied = errors.New("refused by the outbound policy")

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Check says whether ip may be connected to; addr names it in the error.
func (p *Policy) Check(ip netip.Addr, addr string) error {
	if p == nil {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	for _, r := range p.allow {
		if r.Prefix.Contains(ip) {
			return nil
		}
	}
	for _, r := range p.deny {
		if r.Prefix.Contains(ip) {
			return &DeniedError{Addr: addr, Rule: r}
		}
	}
	return nil
}

// CheckAddr checks an "ip:port" address, as dialers and packet writers
// see it.
func (p *Policy) CheckAddr(address string) error {
	if p == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an IP address: nothing that connects passes one.
		return fmt.Errorf("the outbound policy cannot check %q: not an IP address", address)
	}
	return p.Check(ap.Addr(), address)
}

// Control is a net.Dialer Control function: it runs once the address is
// resolved, just before the socket connects, and refuses denied ones.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	return p.CheckAddr(address)
}

// Dialer returns a dialer that enforces the policy, with a connect timeout.
func (p *Policy) Dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if p != nil {
		d.Control = p.Control
	}
	return d
}

// Resolve returns an address of host the policy allows, for protocols that
// take an address rather than a dialer (SRT): the caller connects to the
// returned address, so what was checked is what is used. The error names
// the first denied address when none is allowed.
func (p *Policy) Resolve(ctx context.Context, hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return "", err
		}
	}
	var first error
	for _, ip := range ips {
		full := net.JoinHostPort(ip.Unmap().String(), port)
		if err := p.Check(ip, full); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		return full, nil
	}
	if first == nil {
		first = fmt.Errorf("%s has no address", host)
	}
	return "", first
}

// String describes the policy in words, for the log at start.
func (p *Policy) String() string {
	if p == nil {
		return "every address may be connected to"
	}
	names := func(rs []Rule) string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.String()
		}
		return strings.Join(out, ", ")
	}
	s := "denied: " + names(p.deny)
	if len(p.allow) > 0 {
		s += "; allowed despite that: " + names(p.allow)
	}
	return s
}
