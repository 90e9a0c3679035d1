package origin

import "sync"

// derivedCacheSize bounds the bodies a derivedCache keeps: a few segments
// of every rung of a few channels.
const derivedCacheSize = 64

// derivedCache keeps recently derived segment bodies (remuxed to MPEG-TS,
// encrypted), keyed by what they were derived from, oldest evicted first.
// Players fetching the same new segment share one derivation: the first
// request derives it and the others wait for that result, while requests
// for other keys go on. A failed derivation is not kept.
type derivedCache struct {
	mu    sync.Mutex
	items map[string]*derivation
	order []string
}

// derivation is one body being derived or derived.
type derivation struct {
	done chan struct{}
	body []byte
	err  error
}

// get returns the body kept under key, deriving it with derive when it is
// not kept yet.
func (c *derivedCache) get(key string, derive func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if d, ok := c.items[key]; ok {
		c.mu.Unlock()
		<-d.done
		return d.body, d.err
	}
	d := &derivation{done: make(chan struct{})}
	if c.items == nil {
		c.items = map[string]*derivation{}
	}
	c.items[key] = d
	c.order = append(c.order, key)
	for len(c.order) > derivedCacheSize {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	c.mu.Unlock()

	d.body, d.err = derive()
	close(d.done)
	if d.err != nil {
		c.mu.Lock()
		if c.items[key] == d {
			delete(c.items, key)
			for i, k := range c.order {
				if k == key {
					c.order = append(c.order[:i], c.order[i+1:]...)
					break
				}
			}
		}
		c.mu.Unlock()
	}
	return d.body, d.err
}
