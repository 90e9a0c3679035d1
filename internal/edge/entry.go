package edge

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// entry is one object of the cache: the origin's status and headers and a
// body that may still be arriving. An entry is created by the request that
// misses, filled by one fetch, shared by every request that arrives while
// it is filled, and kept by the cache once complete if the origin allows.
type entry struct {
	key string
	// ready is closed once the fields below are set; they never change
	// after that.
	ready chan struct{}

	status int
	header http.Header
	// length is the body length the origin declared, or -1.
	length int64
	body   *buffer
	// fetchedAt is when the response headers arrived (by the edge's clock)
	// and initialAge the Age they carried.
	fetchedAt  time.Time
	initialAge time.Duration
	fresh      freshness
	fromDisk   bool

	// At most one of these replaces the response:
	// fallback is an expired entry served instead while the origins fail;
	fallback *entry
	// failure is the edge's own answer when no origin answered;
	failure *failure
	// tooLarge sends every waiter to the origin on its own.
	tooLarge bool

	// spoolKey names the entry's body in the edge's spool, set once.
	spoolOnce sync.Once
	spoolKey  string

	// waiters counts the requests attached while the entry is filled; when
	// it drops to zero on an entry the cache will not keep, the fetch is
	// abandoned.
	waiters     atomic.Int32
	abandon     context.CancelFunc
	abandonable atomic.Bool
	cancelOnce  sync.Once
	// failedAt is when a refresh of this (expired) entry last failed, so
	// requests in the next second are served stale without waiting.
	failedAt atomic.Int64
}

// failure is an error the edge answers itself, such as 502 when no origin
// answered.
type failure struct {
	status int
	detail string
}

func newEntry(key string) *entry {
	return &entry{key: key, ready: make(chan struct{}), length: -1, body: completeBuffer(nil), header: http.Header{}}
}

// age is the entry's current Age.
func (e *entry) age(now time.Time) time.Duration {
	return max(0, e.initialAge+now.Sub(e.fetchedAt))
}

// freshAt reports whether the entry may be served from the cache at now.
func (e *entry) freshAt(now time.Time) bool {
	return e.fresh.store && e.age(now) < e.fresh.ttl
}

// expiresAt is when the entry stops being fresh.
func (e *entry) expiresAt() time.Time {
	return e.fetchedAt.Add(e.fresh.ttl - e.initialAge)
}

// usableStale reports whether the entry may stand in for a failed refresh
// at now: a complete, successful response that expired less than window
// ago (or less than its origin's stale-if-error, when shorter) and does
// not forbid it.
func (e *entry) usableStale(now time.Time, window time.Duration) bool {
	window = e.fresh.staleWindow(window)
	if !e.fresh.store || e.fresh.noStale || e.failure != nil || e.status >= 400 || window <= 0 {
		return false
	}
	if _, ok := e.body.arrived(); !ok {
		return false
	}
	return now.Before(e.expiresAt().Add(window))
}

// recentlyFailed reports whether a refresh failed less than errorTTL ago.
func (e *entry) recentlyFailed(now time.Time) bool {
	t := e.failedAt.Load()
	return t != 0 && now.Sub(time.Unix(0, t)) < errorTTL
}

// size is what the entry costs the cache, body, key and headers.
func (e *entry) size() int64 {
	n := int64(e.body.len()+len(e.key)) + 256
	for k, vs := range e.header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// join counts a waiter.
func (e *entry) join() { e.waiters.Add(1) }

// leave uncounts a waiter and abandons the fetch of an entry nobody else
// waits for and the cache will not keep.
func (e *entry) leave() {
	if e.waiters.Add(-1) == 0 && e.abandonable.Load() {
		e.cancelFetch()
	}
}

// markAbandonable is called by the fetch once it knows the entry will not
// be kept: from then on the last waiter to leave cancels it.
func (e *entry) markAbandonable() {
	e.abandonable.Store(true)
	if e.waiters.Load() == 0 {
		e.cancelFetch()
	}
}

func (e *entry) cancelFetch() {
	e.cancelOnce.Do(func() {
		if e.abandon != nil {
			e.abandon()
		}
	})
}
