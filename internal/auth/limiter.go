package auth

import (
	"sync"
	"time"
)

// LimiterConfig configures the back-off of failed logins.
type LimiterConfig struct {
	// Free is how many failures a key may have before it is closed.
	Free int
	// Base is how long the first failure past Free closes the key; each
	// further one doubles it, up to Max.
	Base, Max time.Duration
	// Forget is how long after its last failure a key starts afresh.
	Forget time.Duration
	// Keys bounds the keys remembered; past it the oldest are dropped.
	Keys int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c LimiterConfig) withDefaults() LimiterConfig {
	if c.Free <= 0 {
		c.Free = 5
	}
	if c.Base <= 0 {
		c.Base = time.Second
	}
	if c.Max <= 0 {
		c.Max = 15 * time.Minute
	}
	if c.Forget <= 0 {
		c.Forget = time.Hour
	}
	if c.Keys <= 0 {
		c.Keys = 10000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// limiter slows down password guessing: each key (a client address, a
// user name) may fail Free times; every failure past that closes the key
// for twice as long as the one before, from Base up to Max. A success
// clears the key. Failures are counted in memory, by each node.
type limiter struct {
	cfg  LimiterConfig
	mu   sync.Mutex
	keys map[string]*strikes
}

type strikes struct {
	failures int
	last     time.Time
	until    time.Time
}

func newLimiter(cfg LimiterConfig) *limiter {
	return &limiter{cfg: cfg.withDefaults(), keys: map[string]*strikes{}}
}

// wait is how long key stays closed (0 when open).
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.keys[key]
	if !ok {
		return 0
	}
	return max(s.until.Sub(l.cfg.Now()), 0)
}

// fail counts a failure of key and returns how long it is now closed.
func (l *limiter) fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	s, ok := l.keys[key]
	if !ok || now.Sub(s.last) > l.cfg.Forget {
		if !ok && len(l.keys) >= l.cfg.Keys {
			l.dropOldest(now)
		}
		s = &strikes{}
		l.keys[key] = s
	}
	s.failures++
	s.last = now
	if over := s.failures - l.cfg.Free; over > 0 {
		d := l.cfg.Base
		for i := 1; i < over && d < l.cfg.Max; i++ {
			d *= 2
		}
		s.until = now.Add(min(d, l.cfg.Max))
	}
	return max(s.until.Sub(now), 0)
}

// clear forgets key's failures.
func (l *limiter) clear(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// dropOldest makes room: keys past Forget go, and when none has, the one
// failed longest ago.
func (l *limiter) dropOldest(now time.Time) {
	var oldest string
	var at time.Time
	for k, s := range l.keys {
		if now.Sub(s.last) > l.cfg.Forget && now.After(s.until) {
			delete(l.keys, k)
			continue
		}
		if oldest == "" || s.last.Before(at) {
			oldest, at = k, s.last
		}
	}
	if len(l.keys) >= l.cfg.Keys && oldest != "" {
		delete(l.keys, oldest)
	}
}
