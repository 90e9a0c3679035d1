package live

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Refusal is why an ingest listener refused a connection. The set is small
// and fixed, so that it can label a metric.
type Refusal string

// Reasons for refusing an ingest connection, in the order a connection
// meets them.
const (
	// RefusedSecurityGroup: no input's security group allows the address
	// (or, at publish, not the group of the input the key names).
	RefusedSecurityGroup Refusal = "security_group"
	// RefusedAddressLimit: the address already has its most connections
	// in their handshake.
	RefusedAddressLimit Refusal = "address_limit"
	// RefusedServerLimit: the listener already has its most connections
	// in their handshake, all addresses together.
	RefusedServerLimit Refusal = "server_limit"
	// RefusedIdle: the connection did not send the start of its handshake
	// in time.
	RefusedIdle Refusal = "idle"
	// RefusedHandshakeTimeout: the connection started its handshake but
	// did not get as far as publishing in time.
	RefusedHandshakeTimeout Refusal = "handshake_timeout"
	// RefusedBadRequest: the client sent something Sluice does not take
	// (garbage, encrypted RTMP, a play request, an unusable stream id).
	RefusedBadRequest Refusal = "bad_request"
	// RefusedStreamKey: a missing or unknown stream key.
	RefusedStreamKey Refusal = "stream_key"
	// RefusedPassphrase: a wrong SRT passphrase, or encryption on one side
	// only.
	RefusedPassphrase Refusal = "passphrase"
	// RefusedBusy: the input already has a publisher.
	RefusedBusy Refusal = "busy"
)

// RefusalCounter counts refused ingest connections by protocol and reason:
// the server's metrics. Both are from small fixed sets.
type RefusalCounter interface {
	IngestRefused(protocol, reason string)
}

// RefusalsConfig configures Refusals.
type RefusalsConfig struct {
	// Protocol labels the counts ("rtmp", "srt").
	Protocol string
	// Counter counts every refusal; nil counts none.
	Counter RefusalCounter
	Logger  *slog.Logger
	// Interval is how often one address may be logged for one reason
	// (default a minute).
	Interval time.Duration
	// MaxAddresses bounds the addresses remembered for the interval
	// (default 4096); past it, refusals of new addresses are counted but
	// not logged until old ones are forgotten.
	MaxAddresses int
	// Now is the clock of the interval (default time.Now).
	Now func() time.Time
}

// Refusals counts an ingest listener's refusals by reason and logs them in
// words, at most once per address and reason per interval: a line carries
// how many refusals alike it follows that were not logged ("suppressed").
//
// The address is in the log and never a metric label: anyone who can
// reach the port picks their source address (a whole IPv6 /64 for one
// host), so a label per address would let them grow the series without
// bound. The metric says how often and why; the log says who.
type Refusals struct {
	cfg RefusalsConfig

	mu   sync.Mutex
	seen map[refusalKey]*refusalRecord
}

type refusalKey struct {
	addr   netip.Addr
	reason Refusal
}

type refusalRecord struct {
	logged     time.Time
	suppressed int
}

// NewRefusals returns the refusal log and count of one protocol's listener.
func NewRefusals(cfg RefusalsConfig) *Refusals {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Refusals{cfg: cfg, seen: map[refusalKey]*refusalRecord{}}
}

// Refuse counts a refusal of remote ("ip:port") and logs msg with the
// remote address and attrs at warning level, unless the address was
// logged for the same reason within the interval.
func (r *Refusals) Refuse(remote string, reason Refusal, msg string, attrs ...any) {
	if r.cfg.Counter != nil {
		r.cfg.Counter.IngestRefused(r.cfg.Protocol, string(reason))
	}
	suppressed, ok := r.allow(remote, reason)
	if !ok {
		return
	}
	args := append([]any{"remote", remote, "refusal", string(reason)}, attrs...)
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	r.cfg.Logger.Warn(msg, args...)
}

// allow reports whether to log a refusal of remote for reason now, and
// how many were not logged since the last line about them.
func (r *Refusals) allow(remote string, reason Refusal) (int, bool) {
	ip, _ := parseIP(remote)
	key := refusalKey{ip, reason}
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.seen[key]
	if rec != nil && now.Sub(rec.logged) < r.cfg.Interval {
		rec.suppressed++
		return 0, false
	}
	if rec == nil {
		if len(r.seen) >= r.cfg.MaxAddresses {
			r.forget(now)
		}
		if len(r.seen) >= r.cfg.MaxAddresses {
			return 0, false
		}
		rec = &refusalRecord{}
		r.seen[key] = rec
	}
	suppressed := rec.suppressed
	rec.logged, rec.suppressed = now, 0
	return suppressed, true
}

// forget drops the records whose interval is over. Their suppressed
// refusals are not reported: they are in the counts.
func (r *Refusals) forget(now time.Time) {
	for k, rec := range r.seen {
		if now.Sub(rec.logged) >= r.cfg.Interval {
			delete(r.seen, k)
		}
	}
}
