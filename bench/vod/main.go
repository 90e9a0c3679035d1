// Command vod measures on-demand transcoding: the wall time of one job
// that turns a 1080p source into the default HLS/DASH ladder, against a
// bare ffmpeg that produces the same ladder (the same encoder argv, the
// same rungs, written to files) in one run on the same machine; the wall
// time a thumbnails preset (thumbnails, their sprite sheet and its WebVTT
// track, from one decode) adds to the job; then the throughput of a
// server with one and with two workers.
//
//	go run ./bench/vod [--source-seconds 60] [--preset system-abr] [--thumbnails system-thumbnails] [--jobs 4] [--workers 1,2] [--json FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/vod"
)

type config struct {
	harness.Flags
	preset  string
	thumbs  string
	jobs    int
	workers []int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{}
	fs := harness.NewFlagSet("vod", `Usage: go run ./bench/vod [flags]

Measures one on-demand job (probe, encode, package as HLS and DASH, upload)
against bare ffmpeg producing the same ladder with the same encoder argv,
then the throughput of --jobs jobs on a server with each --workers count.

Flags:
`, stderr)
	c.Register(fs, "the bare anchor")
	_ = fs.Set("source-seconds", "60") // the benchmark's source is a minute long
	fs.StringVar(&c.preset, "preset", "system-abr", "system preset to transcode to")
	fs.StringVar(&c.thumbs, "thumbnails", "system-thumbnails", "thumbnails preset whose added wall time is measured with --preset (empty skips)")
	fs.IntVar(&c.jobs, "jobs", 4, "jobs submitted at once for the throughput runs (0 skips them)")
	workers := fs.String("workers", "1,2", "worker counts of the throughput runs, comma-separated")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	for _, w := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			return c, fmt.Errorf("--workers: %q is not a positive count", w)
		}
		c.workers = append(c.workers, n)
	}
	if c.SourceSeconds <= 0 || c.jobs < 0 {
		return c, errors.New("--source-seconds must be positive and --jobs not negative")
	}
	return c, nil
}

func main() { harness.Main("vod", parseFlags, run) }

// vodReport is the JSON document of a run.
type vodReport struct {
	Benchmark   string         `json:"benchmark"`
	Command     string         `json:"command"`
	Machine     report.Machine `json:"machine"`
	Source      string         `json:"source"`
	Preset      string         `json:"preset"`
	JobSeconds  float64        `json:"jobWallSeconds"`
	BareSeconds float64        `json:"bareFFmpegSeconds"`
	Ratio       float64        `json:"jobOverBare"`
	// WithThumbnails is the wall time of one job of the preset and the
	// thumbnails preset; ThumbnailsAdded what the thumbnails added.
	Thumbnails      string       `json:"thumbnailsPreset,omitempty"`
	WithThumbnails  float64      `json:"withThumbnailsWallSeconds,omitempty"`
	ThumbnailsAdded float64      `json:"thumbnailsAddedSeconds,omitempty"`
	Throughput      []throughput `json:"throughput"`
}

type throughput struct {
	Workers int     `json:"workers"`
	Jobs    int     `json:"jobs"`
	Seconds float64 `json:"wallSeconds"`
	// JobsPerMinute and MediaRatio (media seconds transcoded per wall
	// second) are the figures to compare.
	JobsPerMinute float64 `json:"jobsPerMinute"`
	MediaRatio    float64 `json:"mediaSecondsPerSecond"`
}

func run(ctx context.Context, cfg config) int {
	ws, err := harness.Start(ctx, "vod", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	src := cfg.Source()
	srcPath, err := ws.Generate(ctx, src, "source.mp4")
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep := vodReport{Benchmark: "vod", Command: report.CommandLine("go run ./bench/vod", os.Args[1:]), Machine: ws.Machine(ctx), Source: src.String(), Preset: cfg.preset}

	// One job on a server with one worker.
	job, err := timeJobs(ctx, ws, cfg, srcPath, 1, 1, cfg.preset)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep.JobSeconds = job
	ws.Log.Printf("one job: %.1f s", job)
	if err := harness.Sleep(ctx, 3*time.Second); err != nil {
		return ws.Fail(ctx, err)
	}
	bare, err := timeBare(ctx, ws, cfg, srcPath)
	if err != nil {
		return ws.Fail(ctx, err)
	}
	rep.BareSeconds = bare
	rep.Ratio = job / bare
	ws.Log.Printf("bare ffmpeg: %.1f s", bare)
	if cfg.thumbs != "" {
		if err := harness.Sleep(ctx, 3*time.Second); err != nil {
			return ws.Fail(ctx, err)
		}
		with, err := timeJobs(ctx, ws, cfg, srcPath, 1, 1, cfg.preset, cfg.thumbs)
		if err != nil {
			return ws.Fail(ctx, err)
		}
		rep.Thumbnails, rep.WithThumbnails, rep.ThumbnailsAdded = cfg.thumbs, with, with-job
		ws.Log.Printf("one job with %s: %.1f s", cfg.thumbs, with)
	}

	for _, w := range cfg.workers {
		if cfg.jobs == 0 {
			break
		}
		if err := harness.Sleep(ctx, 3*time.Second); err != nil {
			return ws.Fail(ctx, err)
		}
		secs, err := timeJobs(ctx, ws, cfg, srcPath, cfg.jobs, w, cfg.preset)
		if err != nil {
			return ws.Fail(ctx, err)
		}
		rep.Throughput = append(rep.Throughput, throughput{Workers: w, Jobs: cfg.jobs, Seconds: secs,
			JobsPerMinute: float64(cfg.jobs) / secs * 60, MediaRatio: float64(cfg.jobs*src.Seconds) / secs})
		ws.Log.Printf("%d jobs with %d workers: %.1f s", cfg.jobs, w, secs)
	}
	printReport(os.Stdout, rep)
	return ws.Finish(ctx, rep, false)
}

// timeJobs starts a server with workers job workers, submits n jobs of
// the presets for the source and returns the wall time from the first
// submission to the last completion.
func timeJobs(ctx context.Context, ws *harness.Workspace, cfg config, srcPath string, n, workers int, presets ...string) (float64, error) {
	data := filepath.Join(ws.Dir, fmt.Sprintf("data-%d-%d-%d", workers, n, len(presets)))
	in := filepath.Join(data, "vod", "input")
	if err := os.MkdirAll(in, 0o750); err != nil {
		return 0, err
	}
	if err := os.Link(srcPath, filepath.Join(in, "source.mp4")); err != nil {
		return 0, err
	}
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: ws.Bin, DataDir: data, FFmpeg: cfg.FFmpeg,
		Args: []string{"--vod-workers", strconv.Itoa(workers), "--rtmp", "", "--srt", ""}})
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	start := time.Now()
	var ids []string
	for range n {
		var j vod.Job
		if err := srv.PostJSON(ctx, "/api/v1/jobs", vod.SubmitRequest{Input: "source.mp4", Presets: presets}, &j); err != nil {
			return 0, err
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		for {
			var j vod.Job
			if err := srv.GetJSON(ctx, "/api/v1/jobs/"+id, &j); err != nil {
				return 0, err
			}
			if j.Terminal() {
				if j.State != vod.StateComplete {
					return 0, fmt.Errorf("job %s ended %s: %s", id, j.State, j.Error)
				}
				break
			}
			if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start).Seconds(), nil
}

// timeBare runs the encoder argv a job runs for the preset, with every
// rendition written to a file instead of the packager's pipes.
func timeBare(ctx context.Context, ws *harness.Workspace, cfg config, srcPath string) (float64, error) {
	var preset vod.Preset
	for _, p := range vod.SystemPresets() {
		if p.Name == cfg.preset {
			preset = p
		}
	}
	if preset.Kind != vod.KindABR {
		return 0, fmt.Errorf("--preset %s is not a system ABR preset", cfg.preset)
	}
	p := preset.WithDefaults()
	cmd := encoder.Build(vod.SourceFor(srcPath, vod.Probe{AudioCodec: "aac"}), vod.LadderOf(p),
		encoder.Options{ChunkDuration: p.SegmentDuration()})
	out := filepath.Join(ws.Dir, "bare")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return 0, err
	}
	var args []string
	for i := 0; i < len(cmd.Args); i++ {
		a := cmd.Args[i]
		if a == "-progress" {
			i++ // no progress pipe
			continue
		}
		if strings.HasPrefix(a, "pipe:") {
			a = filepath.Join(out, strings.TrimPrefix(a, "pipe:")+".mp4")
		}
		args = append(args, a)
	}
	args = append([]string{"-y"}, args...)
	start := time.Now()
	b, err := exec.CommandContext(ctx, cfg.FFmpeg, args...).CombinedOutput() //nolint:gosec // the benchmark's ffmpeg
	if err != nil {
		return 0, fmt.Errorf("bare ffmpeg: %w: %s", err, b)
	}
	return time.Since(start).Seconds(), nil
}

func printReport(w io.Writer, rep vodReport) {
	_, _ = fmt.Fprintf(w, "\nOn-demand transcoding: %s to %s\n", rep.Source, rep.Preset)
	_ = report.Table{
		Title:  "One job against bare ffmpeg (same encoder argv, one run)",
		Header: []string{"contender", "wall s", "ratio"},
		Rows: [][]string{
			{"sluice job (probe, encode, package HLS+DASH, upload)", fmt.Sprintf("%.1f", rep.JobSeconds), fmt.Sprintf("%.3f", rep.Ratio)},
			{"bare ffmpeg (ladder to files)", fmt.Sprintf("%.1f", rep.BareSeconds), "1.000"},
		},
		Notes: []string{"target: ratio at most 1.05"},
	}.Write(w)
	if rep.Thumbnails != "" {
		_ = report.Table{
			Title:  "What thumbnails add to a job (thumbnails, sprite sheet and WebVTT track from one decode)",
			Header: []string{"job", "wall s"},
			Rows: [][]string{
				{rep.Preset, fmt.Sprintf("%.1f", rep.JobSeconds)},
				{rep.Preset + " + " + rep.Thumbnails, fmt.Sprintf("%.1f", rep.WithThumbnails)},
				{"added", fmt.Sprintf("%+.1f", rep.ThumbnailsAdded)},
			},
		}.Write(w)
	}
	if len(rep.Throughput) == 0 {
		return
	}
	t := report.Table{Title: "Throughput", Header: []string{"workers", "jobs", "wall s", "jobs/min", "media s per s"}}
	for _, r := range rep.Throughput {
		t.Rows = append(t.Rows, []string{strconv.Itoa(r.Workers), strconv.Itoa(r.Jobs), fmt.Sprintf("%.1f", r.Seconds), fmt.Sprintf("%.2f", r.JobsPerMinute), fmt.Sprintf("%.2f", r.MediaRatio)})
	}
	_ = t.Write(w)
}
