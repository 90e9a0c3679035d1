package edge

import (
	"container/list"
	"sync"
)

// memoryCache is the memory tier: complete entries by key, evicted least
// recently used first when their sizes add up to more than limit.
type memoryCache struct {
	mu    sync.Mutex
	limit int64
	used  int64
	items map[string]*list.Element
	order *list.List // of *memoryItem, most recently used first
}

type memoryItem struct {
	e    *entry
	size int64
}

func newMemoryCache(limit int64) *memoryCache {
	return &memoryCache{limit: limit, items: map[string]*list.Element{}, order: list.New()}
}

// get returns the entry of key and marks it used.
func (c *memoryCache) get(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.items[key]
	if el == nil {
		return nil
	}
	c.order.MoveToFront(el)
	it, _ := el.Value.(*memoryItem)
	return it.e
}

// add keeps e, replacing the entry of the same key, and returns the entries
// evicted to make room. An entry larger than the whole tier is not kept
// and comes back as evicted.
func (c *memoryCache) add(e *entry) []*entry {
	size := e.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[e.key]; el != nil {
		c.removeElement(el)
	}
	if size > c.limit {
		return []*entry{e}
	}
	c.items[e.key] = c.order.PushFront(&memoryItem{e: e, size: size})
	c.used += size
	var evicted []*entry
	for c.used > c.limit {
		el := c.order.Back()
		it, _ := el.Value.(*memoryItem)
		c.removeElement(el)
		evicted = append(evicted, it.e)
	}
	return evicted
}

// remove drops the entry of key if it is still e.
func (c *memoryCache) remove(key string, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[key]; el != nil {
		if it, _ := el.Value.(*memoryItem); it.e == e {
			c.removeElement(el)
		}
	}
}

func (c *memoryCache) removeElement(el *list.Element) {
	it, _ := el.Value.(*memoryItem)
	c.order.Remove(el)
	delete(c.items, it.e.key)
	c.used -= it.size
}

// usage returns the number of entries and their bytes.
func (c *memoryCache) usage() (objects int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used
}
