package edge

import "time"

// Observer hears of every answer and origin fetch as it happens, for a
// metrics exporter. Its methods are called on the request path and must
// not block.
type Observer interface {
	// CacheResult says how a response was served: "hit", "miss",
	// "collapsed" or "stale".
	CacheResult(result string)
	// Response reports a response's status and the body bytes sent.
	Response(status int, bytes int64)
	// OriginRequest reports one request to an origin: how long its
	// response headers took and whether it failed (error, timeout, 5xx).
	OriginRequest(d time.Duration, failed bool)
}

// Cache results as an Observer hears them.
const (
	ResultHit       = "hit"
	ResultMiss      = "miss"
	ResultCollapsed = "collapsed"
	ResultStale     = "stale"
)

// noObserver is the Observer of an edge configured without one.
type noObserver struct{}

func (noObserver) CacheResult(string)                {}
func (noObserver) Response(int, int64)               {}
func (noObserver) OriginRequest(time.Duration, bool) {}

// resultOf maps an X-Cache label to the Observer's result.
func resultOf(label string) string {
	switch label {
	case labelHit:
		return ResultHit
	case labelCollapsed:
		return ResultCollapsed
	case labelStale:
		return ResultStale
	}
	return ResultMiss
}
