// Package edge is Sluice's caching reverse proxy, the CDN tier in front of
// the origin: it keeps responses for as long as the origin's Cache-Control
// allows, in memory and optionally on disk, collapses concurrent misses
// into one origin request whose body streams to every waiting viewer as it
// arrives, fails over across an origin group, serves stale objects while
// the origins fail, and checks signed URLs before anything else. An edge
// can be another edge's origin (a shield tier).
//
// Responses carry the origin's Content-Type, ETag, Last-Modified,
// Cache-Control and CORS headers, an Age, a Via naming every edge on the
// way, and X-Cache: HIT (memory or disk), MISS (this request fetched it),
// COLLAPSED (attached to another request's fetch) or STALE (expired, served
// while the origins fail). Only the path and the allow-listed query
// parameters reach the origin, so signatures checked here never do: an
// edge behind another edge, or an origin behind an edge, must not require
// them of the edge.
package edge

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/spool"
)

// Edge is the caching proxy; it is an http.Handler. Run it in an
// http.Server; on shutdown call Server.Shutdown (which lets responses in
// progress finish) and then Close.
type Edge struct {
	cfg     Config
	now     func() time.Time
	logger  *slog.Logger
	allowed map[string]bool
	via     string
	// viaOnly and xCache are header values built once: Via when the
	// origin sent none, and X-Cache by label. They are never changed.
	viaOnly []string
	xCache  map[string][]string

	memory *memoryCache
	disk   *diskCache
	spool  *spool.Spool
	// spoolSeq numbers the entries sent from the spool: an entry's spool
	// key is its cache key and its number, as a key's content changes.
	spoolSeq atomic.Uint64
	flights  *flights
	origins  *originGroup
	// sem bounds the requests in progress toward the origins.
	sem   chan struct{}
	stats *counters

	closeOnce sync.Once
}

// New returns an edge for cfg and starts its origin health checks.
func New(cfg Config) (*Edge, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Edge{
		cfg:     cfg,
		now:     cfg.Now,
		logger:  cfg.Logger,
		allowed: map[string]bool{},
		via:     "1.1 " + cfg.Name,
		viaOnly: []string{"1.1 " + cfg.Name},
		xCache: map[string][]string{
			labelHit: {labelHit}, labelMiss: {labelMiss}, labelCollapsed: {labelCollapsed}, labelStale: {labelStale},
		},
		memory:  newMemoryCache(cfg.MemoryBytes),
		flights: newFlights(),
		sem:     make(chan struct{}, cfg.MaxOriginRequests),
		stats:   &counters{observer: cfg.Observer},
	}
	for _, name := range cfg.AllowedQuery {
		e.allowed[name] = true
	}
	if cfg.SpoolDir != "" {
		if e.spool, err = spool.New(cfg.SpoolDir, cfg.SpoolBytes, cfg.Logger); err != nil {
			return nil, err
		}
	}
	if cfg.DiskBytes > 0 {
		if e.disk, err = openDisk(cfg.DiskDir, cfg.DiskBytes); err != nil {
			return nil, err
		}
	}
	e.origins = newOriginGroup(cfg, e.stats.observeOrigin)
	go e.origins.run()
	return e, nil
}

// Stats returns the edge's counters and the state of its tiers and origins.
func (e *Edge) Stats() Stats {
	s := e.stats.snapshot()
	s.Memory.Objects, s.Memory.Bytes = e.memory.usage()
	if e.disk != nil {
		s.Disk.Objects, s.Disk.Bytes = e.disk.usage()
	}
	s.InFlight = e.flights.inFlight()
	s.Origins = e.origins.states()
	return s
}

// Close stops the health checks, refuses new origin fetches and waits for
// those in progress to finish, so the responses that follow them complete.
func (e *Edge) Close() {
	e.closeOnce.Do(func() {
		e.origins.close()
		e.flights.close()
		e.spool.Remove()
	})
}
