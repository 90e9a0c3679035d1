// Package harvest turns a range of a channel's DVR window into a VOD
// package: the archived CMAF segments are copied as they are (no
// re-encoding) and VOD HLS playlists and a static DASH MPD are written
// next to them. Jobs are persisted and go SUBMITTED → PROGRESSING →
// COMPLETE or ERROR.
package harvest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// Store persists jobs; *store.Store satisfies it.
type Store interface {
	SaveHarvestJob(ctx context.Context, j resource.HarvestJob) error
	GetHarvestJob(ctx context.Context, id string) (resource.HarvestJob, error)
	ListHarvestJobs(ctx context.Context) ([]resource.HarvestJob, error)
}

// Source is what a job reads: a channel's endpoints and its archive.
type Source struct {
	Outputs []resource.OutputGroup
	// Archive is nil when the channel has no DVR window.
	Archive Archive
}

// Archive is the part of a DVR archive a harvest reads; *dvr.Archive
// satisfies it.
type Archive interface {
	Cut(r dvr.Range, ended bool) (*cmaf.Snapshot, error)
	Available() (first, last time.Time, ok bool)
	Segment(rendition string, number uint64) ([]byte, bool)
	Init(rendition string, run uint64) ([]byte, bool)
}

// Channels is what a harvest reads of the channel manager: a channel's
// timeline and endpoints by name.
type Channels interface {
	Packaging(name string) (*cmaf.Timeline, []resource.OutputGroup, bool)
}

// Archives opens the DVR archives of channels; *dvr.Service satisfies it.
type Archives interface {
	ArchiveFor(channel string, outputs []resource.OutputGroup) *dvr.Archive
}

// LookupIn finds channels in ch with their archives, for Config.Lookup.
func LookupIn(ch Channels, archives Archives) func(string) (Source, bool) {
	return func(name string) (Source, bool) {
		_, outputs, ok := ch.Packaging(name)
		if !ok {
			return Source{}, false
		}
		src := Source{Outputs: outputs}
		if a := archives.ArchiveFor(name, outputs); a != nil {
			src.Archive = a
		}
		return src, true
	}
}

// Config configures a Service.
type Config struct {
	Store Store
	// Lookup finds a channel by name.
	Lookup func(channel string) (Source, bool)
	// Storage is where packages are written, each under its destination
	// prefix: a local folder or an S3 bucket.
	Storage storage.Storage
	// URLPrefix is the path packages are served at ("/harvest").
	URLPrefix string
	// Node names this node on the jobs it runs: at its start it marks
	// failed only the unfinished jobs that name it (or no node), not those
	// other nodes of a cluster run.
	Node   string
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs harvest jobs.
type Service struct {
	cfg Config
	wg  sync.WaitGroup
	mu  sync.Mutex // serialises job state writes
}

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.URLPrefix == "" {
		cfg.URLPrefix = "/harvest"
	}
	return &Service{cfg: cfg}
}

// Start marks failed the jobs this node left unfinished when it stopped;
// other nodes' jobs are theirs.
func (s *Service) Start(ctx context.Context) error {
	jobs, err := s.cfg.Store.ListHarvestJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Node != "" && j.Node != s.cfg.Node {
			continue
		}
		if j.State == resource.HarvestSubmitted || j.State == resource.HarvestProgressing {
			j.State, j.Message = resource.HarvestError, "the server stopped while the job ran; submit it again"
			j.UpdatedAt = s.cfg.Now().UTC()
			if err := s.cfg.Store.SaveHarvestJob(ctx, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// Wait waits for running jobs (for tests).
func (s *Service) Wait() { s.wg.Wait() }

// Close waits for running jobs.
func (s *Service) Close(context.Context) error {
	s.wg.Wait()
	return nil
}

var destinationPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}(/[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}){0,7}$`)

// ListHarvestJobs returns every job, newest first.
func (s *Service) ListHarvestJobs(ctx context.Context) ([]resource.HarvestJob, error) {
	return s.cfg.Store.ListHarvestJobs(ctx)
}

// GetHarvestJob returns one job.
func (s *Service) GetHarvestJob(ctx context.Context, id string) (resource.HarvestJob, error) {
	return s.cfg.Store.GetHarvestJob(ctx, id)
}

// CreateHarvestJob validates a request against the endpoint's DVR window,
// stores the job and starts it. A range outside the window is refused with
// a message stating the window.
func (s *Service) CreateHarvestJob(ctx context.Context, spec resource.HarvestSpec) (resource.HarvestJob, error) {
	rng, src, err := s.validate(spec)
	if err != nil {
		return resource.HarvestJob{}, err
	}
	now := s.cfg.Now().UTC()
	j := resource.HarvestJob{ID: resource.NewID("hv"), HarvestSpec: spec, State: resource.HarvestSubmitted, Node: s.cfg.Node, CreatedAt: now, UpdatedAt: now}
	if j.Destination == "" {
		j.Destination = j.ID
	}
	existing, err := s.cfg.Storage.List(ctx, j.Destination+"/")
	if err != nil {
		return resource.HarvestJob{}, fmt.Errorf("checking destination %q in the harvest storage: %w", j.Destination, err)
	}
	if len(existing) > 0 {
		return resource.HarvestJob{}, resource.Conflict("destination %q already holds a package", j.Destination)
	}
	if err := s.cfg.Store.SaveHarvestJob(ctx, j); err != nil {
		return resource.HarvestJob{}, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(j, rng, src)
	}()
	return j, nil
}

// validate checks a request; errors are field errors naming the field.
func (s *Service) validate(spec resource.HarvestSpec) (dvr.Range, Source, error) {
	var errs resource.FieldErrors
	var rng dvr.Range
	var err error
	if spec.Channel == "" {
		errs.Add("channel", "is required")
	}
	if spec.Endpoint == "" {
		errs.Add("endpoint", "is required")
	}
	if rng.Start, err = dvr.ParseTime("start", spec.Start); err != nil {
		errs.Add("start", reasonOf(err))
	}
	if rng.End, err = dvr.ParseTime("end", spec.End); err != nil {
		errs.Add("end", reasonOf(err))
	}
	if !rng.Start.IsZero() && !rng.End.IsZero() && !rng.End.After(rng.Start) {
		errs.Add("end", "must be after start")
	}
	if spec.Destination != "" && (!destinationPattern.MatchString(spec.Destination) || strings.Contains(spec.Destination, "..")) {
		errs.Add("destination", "must be a relative path of letters, digits, '.', '_', '-' and '/' (no '..')")
	}
	if err := errs.Err(); err != nil {
		return rng, Source{}, err
	}
	src, ok := s.cfg.Lookup(spec.Channel)
	if !ok {
		return rng, Source{}, resource.NotFound("channel", spec.Channel)
	}
	var ep *resource.OutputGroup
	for i := range src.Outputs {
		if src.Outputs[i].Name == spec.Endpoint {
			ep = &src.Outputs[i]
		}
	}
	switch {
	case ep == nil:
		errs.Add("endpoint", fmt.Sprintf("channel %q has no endpoint %q", spec.Channel, spec.Endpoint))
	case ep.DVRWindow() == 0 || src.Archive == nil:
		errs.Add("endpoint", fmt.Sprintf("endpoint %q has no DVR window (set dvrWindowSeconds); nothing can be harvested", spec.Endpoint))
	default:
		first, last, _ := src.Archive.Available()
		floor := s.cfg.Now().Add(-ep.DVRWindow())
		if first.Before(floor) {
			first = floor
		}
		_, err := src.Archive.Cut(rng, true)
		var re *dvr.RangeError
		switch {
		case errors.As(err, &re):
			re.Reason = strings.ReplaceAll(re.Reason, "is after the newest segment", "is outside the DVR window")
			if !re.First.IsZero() {
				re.First = first
			}
			errs.Add(re.Param, strings.TrimPrefix(re.Error(), `query parameter "`+re.Param+`" `))
		case err != nil:
			return rng, src, err
		case rng.Start.Before(floor):
			re := &dvr.RangeError{Param: "start", Reason: "is outside the DVR window", First: first, Last: last}
			errs.Add("start", strings.TrimPrefix(re.Error(), `query parameter "start" `))
		}
	}
	return rng, src, errs.Err()
}

// reasonOf is what was wrong with a time, without the query-parameter
// wording the time-shift parser puts around it.
func reasonOf(err error) string {
	var pe *dvr.ParamError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}
