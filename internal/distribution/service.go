// Package distribution keeps Distributions as resources and runs each one's
// caching edge on its own listen address: it stores them, starts their
// edges at boot, and restarts an edge on every change to its distribution.
package distribution

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/resource"
)

// Store persists distributions.
type Store interface {
	CreateDistribution(ctx context.Context, d resource.Distribution) error
	UpdateDistribution(ctx context.Context, d resource.Distribution) error
	DeleteDistribution(ctx context.Context, id string) error
	GetDistribution(ctx context.Context, ref string) (resource.Distribution, error)
	ListDistributions(ctx context.Context) ([]resource.Distribution, error)
}

// Metrics exports each edge's figures; the metrics registry satisfies it.
type Metrics interface {
	// EdgeObserver returns the observer of the edge named name.
	EdgeObserver(name string) edge.Observer
	// RemoveEdge forgets every series of an edge that is gone.
	RemoveEdge(name string)
	// EdgeConnectionRefused counts a connection to the edge named name
	// closed over the bound of connections per client address.
	EdgeConnectionRefused(name string)
}

// Config configures the service.
type Config struct {
	Store Store
	// Verifier checks signed URLs on distributions that require them; nil
	// when the server has no signing keys, and then such distributions are
	// refused.
	Verifier edge.Verifier
	// Metrics is optional.
	Metrics Metrics
	// LoopbackOnly confines the edges' listen addresses to loopback: the
	// server has no API token, so whoever can reach it may create
	// distributions, and an edge listening on every interface would open
	// a proxy into this machine's network to the world.
	LoopbackOnly bool
	// Listen opens an edge's listener (default net.Listen).
	Listen func(network, address string) (net.Listener, error)
	// Drain bounds how long stopping an edge waits for the responses in
	// progress (default 15 s).
	Drain time.Duration
	// ReadTimeout and MaxConnsPerClient protect the edges' listeners from
	// slow and greedy clients (see httpguard.Config; zero values take its
	// defaults, no bound on connections).
	ReadTimeout       time.Duration
	MaxConnsPerClient int
	// SpoolDir, when set, gives each edge a folder under it for copies of
	// recently served objects, SpoolBytes large, sent with sendfile(2).
	SpoolDir   string
	SpoolBytes int64
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service is the resource side of distributions and the runner of their
// edges.
type Service struct {
	cfg    Config
	store  Store
	logger *slog.Logger

	// mu serialises changes, so an edge is never started twice.
	mu      sync.Mutex
	running map[string]*runner // by distribution ID
	failed  map[string]string  // why an edge is not running, by ID
	closed  bool
	// draining counts the edges finishing their responses after a stop.
	draining sync.WaitGroup
}

// New returns the service; Start starts the stored distributions' edges.
func New(cfg Config) *Service {
	if cfg.Listen == nil {
		cfg.Listen = net.Listen
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		cfg: cfg, store: cfg.Store, logger: cfg.Logger,
		running: map[string]*runner{}, failed: map[string]string{},
	}
}

// Start starts the edge of every stored distribution. An edge that cannot
// start (its address is taken) is logged and reported as FAILED; the
// others run.
func (s *Service) Start(ctx context.Context) error {
	all, err := s.store.ListDistributions(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range all {
		if err := s.listenAllowed(d.Listen); err != nil {
			s.failed[d.ID] = err.Error()
			s.logger.Error(fmt.Sprintf("the edge of distribution %s did not start", d.Name), "distribution", d.Name, "error", err)
			continue
		}
		if err := s.startLocked(d); err != nil {
			s.logger.Error(fmt.Sprintf("the edge of distribution %s did not start", d.Name), "distribution", d.Name, "error", err)
		}
	}
	return nil
}

// check validates a spec against the server: signing keys must exist for
// a distribution that requires signatures, and a server without a token
// listens on loopback only.
func (s *Service) check(spec resource.DistributionSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.RequireSignedURLs && s.cfg.Verifier == nil {
		var errs resource.FieldErrors
		errs.Add("requireSignedURLs", "the server has no signing keys: start it with --signing-key")
		return errs.Err()
	}
	return s.listenAllowed(spec.Listen)
}

// listenAllowed refuses an address beyond loopback when the edges are
// confined to it.
func (s *Service) listenAllowed(listen string) error {
	if !s.cfg.LoopbackOnly || isLoopbackAddress(listen) {
		return nil
	}
	var errs resource.FieldErrors
	errs.Add("listen", fmt.Sprintf("%s is beyond loopback, and the server has no API token: "+
		"listen on 127.0.0.1, [::1] or localhost, or give the server a --token", listen))
	return errs.Err()
}

// isLoopbackAddress reports whether a listen address binds to loopback
// only; ":8081" binds to every interface.
func isLoopbackAddress(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CreateDistribution stores a distribution and starts its edge. The edge
// must be able to listen: an address that is taken fails the creation.
func (s *Service) CreateDistribution(ctx context.Context, stack string, spec resource.DistributionSpec) (resource.Distribution, error) {
	if err := s.check(spec); err != nil {
		return resource.Distribution{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return resource.Distribution{}, resource.Conflict("the server is shutting down")
	}
	if _, err := s.store.GetDistribution(ctx, spec.Name); err == nil {
		return resource.Distribution{}, resource.Conflict("a distribution named %q already exists", spec.Name)
	}
	now := s.cfg.Now().UTC()
	d := resource.Distribution{ID: resource.NewID("di"), Stack: stack, DistributionSpec: spec, CreatedAt: now, UpdatedAt: now}
	if err := s.startLocked(d); err != nil {
		delete(s.failed, d.ID)
		return resource.Distribution{}, err
	}
	if err := s.store.CreateDistribution(ctx, d); err != nil {
		s.stopLocked(d.ID)
		return resource.Distribution{}, err
	}
	s.logger.Info(fmt.Sprintf("distribution %s created: its edge serves on %s", spec.Name, s.running[d.ID].addr), "distribution", spec.Name)
	return s.withState(d), nil
}

// UpdateDistribution replaces a distribution's spec and restarts its edge
// (its cache starts empty). If the new edge cannot start, the old one is
// started again and the update fails.
func (s *Service) UpdateDistribution(ctx context.Context, ref, stack string, spec resource.DistributionSpec) (resource.Distribution, error) {
	if err := s.check(spec); err != nil {
		return resource.Distribution{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.store.GetDistribution(ctx, ref)
	if err != nil {
		return resource.Distribution{}, err
	}
	old := d
	d.DistributionSpec, d.Stack, d.UpdatedAt = spec, stack, s.cfg.Now().UTC()
	s.stopLocked(d.ID)
	if err := s.startLocked(d); err != nil {
		if rerr := s.startLocked(old); rerr != nil {
			s.logger.Error(fmt.Sprintf("the edge of distribution %s did not start again", old.Name), "distribution", old.Name, "error", rerr)
		}
		return resource.Distribution{}, err
	}
	if err := s.store.UpdateDistribution(ctx, d); err != nil {
		s.stopLocked(d.ID)
		_ = s.startLocked(old)
		return resource.Distribution{}, err
	}
	if old.Name != d.Name && s.cfg.Metrics != nil {
		s.cfg.Metrics.RemoveEdge(old.Name)
	}
	s.logger.Info(fmt.Sprintf("distribution %s updated: its edge restarted on %s", d.Name, s.running[d.ID].addr), "distribution", d.Name)
	return s.withState(d), nil
}

// DeleteDistribution stops a distribution's edge (letting responses in
// progress finish) and deletes it.
func (s *Service) DeleteDistribution(ctx context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.store.GetDistribution(ctx, ref)
	if err != nil {
		return err
	}
	s.stopLocked(d.ID)
	delete(s.failed, d.ID)
	if err := s.store.DeleteDistribution(ctx, d.ID); err != nil {
		return err
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.RemoveEdge(d.Name)
	}
	s.logger.Info(fmt.Sprintf("distribution %s deleted: its edge stopped", d.Name), "distribution", d.Name)
	return nil
}

// GetDistribution returns a distribution with the state of its edge.
func (s *Service) GetDistribution(ctx context.Context, ref string) (resource.Distribution, error) {
	d, err := s.store.GetDistribution(ctx, ref)
	if err != nil {
		return d, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.withState(d), nil
}

// ListDistributions returns every distribution, by name.
func (s *Service) ListDistributions(ctx context.Context) ([]resource.Distribution, error) {
	all, err := s.store.ListDistributions(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range all {
		all[i] = s.withState(all[i])
	}
	return all, nil
}

// Stats returns the figures of a distribution's edge since it started.
func (s *Service) Stats(ctx context.Context, ref string) (Stats, error) {
	d, err := s.GetDistribution(ctx, ref)
	if err != nil {
		return Stats{}, err
	}
	s.mu.Lock()
	r := s.running[d.ID]
	s.mu.Unlock()
	if r == nil {
		return Stats{}, resource.Conflict("distribution %s has no running edge: %s", d.Name, d.StateReason)
	}
	return statsOf(d, r), nil
}

// Close stops every edge, letting the responses in progress finish until
// ctx ends.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	runners := s.running
	s.running = map[string]*runner{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { r.stop(ctx) })
	}
	wg.Wait()
	s.draining.Wait()
	return nil
}

// startLocked starts d's edge, recording why when it cannot.
func (s *Service) startLocked(d resource.Distribution) error {
	if s.closed {
		return resource.Conflict("the server is shutting down")
	}
	for _, r := range s.running {
		if r.listen == d.Listen && r.id != d.ID {
			err := resource.Conflict("distribution %s already listens on %s", r.name, d.Listen)
			s.failed[d.ID] = err.Error()
			return err
		}
	}
	cfg := edge.ConfigFromSpec(d.DistributionSpec)
	cfg.Logger = s.logger.With("distribution", d.Name)
	if d.RequireSignedURLs {
		if s.cfg.Verifier == nil {
			s.failed[d.ID] = "it requires signed URLs and the server has no signing keys"
			return errors.New(s.failed[d.ID])
		}
		cfg.Verifier = s.cfg.Verifier
	}
	if s.cfg.Metrics != nil {
		cfg.Observer = s.cfg.Metrics.EdgeObserver(d.Name)
	}
	if s.cfg.SpoolDir != "" && s.cfg.SpoolBytes > 0 {
		// A folder of its own for every start: an edge being replaced may
		// still be sending from its folder while the new one fills another.
		cfg.SpoolDir = filepath.Join(s.cfg.SpoolDir, d.ID+"-"+strconv.FormatInt(s.cfg.Now().UnixNano(), 36))
		cfg.SpoolBytes = s.cfg.SpoolBytes
	}
	guard := httpguard.Config{ReadTimeout: s.cfg.ReadTimeout, MaxConnsPerClient: s.cfg.MaxConnsPerClient, Logger: cfg.Logger}
	if s.cfg.Metrics != nil {
		m, name := s.cfg.Metrics, d.Name
		guard.Refused = func() { m.EdgeConnectionRefused(name) }
	}
	r, err := startRunner(d, cfg, guard, s.cfg.Listen)
	if err != nil {
		s.failed[d.ID] = err.Error()
		return err
	}
	delete(s.failed, d.ID)
	s.running[d.ID] = r
	return nil
}

// stopLocked stops d's edge, if it runs: its address is free at once, and
// the responses in progress finish in the background (up to Drain), so
// changes and reads of other distributions do not wait for slow viewers.
func (s *Service) stopLocked(id string) {
	r := s.running[id]
	if r == nil {
		return
	}
	delete(s.running, id)
	r.closeListener()
	s.draining.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Drain)
		defer cancel()
		r.stop(ctx)
	})
}

// withState adds the state of d's edge.
func (s *Service) withState(d resource.Distribution) resource.Distribution {
	if r := s.running[d.ID]; r != nil {
		d.State, d.StateReason = resource.DistributionRunning, "serving on "+r.addr
		return d
	}
	d.State, d.StateReason = resource.DistributionFailed, s.failed[d.ID]
	if d.StateReason == "" {
		d.StateReason = "the edge is not running"
	}
	return d
}
