package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Config configures an Edge. Zero values take the defaults named on each
// field.
type Config struct {
	// Origins is the origin group, primary first, each an http(s) URL of a
	// server without a path ("http://origin:8080"). An origin may be another
	// edge (a shield tier).
	Origins []string
	// MemoryBytes bounds the memory tier (default 256 MiB). Objects still
	// being fetched are not counted; each is bounded by MaxObjectBytes.
	MemoryBytes int64
	// DiskDir and DiskBytes add a disk tier that takes what the memory tier
	// evicts. The edge's files in DiskDir are removed on start.
	DiskDir   string
	DiskBytes int64
	// SpoolDir and SpoolBytes keep copies of recently served objects of
	// 128 KB or more as files, sent with sendfile(2) from the page cache
	// (1.5 times the requests per second of copying from memory for 1 MB
	// segments). The
	// folder is emptied on start, removed by Close and must belong to this
	// edge alone; an empty SpoolDir sends from memory.
	SpoolDir   string
	SpoolBytes int64
	// StaleIfError is how long after expiry an object may still be served
	// while every origin fails (default 60 s; negative disables).
	StaleIfError time.Duration
	// MaxOriginRequests bounds concurrent requests to the origins
	// (default 64).
	MaxOriginRequests int
	// AllowedQuery names the query parameters that are part of the cache
	// key and reach the origin; every other one is dropped. Signature
	// parameters can never be listed. Default: DefaultAllowedQuery.
	AllowedQuery []string
	// Verifier, when set, checks every request's signature before anything
	// else.
	Verifier Verifier
	// HealthPath is checked on every origin each HealthInterval (defaults
	// /healthz and 2 s; a negative interval disables checks). The edge
	// answers the same path itself, so it can be another edge's origin. Two
	// failed checks in a row mark an origin down; one good check brings it
	// back.
	HealthPath     string
	HealthInterval time.Duration
	// OriginTimeout bounds the wait for an origin's response headers and
	// the longest silence inside a body (default 10 s).
	OriginTimeout time.Duration
	// MaxObjectBytes is the largest object cached; larger ones are streamed
	// through uncached (default 64 MiB).
	MaxObjectBytes int64
	// Name is the edge's pseudonym in Via headers (default "sluice-edge").
	Name string
	// Client makes the origin requests (default: a transport sized for
	// MaxOriginRequests). Redirects are never followed: they are cached
	// and passed on like any response.
	Client *http.Client
	// Observer, when set, hears of every answer and origin fetch (for
	// Prometheus); Stats keeps counting either way.
	Observer Observer
	// Now is the clock that drives expiry (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Verifier checks a request's signature; a non-nil error refuses the
// request with 403 and the error's text as the detail, so the error must
// say which condition failed without revealing secrets. *signing.Verifier
// satisfies it.
type Verifier interface {
	Verify(r *http.Request) error
}

// Defaults.
const (
	DefaultMemoryBytes       = 256 << 20
	DefaultStaleIfError      = resource.DefaultStaleIfErrorSeconds * time.Second
	DefaultMaxOriginRequests = 64
	DefaultHealthPath        = "/healthz"
	DefaultHealthInterval    = 2 * time.Second
	DefaultOriginTimeout     = 10 * time.Second
	DefaultMaxObjectBytes    = 64 << 20
	DefaultName              = "sluice-edge"
)

// DefaultAllowedQuery are the parameters of LL-HLS blocking playlist
// reloads and of DVR windows, and the player page's choice of player, so
// the page works through an edge as it does at the origin.
var DefaultAllowedQuery = []string{"_HLS_msn", "_HLS_part", "_HLS_skip", "start", "end", "player"}

// ConfigFromSpec turns a distribution into an edge configuration. The
// caller adds the Verifier (when RequireSignedURLs is set), Logger and
// anything else the spec does not carry.
func ConfigFromSpec(spec resource.DistributionSpec) Config {
	c := Config{
		Origins:           spec.Origins,
		MemoryBytes:       int64(spec.MemoryMB) << 20,
		DiskDir:           spec.DiskDir,
		DiskBytes:         int64(spec.DiskMB) << 20,
		StaleIfError:      spec.StaleIfError(),
		MaxOriginRequests: spec.MaxOriginRequests,
		Name:              DefaultName,
	}
	if spec.Name != "" {
		c.Name = DefaultName + "-" + spec.Name
	}
	return c
}

// withDefaults fills in defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	if len(c.Origins) == 0 {
		return c, errors.New("edge: at least one origin is required")
	}
	for i, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return c, fmt.Errorf("edge: origins[%d] %q must be an http(s) URL of a server without a path", i, o)
		}
	}
	if c.MemoryBytes == 0 {
		c.MemoryBytes = DefaultMemoryBytes
	}
	if c.MemoryBytes < 0 || c.DiskBytes < 0 {
		return c, errors.New("edge: cache sizes must not be negative")
	}
	if c.DiskBytes > 0 && c.DiskDir == "" {
		return c, errors.New("edge: a disk tier needs DiskDir")
	}
	switch {
	case c.StaleIfError == 0:
		c.StaleIfError = DefaultStaleIfError
	case c.StaleIfError < 0:
		c.StaleIfError = 0
	}
	if c.MaxOriginRequests == 0 {
		c.MaxOriginRequests = DefaultMaxOriginRequests
	}
	if c.MaxOriginRequests < 0 {
		return c, errors.New("edge: MaxOriginRequests must be positive")
	}
	if c.AllowedQuery == nil {
		c.AllowedQuery = DefaultAllowedQuery
	}
	for _, name := range c.AllowedQuery {
		if reservedParam(name) {
			return c, fmt.Errorf("edge: query parameter %q carries a signature or token and cannot be part of the cache key", name)
		}
	}
	if c.HealthPath == "" {
		c.HealthPath = DefaultHealthPath
	}
	if !strings.HasPrefix(c.HealthPath, "/") {
		return c, fmt.Errorf("edge: HealthPath %q must start with /", c.HealthPath)
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.OriginTimeout <= 0 {
		c.OriginTimeout = DefaultOriginTimeout
	}
	if c.MaxObjectBytes <= 0 {
		c.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if strings.ContainsAny(c.Name, " ,\r\n") {
		return c, fmt.Errorf("edge: Name %q must be one token", c.Name)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Client = originClient(c.Client, c.MaxOriginRequests)
	return c, nil
}

// originClient returns a copy of client (or a default one) that never
// follows redirects.
func originClient(client *http.Client, conns int) *http.Client {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		t, _ := http.DefaultTransport.(*http.Transport)
		if t != nil {
			t = t.Clone()
			t.MaxIdleConnsPerHost = conns
			t.DisableCompression = true
			c.Transport = t
		}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
