package resource

import (
	"net"
	"net/url"
	"strconv"
	"time"
)

// DistributionSpec declares a caching edge in front of an origin: where it
// listens, where it fetches from and how it caches and checks signatures.
type DistributionSpec struct {
	Name string `json:"name"`
	// Listen is the edge's own address, e.g. ":8081".
	Listen string `json:"listen"`
	// Origins is the origin group: the first is primary, the next ones take
	// over when it fails (5xx, timeouts, failed health checks). An origin may
	// be another edge (a shield tier). Credentials in an origin URL are
	// secrets.
	Origins []string `json:"origins" secret:"url"`
	// MemoryMB bounds the memory tier (default 256); DiskMB and DiskDir add a
	// disk tier.
	MemoryMB int    `json:"memoryMB,omitempty"`
	DiskMB   int    `json:"diskMB,omitempty"`
	DiskDir  string `json:"diskDir,omitempty"`
	// StaleIfErrorSeconds serves an expired object while the origin fails,
	// up to this long after it expired (default 60).
	StaleIfErrorSeconds int `json:"staleIfErrorSeconds,omitempty"`
	// MaxOriginRequests bounds concurrent requests to the origin (default 64).
	MaxOriginRequests int `json:"maxOriginRequests,omitempty"`
	// RequireSignedURLs refuses requests without a valid signature.
	RequireSignedURLs bool `json:"requireSignedURLs,omitempty"`
}

// Distribution is a distribution as the server keeps it. State and
// StateReason say whether its edge is serving; they are not stored.
type Distribution struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	DistributionSpec
	State       DistributionState `json:"state,omitempty"`
	StateReason string            `json:"stateReason,omitempty"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

// DistributionState says whether a distribution's edge is serving.
type DistributionState string

// Distribution states.
const (
	// DistributionRunning: the edge listens and serves.
	DistributionRunning DistributionState = "RUNNING"
	// DistributionFailed: the edge could not start (StateReason says why,
	// e.g. its address is taken); it is retried when the server restarts
	// or the distribution is updated.
	DistributionFailed DistributionState = "FAILED"
)

// Edge defaults.
const (
	DefaultEdgeMemoryMB          = 256
	DefaultStaleIfErrorSeconds   = 60
	DefaultMaxOriginRequests     = 64
	MaxEdgeMemoryMB              = 1 << 16
	MaxEdgeStaleIfErrorSeconds   = 86400
	MaxEdgeOriginRequestsAllowed = 4096
)

// StaleIfError returns how long after expiry the edge may still serve an
// object while the origin fails: staleIfErrorSeconds, 60 seconds by
// default.
func (d *DistributionSpec) StaleIfError() time.Duration {
	if d.StaleIfErrorSeconds == 0 {
		return wholeSeconds(DefaultStaleIfErrorSeconds)
	}
	return wholeSeconds(d.StaleIfErrorSeconds)
}

// Validate checks the distribution and names every wrong field.
func (d *DistributionSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", d.Name)
	if _, port, err := net.SplitHostPort(d.Listen); err != nil || port == "" {
		errs.Add("listen", "must be an address such as :8081 or 127.0.0.1:8081")
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs.Add("listen", "port must be from 1 to 65535")
	}
	if len(d.Origins) == 0 {
		errs.Add("origins", "at least one origin URL is required")
	}
	for i, o := range d.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs.Add(Index("origins", i), "must be an http(s) URL of a server, without a path: http://origin:8080")
		}
	}
	if d.MemoryMB < 0 || d.MemoryMB > MaxEdgeMemoryMB {
		errs.Add("memoryMB", "must be from 1 to "+strconv.Itoa(MaxEdgeMemoryMB))
	}
	if d.DiskMB < 0 || (d.DiskMB > 0 && d.DiskDir == "") {
		errs.Add("diskMB", "a disk tier needs diskMB and diskDir")
	}
	if d.StaleIfErrorSeconds < 0 || d.StaleIfErrorSeconds > MaxEdgeStaleIfErrorSeconds {
		errs.Add("staleIfErrorSeconds", "must be from 0 to "+strconv.Itoa(MaxEdgeStaleIfErrorSeconds))
	}
	if d.MaxOriginRequests < 0 || d.MaxOriginRequests > MaxEdgeOriginRequestsAllowed {
		errs.Add("maxOriginRequests", "must be from 1 to "+strconv.Itoa(MaxEdgeOriginRequestsAllowed))
	}
	return errs.Err()
}
