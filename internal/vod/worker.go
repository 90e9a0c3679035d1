package vod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sluice-video/sluice/internal/storage"
)

// transcodeArgs is the queue entry of a job: just its id, the rest is in
// the job row.
type transcodeArgs struct {
	JobID string `json:"job"`
}

func (transcodeArgs) Kind() string { return "vod.transcode" }

// worker runs one attempt of a job.
type worker struct {
	river.WorkerDefaults[transcodeArgs]
	s *Service
}

// Work runs an attempt and decides what the queue does next: nothing more
// (complete, canceled, bad input), or another attempt after a backoff.
func (w *worker) Work(ctx context.Context, rj *river.Job[transcodeArgs]) error {
	s := w.s
	id := rj.Args.JobID
	j, err := s.db.job(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(fmt.Errorf("job %s no longer exists", id))
	}
	if err != nil {
		return err
	}
	if j.Terminal() {
		return nil // finished by an earlier delivery, or canceled: never twice
	}
	limit := 0
	if p, err := s.Pipeline(ctx, j.Pipeline); err == nil {
		limit = p.Concurrency
	}
	ok, err := s.db.start(ctx, id, j.Pipeline, limit)
	if err != nil {
		return err
	}
	if !ok {
		if j, err := s.db.job(ctx, id); err == nil && j.Terminal() {
			return nil
		}
		// The pipeline runs as many jobs as it may: wait for a slot
		// without using up an attempt.
		return river.JobSnooze(2 * time.Second)
	}
	j, _ = s.db.job(ctx, id)
	host, _ := os.Hostname()
	s.db.appendLog(ctx, id, fmt.Sprintf("attempt %d of %d started on %s", j.Attempts, s.cfg.MaxAttempts, host))
	if j.Attempts == 1 {
		j.State = StateProgressing
		s.event(ctx, j, "job "+id+" is progressing")
	}

	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	canceled := make(chan struct{})
	go w.watchCancel(actx, id, cancel, canceled)
	a := &attempt{s: s, job: j, started: s.cfg.Now()}
	runErr := a.run(actx)
	select {
	case <-canceled:
		s.db.appendLog(context.WithoutCancel(ctx), id, "attempt stopped: the job was canceled")
		return nil
	default:
	}
	ctx = context.WithoutCancel(ctx)
	if runErr == nil {
		return w.publish(ctx, a)
	}
	if IsInputError(runErr) {
		w.fail(ctx, id, runErr.Error())
		return river.JobCancel(runErr)
	}
	if rj.Attempt >= rj.MaxAttempts {
		w.fail(ctx, id, fmt.Sprintf("gave up after %d attempts: %v", rj.Attempt, runErr))
		return runErr // the queue discards it: the dead-letter state
	}
	_, _ = s.db.transition(ctx, id, []string{StateProgressing}, StateSubmitted, "", "")
	s.db.appendLog(ctx, id, fmt.Sprintf("attempt %d failed, will retry: %v", rj.Attempt, runErr))
	return runErr
}

// watchCancel ends the attempt when the job is canceled, on any node.
func (w *worker) watchCancel(ctx context.Context, id string, cancel context.CancelFunc, canceled chan<- struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := w.s.db.state(ctx, id)
		if err == nil && st == StateCanceled {
			close(canceled)
			cancel()
			return
		}
	}
}

func (w *worker) fail(ctx context.Context, id, msg string) {
	ok, _ := w.s.db.transition(ctx, id, []string{StateSubmitted, StateProgressing}, StateError, "", msg)
	w.s.db.appendLog(ctx, id, "error: "+msg)
	if ok {
		if j, err := w.s.db.job(ctx, id); err == nil {
			w.s.finished(ctx, j, "job "+id+" failed: "+msg)
		}
	}
}

// publish records the finished job and its asset. The state change is
// conditional, so however often a job is delivered its completion (and its
// event) happens once.
func (w *worker) publish(ctx context.Context, a *attempt) error {
	s := w.s
	outputs, _ := json.Marshal(a.outputs)
	probe, _ := json.Marshal(a.probe)
	_, _ = s.db.exec(ctx, "UPDATE vod_jobs SET outputs = ?, probe = ? WHERE id = ?", string(outputs), string(probe), a.job.ID)
	asset, _ := json.Marshal(a.asset)
	if _, err := s.db.exec(ctx, "INSERT INTO vod_assets (id, pipeline, spec, created_at) VALUES (?, ?, ?, ?)", a.job.ID, a.job.Pipeline, string(asset), stamp(s.cfg.Now())); err != nil && !isDuplicate(err) {
		return err
	}
	ok, err := s.db.transition(ctx, a.job.ID, []string{StateProgressing}, StateComplete, "", "")
	if err != nil {
		return err
	}
	if ok {
		s.db.appendLog(ctx, a.job.ID, fmt.Sprintf("complete: %d files under %s", len(a.outputs), a.job.Output))
		if j, err := s.db.job(ctx, a.job.ID); err == nil {
			s.finished(ctx, j, "job "+a.job.ID+" complete")
		}
	}
	return nil
}

// attempt is one run of a job's work.
type attempt struct {
	s       *Service
	job     Job
	started time.Time
	probe   Probe
	outputs []string
	asset   Asset

	mu       sync.Mutex
	lastSave time.Time
	percent  int
}

// Progress bands of the phases, in percent.
const (
	probeEnd     = 5
	transcodeEnd = 85
	packageEnd   = 90
)

// setProgress stores the phase and percentage, at most twice a second.
func (a *attempt) setProgress(ctx context.Context, phase string, pct int, force bool) {
	a.mu.Lock()
	if pct < a.percent && !force {
		pct = a.percent
	}
	now := time.Now()
	if !force && (pct == a.percent || now.Sub(a.lastSave) < 500*time.Millisecond) {
		a.mu.Unlock()
		return
	}
	a.percent, a.lastSave = pct, now
	a.mu.Unlock()
	_, _ = a.s.db.exec(ctx, "UPDATE vod_jobs SET phase = ?, percent = ?, updated_at = ? WHERE id = ? AND state = ?", phase, pct, stamp(a.s.cfg.Now()), a.job.ID, StateProgressing)
}

func (a *attempt) log(ctx context.Context, format string, args ...any) {
	a.s.db.appendLog(ctx, a.job.ID, fmt.Sprintf(format, args...))
}

func (a *attempt) run(ctx context.Context) error {
	s := a.s
	p, err := s.Pipeline(ctx, a.job.Pipeline)
	if err != nil {
		return inputErrorf("pipeline %s no longer exists", a.job.Pipeline)
	}
	in, err := s.storageFor(p.Input)
	if err != nil {
		return fmt.Errorf("input storage: %w", err)
	}
	out, err := s.storageFor(p.Output)
	if err != nil {
		return fmt.Errorf("output storage: %w", err)
	}
	if err := os.MkdirAll(s.workDir(), 0o750); err != nil {
		return err
	}
	work, err := os.MkdirTemp(s.workDir(), a.job.ID+"-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	// PROBING
	a.setProgress(ctx, PhaseProbing, 0, true)
	input, err := a.fetch(ctx, in, work)
	if err != nil {
		return err
	}
	a.probe, err = probeFile(ctx, s.cfg.FFprobe, input)
	if err != nil {
		return err
	}
	a.log(ctx, "probed: %s, %.1f s, video %s %dx%d, audio %s", a.probe.Format, a.probe.Duration, orNone(a.probe.VideoCodec), a.probe.Width, a.probe.Height, orNone(a.probe.AudioCodec))
	var presets []Preset
	for _, name := range a.job.Presets {
		pr, err := s.Preset(ctx, name)
		if err != nil {
			return inputErrorf("preset %s no longer exists", name)
		}
		if pr.NeedsVideo() && a.probe.VideoCodec == "" {
			return inputErrorf("input has no video stream (preset %s needs one)", name)
		}
		if pr.Kind == KindAudio && a.probe.AudioCodec == "" {
			return inputErrorf("input has no audio stream (preset %s needs one)", name)
		}
		presets = append(presets, pr)
	}

	// TRANSCODING and PACKAGING
	a.setProgress(ctx, PhaseTranscoding, probeEnd, true)
	outDir := filepath.Join(work, "out")
	a.asset = Asset{ID: a.job.ID, Pipeline: a.job.Pipeline, Input: a.job.Input, Duration: a.probe.Duration, Probe: &a.probe, Renditions: []RenditionInfo{}}
	band := float64(transcodeEnd-probeEnd) / float64(len(presets))
	for i, pr := range presets {
		base := float64(probeEnd) + band*float64(i)
		progress := func(f float64) { a.setProgress(ctx, PhaseTranscoding, int(base+band*f), false) }
		dir := filepath.Join(outDir, pr.Name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		start := time.Now()
		if err := a.transcode(ctx, input, pr, dir, progress); err != nil {
			return err
		}
		a.log(ctx, "preset %s (%s) done in %.1f s", pr.Name, pr.Kind, time.Since(start).Seconds())
	}
	a.setProgress(ctx, PhasePackaging, packageEnd, true)

	// UPLOADING
	return a.upload(ctx, out, outDir)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// transcode makes one preset's outputs in dir.
func (a *attempt) transcode(ctx context.Context, input string, pr Preset, dir string, progress func(float64)) error {
	s := a.s
	pr = pr.WithDefaults()
	prefix := a.job.Output + "/" + pr.Name + "/"
	switch pr.Kind {
	case KindABR:
		infos, err := encodeABR(ctx, s.cfg.FFmpeg, input, a.probe, pr, dir, progress, s.logger.With("job", a.job.ID))
		if err != nil {
			return err
		}
		for _, info := range infos {
			info.Key = a.job.Output + "/" + info.Key
			a.asset.Renditions = append(a.asset.Renditions, info)
		}
		a.asset.HLS, a.asset.DASH = prefix+"index.m3u8", prefix+"manifest.mpd"
	case KindMP4:
		if err := runFFmpeg(ctx, s.cfg.FFmpeg, mp4Args(input, a.probe, pr, dir), a.probe, progress, s.logger); err != nil {
			return err
		}
		for _, r := range pr.Rungs {
			if !fileExists(filepath.Join(dir, r.Name+".mp4")) {
				return fmt.Errorf("the encoder wrote no %s.mp4", r.Name)
			}
			a.asset.Renditions = append(a.asset.Renditions, RenditionInfo{Preset: pr.Name, Name: r.Name, Kind: "mp4", Width: r.Width, Height: r.Height, Bitrate: r.Bitrate, Key: prefix + r.Name + ".mp4"})
		}
	case KindAudio:
		if err := runFFmpeg(ctx, s.cfg.FFmpeg, audioArgs(input, pr, dir), a.probe, progress, s.logger); err != nil {
			return err
		}
		a.asset.Renditions = append(a.asset.Renditions, RenditionInfo{Preset: pr.Name, Name: "audio", Kind: "audio", Bitrate: pr.AudioBitrate, Key: prefix + "audio.m4a"})
	case KindThumbnails:
		args, count, _ := thumbnailArgs(input, a.probe, pr, dir)
		if err := runFFmpeg(ctx, s.cfg.FFmpeg, args, a.probe, progress, s.logger); err != nil {
			return err
		}
		thumbs, _ := filepath.Glob(filepath.Join(dir, "thumb-*.jpg"))
		sort.Strings(thumbs)
		if len(thumbs) == 0 || !fileExists(filepath.Join(dir, "sprite.jpg")) {
			return inputErrorf("no thumbnail could be taken from the input")
		}
		count = min(count, len(thumbs))
		if err := os.WriteFile(filepath.Join(dir, "thumbnails.vtt"), []byte(spriteVTT(a.probe, pr, count)), 0o600); err != nil {
			return err
		}
		for _, t := range thumbs {
			a.asset.Thumbnails = append(a.asset.Thumbnails, prefix+filepath.Base(t))
		}
		a.asset.Sprite, a.asset.SpriteTrack = prefix+"sprite.jpg", prefix+"thumbnails.vtt"
	}
	return nil
}

// fetch returns a local path of the input: the file itself for folder
// storage, a downloaded copy otherwise.
func (a *attempt) fetch(ctx context.Context, in storage.Storage, work string) (string, error) {
	key := a.job.Input
	if l, ok := in.(*storage.Local); ok {
		if _, err := l.Stat(ctx, key); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return "", inputErrorf("input %s does not exist", key)
			}
			return "", err
		}
		return filepath.Join(l.Dir(), filepath.FromSlash(key)), nil
	}
	r, _, err := in.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", inputErrorf("input %s does not exist", key)
	}
	if err != nil {
		return "", fmt.Errorf("fetching input: %w", err)
	}
	defer func() { _ = r.Close() }()
	dst := filepath.Join(work, "input"+path.Ext(key))
	f, err := os.Create(dst) //nolint:gosec // inside the attempt's work directory
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("fetching input: %w", err)
	}
	return dst, f.Close()
}

// upload publishes every file of dir under the job's output prefix:
// media first and manifests last, so no manifest is ever visible before
// the files it names. A repeated attempt writes the same keys again.
func (a *attempt) upload(ctx context.Context, out storage.Storage, dir string) error {
	var media, manifests []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch path.Ext(rel) {
		case ".m3u8", ".mpd", ".vtt":
			manifests = append(manifests, rel)
		default:
			media = append(media, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(media)
	// Media playlists before the multivariant playlist that names them.
	sort.Slice(manifests, func(i, j int) bool {
		di, dj := strings.Count(manifests[i], "/"), strings.Count(manifests[j], "/")
		if di != dj {
			return di > dj
		}
		return manifests[i] < manifests[j]
	})
	all := slices.Concat(media, manifests)
	a.outputs = nil
	for i, rel := range all {
		a.setProgress(ctx, PhaseUploading, packageEnd+(100-packageEnd)*i/len(all), false)
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel))) //nolint:gosec // inside the attempt's work directory
		if err != nil {
			return err
		}
		st, _ := f.Stat()
		key := a.job.Output + "/" + rel
		_, err = out.Put(ctx, key, f, st.Size())
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("uploading %s: %w", key, err)
		}
		a.outputs = append(a.outputs, key)
	}
	a.setProgress(ctx, PhaseUploading, 99, true)
	a.log(ctx, "uploaded %d files under %s", len(all), a.job.Output)
	return nil
}
