package distribution

import (
	"time"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/resource"
)

// Stats are the figures of a distribution's edge since it (last) started,
// as the API shows them: durations in seconds.
type Stats struct {
	Name string `json:"name"`
	// Address is the address the edge is bound to.
	Address string    `json:"address"`
	Since   time.Time `json:"since"`
	// Requests counts every request; BytesOut the body bytes sent.
	Requests uint64 `json:"requests"`
	BytesOut uint64 `json:"bytesOut"`
	// Hits, Misses, Collapsed (waited for another request's fetch) and
	// Stale (served expired while the origins fail) count responses by how
	// the cache served them; HitRatio is (Hits+Collapsed+Stale)/all four.
	Hits      uint64  `json:"hits"`
	Misses    uint64  `json:"misses"`
	Collapsed uint64  `json:"collapsed"`
	Stale     uint64  `json:"stale"`
	HitRatio  float64 `json:"hitRatio"`
	// OriginRequests counts fetches from the origins (failovers included)
	// and OriginErrors those that failed.
	OriginRequests uint64          `json:"originRequests"`
	OriginErrors   uint64          `json:"originErrors"`
	OriginLatency  OriginLatency   `json:"originLatency"`
	Responses      ResponseClasses `json:"responses"`
	Memory         edge.TierUsage  `json:"memory"`
	Disk           edge.TierUsage  `json:"disk"`
	// InFlight is the number of objects being fetched now.
	InFlight int                 `json:"inFlight"`
	Origins  []edge.OriginHealth `json:"origins"`
}

// ResponseClasses counts responses by status class.
type ResponseClasses struct {
	Status2xx uint64 `json:"2xx"`
	Status3xx uint64 `json:"3xx"`
	Status4xx uint64 `json:"4xx"`
	Status5xx uint64 `json:"5xx"`
}

// OriginLatency is the time origins took to send response headers.
type OriginLatency struct {
	Count       uint64  `json:"count"`
	MeanSeconds float64 `json:"meanSeconds"`
	MaxSeconds  float64 `json:"maxSeconds"`
	// Buckets count the fetches that took at most LESeconds, cumulatively.
	Buckets []LatencyBucket `json:"buckets"`
}

// LatencyBucket is one bound of the latency histogram.
type LatencyBucket struct {
	LESeconds float64 `json:"leSeconds"`
	Count     uint64  `json:"count"`
}

func statsOf(d resource.Distribution, r *runner) Stats {
	e := r.edge.Stats()
	out := Stats{
		Name: d.Name, Address: r.addr, Since: r.started.UTC(),
		Requests: e.Requests, BytesOut: e.BytesOut,
		Hits: e.Hits, Misses: e.Misses, Collapsed: e.Collapsed, Stale: e.Stale,
		OriginRequests: e.OriginRequests, OriginErrors: e.OriginErrors,
		Responses: ResponseClasses{
			Status2xx: e.Responses.Status2xx, Status3xx: e.Responses.Status3xx,
			Status4xx: e.Responses.Status4xx, Status5xx: e.Responses.Status5xx,
		},
		Memory: e.Memory, Disk: e.Disk, InFlight: e.InFlight, Origins: e.Origins,
		OriginLatency: OriginLatency{Count: e.OriginLatency.Count, MaxSeconds: e.OriginLatency.Max.Seconds(), Buckets: []LatencyBucket{}},
	}
	if served := e.Hits + e.Misses + e.Collapsed + e.Stale; served > 0 {
		out.HitRatio = float64(e.Hits+e.Collapsed+e.Stale) / float64(served)
	}
	if e.OriginLatency.Count > 0 {
		out.OriginLatency.MeanSeconds = e.OriginLatency.Sum.Seconds() / float64(e.OriginLatency.Count)
	}
	for _, b := range e.OriginLatency.Buckets {
		out.OriginLatency.Buckets = append(out.OriginLatency.Buckets, LatencyBucket{LESeconds: b.UpperBound.Seconds(), Count: b.Count})
	}
	if out.Origins == nil {
		out.Origins = []edge.OriginHealth{}
	}
	return out
}
