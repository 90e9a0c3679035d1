package edge

import (
	"context"
	"errors"
	"sync"
)

// flights are the fetches in progress, by cache key: the heart of request
// collapsing. Every request that misses the cache while a key is being
// fetched attaches to the same entry instead of asking the origin again.
type flights struct {
	mu     sync.Mutex
	m      map[string]*entry
	closed bool
	wg     sync.WaitGroup
}

// role is how a request came by its entry.
type role int

const (
	roleHit       role = iota // complete in the cache
	roleMiss                  // this request started the fetch
	roleCollapsed             // attached to a fetch in progress
	roleStale                 // expired, served while its refresh fails
)

// errClosed refuses new fetches once the edge is closing.
var errClosed = errors.New("edge: closing")

func newFlights() *flights { return &flights{m: map[string]*entry{}} }

// join attaches to the fetch of key, or starts one. Under the same lock it
// asks cached for a fresh entry, so a fetch that completes between the
// caller's cache lookup and join is found rather than repeated. start runs
// in its own goroutine for a new entry, with a context that is cancelled
// only if the fetch is abandoned; done must be called when it ends.
func (f *flights) join(key string, cached func() *entry, start func(context.Context, *entry)) (*entry, role, error) {
	f.mu.Lock()
	if e := f.m[key]; e != nil {
		e.join()
		f.mu.Unlock()
		return e, roleCollapsed, nil
	}
	if e := cached(); e != nil {
		f.mu.Unlock()
		return e, roleHit, nil
	}
	if f.closed {
		f.mu.Unlock()
		return nil, roleMiss, errClosed
	}
	e := newEntry(key)
	ctx, cancel := context.WithCancel(context.Background())
	e.abandon = cancel
	e.join()
	f.m[key] = e
	f.wg.Add(1)
	f.mu.Unlock()
	go start(ctx, e)
	return e, roleMiss, nil
}

// forget detaches e from its key, so later requests start a new fetch. It
// is called once the entry is in the cache, or as soon as it is known it
// will not be.
func (f *flights) forget(e *entry) {
	f.mu.Lock()
	if f.m[e.key] == e {
		delete(f.m, e.key)
	}
	f.mu.Unlock()
}

// done marks the end of a fetch goroutine.
func (f *flights) done() { f.wg.Done() }

// inFlight is the number of keys being fetched.
func (f *flights) inFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}

// close refuses new fetches and waits for those in progress to finish.
func (f *flights) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.wg.Wait()
}
