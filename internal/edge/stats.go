package edge

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an edge's counters, for metrics and the API. The
// counters only grow; gauges (sizes, in flight, health) are current values.
type Stats struct {
	Requests uint64 `json:"requests"`
	// BytesOut counts body bytes sent to clients.
	BytesOut uint64 `json:"bytesOut"`
	// Hits, Misses, Collapsed and Stale count responses by X-Cache.
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Collapsed uint64 `json:"collapsed"`
	Stale     uint64 `json:"stale"`
	// OriginRequests counts requests sent to origins (failovers included)
	// and OriginErrors those that failed: connection errors, timeouts, 5xx.
	OriginRequests uint64  `json:"originRequests"`
	OriginErrors   uint64  `json:"originErrors"`
	OriginLatency  Latency `json:"originLatency"`
	// Responses counts responses by status class.
	Responses StatusClasses `json:"responses"`
	Memory    TierUsage     `json:"memory"`
	Disk      TierUsage     `json:"disk"`
	// InFlight is the number of objects being fetched.
	InFlight int            `json:"inFlight"`
	Origins  []OriginHealth `json:"origins"`
}

// StatusClasses counts responses by the first digit of their status.
type StatusClasses struct {
	Status2xx uint64 `json:"2xx"`
	Status3xx uint64 `json:"3xx"`
	Status4xx uint64 `json:"4xx"`
	Status5xx uint64 `json:"5xx"`
}

// TierUsage is the content of one cache tier.
type TierUsage struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// Latency summarises the time origins took to send response headers, as a
// cumulative histogram in the manner of Prometheus.
type Latency struct {
	Count   uint64          `json:"count"`
	Sum     time.Duration   `json:"sum"`
	Max     time.Duration   `json:"max"`
	Buckets []LatencyBucket `json:"buckets"`
}

// LatencyBucket counts the requests that took at most UpperBound.
type LatencyBucket struct {
	UpperBound time.Duration `json:"le"`
	Count      uint64        `json:"count"`
}

// latencyBounds are the histogram's upper bounds.
var latencyBounds = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// counters are the live values behind Stats.
type counters struct {
	requests, bytesOut              atomic.Uint64
	hits, misses, collapsed, stale  atomic.Uint64
	originRequests, originErrors    atomic.Uint64
	status2xx, status3xx, status4xx atomic.Uint64
	status5xx                       atomic.Uint64

	// observer hears of everything counted here.
	observer Observer

	mu      sync.Mutex
	latency Latency
	buckets [len(latencyBounds)]uint64
}

// observeOrigin records one origin request.
func (c *counters) observeOrigin(d time.Duration, failed bool) {
	c.observer.OriginRequest(d, failed)
	c.originRequests.Add(1)
	if failed {
		c.originErrors.Add(1)
	}
	c.mu.Lock()
	c.latency.Count++
	c.latency.Sum += d
	c.latency.Max = max(c.latency.Max, d)
	for i, b := range latencyBounds {
		if d <= b {
			c.buckets[i]++
		}
	}
	c.mu.Unlock()
}

// response records one response to a client.
func (c *counters) response(status int, bytes int64) {
	c.observer.Response(status, bytes)
	c.bytesOut.Add(uint64(max(bytes, 0)))
	switch status / 100 {
	case 2:
		c.status2xx.Add(1)
	case 3:
		c.status3xx.Add(1)
	case 4:
		c.status4xx.Add(1)
	case 5:
		c.status5xx.Add(1)
	}
}

// cache records how a response was served.
func (c *counters) cache(label string) {
	c.observer.CacheResult(resultOf(label))
	switch label {
	case labelHit:
		c.hits.Add(1)
	case labelMiss:
		c.misses.Add(1)
	case labelCollapsed:
		c.collapsed.Add(1)
	case labelStale:
		c.stale.Add(1)
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Requests: c.requests.Load(), BytesOut: c.bytesOut.Load(),
		Hits: c.hits.Load(), Misses: c.misses.Load(), Collapsed: c.collapsed.Load(), Stale: c.stale.Load(),
		OriginRequests: c.originRequests.Load(), OriginErrors: c.originErrors.Load(),
		Responses: StatusClasses{
			Status2xx: c.status2xx.Load(), Status3xx: c.status3xx.Load(),
			Status4xx: c.status4xx.Load(), Status5xx: c.status5xx.Load(),
		},
	}
	c.mu.Lock()
	s.OriginLatency = c.latency
	s.OriginLatency.Buckets = make([]LatencyBucket, len(latencyBounds))
	for i, b := range latencyBounds {
		s.OriginLatency.Buckets[i] = LatencyBucket{UpperBound: b, Count: c.buckets[i]}
	}
	c.mu.Unlock()
	return s
}
