package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sluice-video/sluice/internal/confine"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// Publisher receives job events (the event bus).
type Publisher interface {
	Publish(e resource.Event) resource.Event
}

// Metrics receives job figures (the metrics registry).
type Metrics interface {
	JobCounts(counts map[string]int)
	JobFinished(state string, dur time.Duration)
}

// Config configures the on-demand service.
type Config struct {
	Queue   *queue.DB
	FFmpeg  string
	FFprobe string
	// DataDir holds the default pipeline's folders and the work space.
	DataDir string
	// MediaDir is where relative pipeline folders point; MediaAllow lists
	// the other folders a pipeline may name (--media-allow). A folder
	// anywhere else is refused, as FILE inputs are (see the confine
	// package). MediaDir defaults to <DataDir>/media.
	MediaDir   string
	MediaAllow []string
	// Outbound says where pipeline buckets and notify webhooks may be
	// (the Deliverer the service makes for itself, when Webhooks is nil,
	// takes it too). Nil allows every address.
	Outbound *outbound.Policy
	// Workers is how many jobs this node runs at once; 0 only submits.
	Workers int
	// JobTimeout bounds one attempt (default 2 h); VisibilityTimeout is
	// how long a job may stay running before another node takes it over
	// (default JobTimeout + 10 min); MaxAttempts defaults to 3.
	JobTimeout        time.Duration
	VisibilityTimeout time.Duration
	MaxAttempts       int
	// RetryBackoff gives the wait before the next attempt (default
	// exponential, from River).
	RetryBackoff func(attempt int) time.Duration
	// PollInterval is how often idle workers and watchers look for work
	// (default 1 s).
	PollInterval time.Duration
	Events       Publisher
	Metrics      Metrics
	// Webhooks delivers pipelines' notifications (the server's
	// *event.Deliverer: retries with backoff, bounded queues, a delivery
	// log); nil gives the service a Deliverer of its own.
	Webhooks Webhooks
	Getenv   func(string) string
	Now      func() time.Time
	Logger   *slog.Logger
}

// Webhooks queues an event for a webhook and returns at once; false means
// it was dropped. *event.Deliverer satisfies it.
type Webhooks interface {
	Enqueue(w event.Webhook, e resource.Event) bool
}

// Service runs on-demand transcoding: the catalogue of presets, pipelines,
// jobs and assets, the queue workers and the watchers.
type Service struct {
	cfg Config
	// ownHooks is the Deliverer the service made for itself, closed by Close.
	ownHooks *event.Deliverer
	// ownQueue is the queue database Open opened, closed by Close.
	ownQueue *queue.DB
	// roots are the folders local pipeline locations may be in.
	roots  *confine.Roots
	db     *db
	client queue.Client
	logger *slog.Logger

	mu       sync.Mutex
	stores   map[string]storage.Storage
	up       uploads
	stopping context.CancelFunc
	started  bool
	wg       sync.WaitGroup
}

// DefaultPipeline is the pipeline jobs use when they name none: folders in
// the data directory.
const DefaultPipeline = "default"

// New prepares the service; Start runs it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Queue == nil {
		return nil, errors.New("vod: no queue database")
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = 2 * time.Hour
	}
	switch {
	case cfg.VisibilityTimeout == 0:
		cfg.VisibilityTimeout = cfg.JobTimeout + 10*time.Minute
	case cfg.VisibilityTimeout <= cfg.JobTimeout:
		return nil, fmt.Errorf("vod: the visibility timeout (%v) must exceed the job timeout (%v), or a job still running would be taken over", cfg.VisibilityTimeout, cfg.JobTimeout)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MediaDir == "" {
		cfg.MediaDir = filepath.Join(cfg.DataDir, "media")
	}
	// Locations are compared and joined as absolute paths.
	for _, d := range []*string{&cfg.DataDir, &cfg.MediaDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, err
		}
		*d = abs
	}
	roots, err := confine.New(cfg.MediaDir, cfg.MediaAllow)
	if err != nil {
		return nil, err
	}
	var own *event.Deliverer
	if cfg.Webhooks == nil {
		own = event.NewDeliverer(event.WebhookConfig{Policy: cfg.Outbound, Logger: cfg.Logger})
		cfg.Webhooks = own
	}
	s := &Service{cfg: cfg, db: &db{q: cfg.Queue, now: cfg.Now}, logger: cfg.Logger, stores: map[string]storage.Storage{}, ownHooks: own, roots: roots}
	if err := s.db.migrate(ctx); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{s: s})
	c, err := cfg.Queue.NewClient(workers, queue.Config{
		Workers: cfg.Workers, JobTimeout: cfg.JobTimeout, VisibilityTimeout: cfg.VisibilityTimeout,
		MaxAttempts: cfg.MaxAttempts, PollInterval: cfg.PollInterval, RetryPolicy: cfg.RetryBackoff, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("vod: queue client: %w", err)
	}
	s.client = c
	return s, nil
}

// Start runs the workers (when Workers > 0) and the watchers of pipelines
// that watch their input, and the sweeper of abandoned uploads (those of
// an earlier process resume where they stopped). On the embedded SQLite
// queue, jobs left running by a previous process of this node are handed
// back to the queue at once: no other process can be running them.
func (s *Service) Start(ctx context.Context) error {
	s.sweepUploads(ctx)
	if s.cfg.Queue.Dialect == queue.SQLite && s.cfg.Workers > 0 {
		if err := s.recoverOrphans(ctx); err != nil {
			return err
		}
	}
	if s.cfg.Workers > 0 {
		// A node without workers only inserts: its client needs no start.
		if err := s.client.Start(ctx); err != nil {
			return fmt.Errorf("vod: starting the queue: %w", err)
		}
		s.started = true
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopping = cancel
	if s.cfg.Workers > 0 {
		s.wg.Go(func() { s.watch(wctx) })
	}
	s.wg.Go(func() { s.reportCounts(wctx) })
	s.wg.Go(func() { s.sweepEvery(wctx) })
	return nil
}

// Close stops taking jobs and waits for running ones to finish or for
// ctx to end, after which they are abandoned to be retried; then it
// closes the queue database when Open opened it.
func (s *Service) Close(ctx context.Context) error {
	if s.stopping != nil {
		s.stopping()
	}
	if s.ownQueue != nil {
		defer s.ownQueue.Close()
	}
	if s.ownHooks != nil {
		defer s.ownHooks.Close(ctx)
	}
	if !s.started {
		s.wg.Wait()
		return nil
	}
	if err := s.client.Stop(ctx); err != nil {
		// Running attempts did not finish in time: cancel them; their jobs
		// go back to the queue.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = s.client.StopAndCancel(cctx)
		cancel()
	}
	s.wg.Wait()
	return nil
}

// recoverOrphans makes jobs a dead process left in River's running state
// available again, and counts the interrupted attempt.
func (s *Service) recoverOrphans(ctx context.Context) error {
	n, err := s.db.exec(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running' AND kind = ?", transcodeArgs{}.Kind())
	if err != nil {
		return fmt.Errorf("vod: recovering interrupted jobs: %w", err)
	}
	if n > 0 {
		s.logger.Info(fmt.Sprintf("%d on-demand jobs were interrupted by a restart and go back to the queue", n), "jobs", n)
	}
	return nil
}

// SubmitRequest asks for a job.
type SubmitRequest struct {
	Pipeline string   `json:"pipeline,omitempty"`
	Input    string   `json:"input"`
	Presets  []string `json:"presets,omitempty"`
	Output   string   `json:"output,omitempty"`
}

// ValidationError is a request the service refuses, with the field.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

// Unwrap makes a validation error an invalid request for the API.
func (e *ValidationError) Unwrap() error { return resource.ErrInvalid }

// Submit records a job and queues it.
func (s *Service) Submit(ctx context.Context, req SubmitRequest) (Job, error) {
	return s.submitWithID(ctx, req, "", resource.NewID("job"))
}

func (s *Service) submitWithID(ctx context.Context, req SubmitRequest, etag, id string) (Job, error) {
	if req.Pipeline == "" {
		req.Pipeline = DefaultPipeline
	}
	p, err := s.Pipeline(ctx, req.Pipeline)
	if err != nil {
		return Job{}, err
	}
	if _, err := storage.CleanKey(req.Input); err != nil {
		return Job{}, &ValidationError{Msg: "input: " + err.Error()}
	}
	if len(req.Presets) == 0 {
		req.Presets = p.Presets
	}
	for _, name := range req.Presets {
		if _, err := s.Preset(ctx, name); err != nil {
			return Job{}, &ValidationError{Msg: fmt.Sprintf("presets: %q does not exist", name)}
		}
	}
	if req.Output == "" {
		stem := strings.TrimSuffix(path.Base(req.Input), path.Ext(req.Input))
		req.Output = stem + "-" + strings.TrimPrefix(id, "job-")
	}
	if _, err := storage.CleanKey(req.Output); err != nil {
		return Job{}, &ValidationError{Msg: "output: " + err.Error()}
	}
	now := s.cfg.Now()
	j := Job{ID: id, Pipeline: p.Name, Input: req.Input, Presets: req.Presets, Output: req.Output, State: StateSubmitted, Created: now, Updated: now, inputETag: etag}
	if err := s.db.insertJob(ctx, j); err != nil {
		return Job{}, err
	}
	qid, err := s.enqueue(ctx, id)
	if err != nil {
		_, _ = s.db.transition(ctx, id, []string{StateSubmitted}, StateError, "", "could not be queued: "+err.Error())
		return Job{}, fmt.Errorf("queueing job: %w", s.cfg.Queue.Check(err))
	}
	j.QueueID = qid
	s.db.appendLog(ctx, id, fmt.Sprintf("submitted: %s from pipeline %s with presets %s", req.Input, p.Name, strings.Join(req.Presets, ", ")))
	s.event(ctx, j, "job "+id+" submitted")
	return j, nil
}

// enqueue puts a job on the queue, once: the queue refuses a second entry
// for the same job.
func (s *Service) enqueue(ctx context.Context, id string) (int64, error) {
	res, err := s.client.Insert(ctx, transcodeArgs{JobID: id}, &river.InsertOpts{MaxAttempts: s.cfg.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		return 0, err
	}
	_, _ = s.db.exec(ctx, "UPDATE vod_jobs SET queue_id = ? WHERE id = ?", res.Job.ID, id)
	return res.Job.ID, nil
}

// requeueLost queues jobs recorded by a process that died before it
// queued them.
func (s *Service) requeueLost(ctx context.Context) {
	rows, err := s.cfg.Queue.SQL.QueryContext(ctx, s.cfg.Queue.Rebind("SELECT id FROM vod_jobs WHERE state = ? AND queue_id = 0 AND created_at < ?"),
		StateSubmitted, stamp(s.cfg.Now().Add(-claimGrace)))
	if err != nil {
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	_ = rows.Close()
	for _, id := range ids {
		if _, err := s.enqueue(ctx, id); err == nil {
			s.logger.Info("a job that was recorded but never queued is queued now", "job", id)
		}
	}
}

// Job returns one job with its log.
func (s *Service) Job(ctx context.Context, id string) (Job, error) { return s.db.job(ctx, id) }

// Jobs lists the newest jobs, optionally in one state.
func (s *Service) Jobs(ctx context.Context, state string, limit int) ([]Job, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.db.jobs(ctx, state, limit)
}

// Cancel stops a job that has not finished. A running attempt notices
// within a second and stops its encoder.
func (s *Service) Cancel(ctx context.Context, id string) (Job, error) {
	j, err := s.db.job(ctx, id)
	if err != nil {
		return Job{}, err
	}
	ok, err := s.db.transition(ctx, id, []string{StateSubmitted, StateProgressing}, StateCanceled, "", "")
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return j, fmt.Errorf("job %s is already %s: %w", id, j.State, ErrConflict)
	}
	if j.QueueID != 0 {
		_, _ = s.client.JobCancel(ctx, j.QueueID)
	}
	s.db.appendLog(ctx, id, "canceled")
	j, err = s.db.job(ctx, id)
	if err == nil {
		s.finished(ctx, j, "job "+id+" canceled")
	}
	return j, err
}

// event tells the bus and the pipeline's webhook about a job's state.
func (s *Service) event(ctx context.Context, j Job, msg string) {
	detail := map[string]string{"job": j.ID, "pipeline": j.Pipeline, "input": j.Input, "state": j.State, "output": j.Output}
	if j.Error != "" {
		detail["error"] = j.Error
	}
	e := resource.Event{At: s.cfg.Now(), Type: resource.EventJobStateChanged, Resource: "job/" + j.ID, Detail: detail, Message: msg}
	if s.cfg.Events != nil {
		e = s.cfg.Events.Publish(e)
	}
	s.notify(ctx, j.Pipeline, e)
}

func (s *Service) finished(ctx context.Context, j Job, msg string) {
	s.event(ctx, j, msg)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.JobFinished(j.State, j.Finished.Sub(j.Created))
	}
	s.logger.Info(msg, "job", j.ID, "state", j.State, "error", j.Error)
}

// reportCounts keeps the jobs-by-state gauge current.
func (s *Service) reportCounts(ctx context.Context) {
	if s.cfg.Metrics == nil {
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		rows, err := s.cfg.Queue.SQL.QueryContext(ctx, "SELECT state, COUNT(*) FROM vod_jobs GROUP BY state")
		if err == nil {
			counts := map[string]int{StateSubmitted: 0, StateProgressing: 0, StateComplete: 0, StateError: 0, StateCanceled: 0}
			for rows.Next() {
				var st string
				var n int
				if rows.Scan(&st, &n) == nil {
					counts[st] = n
				}
			}
			_ = rows.Close()
			s.cfg.Metrics.JobCounts(counts)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// storageFor opens (once) the storage a pipeline location names.
func (s *Service) storageFor(loc string) (storage.Storage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stores[loc]; ok {
		return st, nil
	}
	l, err := storage.ParseLocation(loc, s.cfg.MediaDir, s.cfg.Getenv)
	if err != nil {
		return nil, err
	}
	var st storage.Storage
	switch {
	case l.Scheme == "s3":
		// The bucket's endpoint is the user's: the policy applies.
		l.S3.Transport = s.cfg.Outbound.Transport(30 * time.Second)
		st, err = l.Open()
	case s.ownFolder(l.Dir):
		st, err = l.Open()
	default:
		// A folder a user named: inside the media directory or an allowed
		// folder, opened as an os.Root so that nothing below it (links
		// included) leads out.
		var root *os.Root
		root, err = s.roots.OpenDir(l.Dir, true)
		if err == nil {
			st = storage.NewLocal(root, l.Dir)
		}
	}
	if err != nil {
		return nil, err
	}
	s.stores[loc] = st
	return st, nil
}

// ownFolder reports whether dir is one of the default pipeline's folders,
// which the server makes itself in the data directory.
func (s *Service) ownFolder(dir string) bool {
	d := s.defaultPipeline()
	return dir == filepath.Clean(d.Input) || dir == filepath.Clean(d.Output)
}

// workDir is where attempts keep their files until upload.
func (s *Service) workDir() string { return filepath.Join(s.cfg.DataDir, "vod", "work") }
