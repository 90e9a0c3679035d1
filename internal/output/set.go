package output

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// Config is what a channel's deliveries need from the server.
type Config struct {
	// FFmpeg is the binary that remuxes and decodes.
	FFmpeg string
	// MediaRoot is the media directory; files go under
	// outputs/<channel>/<output>/ in it.
	MediaRoot string
	// Storage, when set, is where ARCHIVE files and frame captures end up:
	// they are written under MediaRoot and moved there once finished, under
	// the same outputs/<channel>/<output>/ keys. DATASET outputs stay on
	// local disk, where training reads them as they grow.
	Storage storage.Storage
	// AudioRendition names the audio stream in the hub.
	AudioRendition string
	// Backoff lists the delays between retries of a failed delivery.
	Backoff []time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Set is the running deliveries of one channel.
type Set struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	tasks  []*task
	prunes []*retention
	ships  []*shipper
}

// Dir returns where a channel's output writes its files, relative to the
// media directory.
func Dir(channel, output string) string {
	return filepath.Join("outputs", channel, output)
}

// Start runs every delivery output of a channel, fed by hub.
func Start(cfg Config, hub *Hub, channel string, outs []resource.OutputGroup, l resource.Ladder) (*Set, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = defaultBackoff()
	}
	var tasks []*task
	var prunes []*retention
	var ships []*shipper
	for _, o := range outs {
		rung, ok := resource.DeliveryRendition(o, l)
		if !ok {
			return nil, fmt.Errorf("output %s: no rendition %q in the ladder", o.Name, o.Rendition)
		}
		rel := Dir(channel, o.Name)
		dir := filepath.Join(cfg.MediaRoot, rel)
		t := &task{out: o, backoff: cfg.Backoff, now: cfg.Now, logger: cfg.Logger.With("output", o.Name)}
		spec := FrameSpec{Rendition: rung.Name, Width: o.Width, Height: o.Height}
		if spec.Width == 0 {
			spec.Width, spec.Height = rung.Width, rung.Height
		}
		switch o.Type {
		case resource.OutputUDP, resource.OutputRTP, resource.OutputRTMP:
			t.attempt = (&remux{hub: hub, bin: cfg.FFmpeg, args: func(d time.Duration) []string { return RemuxArgs(o, dir, d) }, video: rung.Name, audio: cfg.AudioRendition}).attempt
		case resource.OutputArchive:
			t.path = rel
			rm := &remux{hub: hub, bin: cfg.FFmpeg, args: func(d time.Duration) []string { return RemuxArgs(o, dir, d) }, video: rung.Name, audio: cfg.AudioRendition}
			t.attempt = func(ctx context.Context, active func()) error {
				if err := os.MkdirAll(dir, 0o750); err != nil {
					return err
				}
				return rm.attempt(ctx, active)
			}
		case resource.OutputFrameCapture:
			t.path = rel
			spec.FPS = 1 / o.Interval().Seconds()
			t.attempt = captureAttempt(&FrameFeed{Hub: hub, FFmpeg: cfg.FFmpeg, Spec: spec}, o, dir)
		case resource.OutputDataset:
			t.path = rel
			spec.FPS = o.FPS
			t.attempt = datasetAttempt(&FrameFeed{Hub: hub, FFmpeg: cfg.FFmpeg, Spec: spec}, o, channel, dir)
		default:
			return nil, fmt.Errorf("output %s: %s is not a delivery", o.Name, o.Type)
		}
		tasks = append(tasks, t)
		key := filepath.ToSlash(rel)
		shipped := cfg.Storage != nil && (o.Type == resource.OutputArchive || o.Type == resource.OutputFrameCapture)
		if shipped {
			ships = append(ships, &shipper{
				dir: dir, prefix: o.Name + "-", key: key, storage: cfg.Storage,
				holdNewest: o.Type == resource.OutputArchive, logger: t.logger,
			})
		}
		if keep := o.Retention(); keep > 0 {
			r := &retention{
				dir: dir, prefix: o.Name + "-", keep: keep,
				now: cfg.Now, logger: t.logger,
			}
			if shipped {
				r.storage, r.key = cfg.Storage, key
			}
			prunes = append(prunes, r)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Set{cancel: cancel, tasks: tasks, prunes: prunes, ships: ships}
	for _, sh := range ships {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sh.run(ctx)
		}()
	}
	for _, p := range prunes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.run(ctx)
		}()
	}
	for _, t := range tasks {
		t.set(resource.DeliveryWaiting, "", 0)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t.run(ctx)
		}()
	}
	return s, nil
}

// Stop ends every delivery and waits for them: archive files are closed
// and what is left is moved into storage.
func (s *Set) Stop() {
	s.cancel()
	s.wg.Wait()
	for _, sh := range s.ships {
		sh.finish()
	}
}

// Status returns every delivery's status, in declaration order.
func (s *Set) Status() []resource.DeliveryStatus {
	out := make([]resource.DeliveryStatus, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = t.Status()
	}
	return out
}
