package live

import (
	"net/netip"
	"sync"
	"time"
)

// LogLimiter lets a message about an address through at most once per
// interval, so that a scanner or a misconfigured encoder retrying in a
// loop cannot flood the log. It remembers a bounded number of addresses.
type LogLimiter struct {
	interval time.Duration
	max      int

	mu   sync.Mutex
	last map[netip.Addr]time.Time
}

// NewLogLimiter returns a limiter of one message per address per interval,
// remembering at most maxAddrs addresses.
func NewLogLimiter(interval time.Duration, maxAddrs int) *LogLimiter {
	return &LogLimiter{interval: interval, max: maxAddrs, last: map[netip.Addr]time.Time{}}
}

// Allow reports whether to log about remote ("ip:port") now.
func (l *LogLimiter) Allow(remote string, now time.Time) bool {
	ip, _ := parseIP(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[ip]; ok && now.Sub(t) < l.interval {
		return false
	}
	if len(l.last) >= l.max {
		for a, t := range l.last {
			if now.Sub(t) >= l.interval {
				delete(l.last, a)
			}
		}
		if len(l.last) >= l.max {
			return false
		}
	}
	l.last[ip] = now
	return true
}
