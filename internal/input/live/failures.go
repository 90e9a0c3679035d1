package live

import (
	"sync"
	"time"
)

// failures remembers addresses whose publishing attempts failed recently,
// so that guessing stream keys gets slower with every wrong guess.
type failures struct {
	now func() time.Time
	mu  sync.Mutex
	by  map[string]*failureRecord
}

type failureRecord struct {
	count int
	last  time.Time
}

// Failure bookkeeping limits.
const (
	failureMemory = 10 * time.Minute
	maxFailureIPs = 10000
	maxPenalty    = 5 * time.Second
	firstPenalty  = 250 * time.Millisecond
	freeFailures  = 2
)

func newFailures(now func() time.Time) *failures {
	return &failures{now: now, by: map[string]*failureRecord{}}
}

func (f *failures) add(remote string) {
	ip := hostOf(remote)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if len(f.by) >= maxFailureIPs {
		f.sweep(now)
	}
	rec := f.by[ip]
	if rec == nil || now.Sub(rec.last) > failureMemory {
		if len(f.by) >= maxFailureIPs {
			return // still full of recent failures: forget the newcomer
		}
		rec = &failureRecord{}
		f.by[ip] = rec
	}
	rec.count++
	rec.last = now
}

func (f *failures) penalty(remote string) time.Duration {
	ip := hostOf(remote)
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.by[ip]
	if rec == nil || f.now().Sub(rec.last) > failureMemory || rec.count <= freeFailures {
		return 0
	}
	d := firstPenalty << min(rec.count-freeFailures-1, 8)
	return min(d, maxPenalty)
}

func (f *failures) sweep(now time.Time) {
	for ip, rec := range f.by {
		if now.Sub(rec.last) > failureMemory {
			delete(f.by, ip)
		}
	}
}

func hostOf(remote string) string {
	if a, err := parseIP(remote); err == nil {
		return a.String()
	}
	return remote
}
