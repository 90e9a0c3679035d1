package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/vod"
)

type workerOptions struct {
	database   string
	data       string
	workers    int
	jobTimeout time.Duration
	visibility time.Duration
	ffmpeg     string
	ffprobe    string
	logFormat  string
	logLevel   string
	access     accessOptions
}

func newWorkerCmd(g *globals) *cobra.Command {
	o := workerOptions{}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run on-demand transcoding jobs from a shared PostgreSQL queue",
		Long: `worker runs on-demand transcoding jobs on this machine, taking them from the
PostgreSQL-backed queue that 'sluice serve --database postgres://...' and other
workers share. Each job runs on one worker at a time; a worker that dies has
its job taken over by another after the visibility timeout (by default the
job timeout plus ten minutes). The data directory holds only the work space.`,
		Example: `  sluice worker --database postgres://sluice@db/sluice --workers 2`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runWorker(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.database, "database", os.Getenv("SLUICE_DATABASE"), "postgres:// URL of the database the servers keep their state and queue in (env SLUICE_DATABASE)")
	f.Lookup("database").DefValue = "" // --help must not print the database password
	f.StringVar(&o.data, "data", envOr("SLUICE_DATA", "sluice-data"), "data directory for the work space (env SLUICE_DATA)")
	f.IntVar(&o.workers, "workers", 1, "jobs this worker runs at once")
	f.DurationVar(&o.jobTimeout, "job-timeout", 2*time.Hour, "longest one attempt of a job may run; use the same value on every node")
	f.DurationVar(&o.visibility, "visibility-timeout", 0, "how long a running job may go unfinished before another node takes it over, its node presumed dead (default: job timeout + 10 min; must exceed the job timeout)")
	f.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary")
	f.StringVar(&o.ffprobe, "ffprobe", "ffprobe", "ffprobe binary")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	addAccessFlags(cmd, &o.access)
	return cmd
}

func runWorker(ctx context.Context, g *globals, o workerOptions) error {
	logger, err := newLogger(g, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	if o.database == "" {
		return fmt.Errorf("--database is required: the postgres:// URL of the queue the server uses")
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: want 1 or more", o.workers)
	}
	ffmpeg, err := exec.LookPath(o.ffmpeg)
	if err != nil {
		return fmt.Errorf("ffmpeg not found: install it (apt-get install ffmpeg) or pass --ffmpeg: %w", err)
	}
	ffprobe, err := exec.LookPath(o.ffprobe)
	if err != nil {
		return fmt.Errorf("ffprobe not found: install ffmpeg or pass --ffprobe: %w", err)
	}
	data, err := filepath.Abs(o.data)
	if err != nil {
		return err
	}
	// A worker takes jobs from a shared database, whoever wrote them: its
	// outbound policy is the one of a server beyond loopback.
	policy, err := o.access.policy(false)
	if err != nil {
		return err
	}
	_, mediaAllow, err := o.access.roots(filepath.Join(data, "media"))
	if err != nil {
		return err
	}
	logger.Info("outbound connections for notify webhooks and pipeline storage: " + policy.String())
	// The same builder as the server's, on the shared queue.
	svc, err := vod.Open(ctx, o.database, vod.Config{FFmpeg: ffmpeg, FFprobe: ffprobe, DataDir: data, MediaAllow: mediaAllow, Outbound: policy,
		Workers: o.workers, JobTimeout: o.jobTimeout, VisibilityTimeout: o.visibility, Logger: logger})
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		_ = svc.Close(context.Background())
		return err
	}
	logger.Info("sluice worker is taking on-demand jobs", "workers", o.workers, "version", Version)
	<-ctx.Done()
	logger.Info("stopping: running jobs get 30 s to finish, then go back to the queue")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = svc.Close(sctx)
	return nil
}
