package harvest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
)

// run writes the package of job j into dir and records its progress.
func (s *Service) run(j resource.HarvestJob, rng dvr.Range, src Source, dir string) {
	ctx := context.Background()
	s.save(ctx, &j, resource.HarvestProgressing, "")
	segments, dur, err := s.write(rng, src.Archive, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		s.cfg.Logger.Error("a harvest job failed", "job", j.ID, "channel", j.Channel, "error", err)
		s.save(ctx, &j, resource.HarvestError, err.Error())
		return
	}
	j.Segments, j.DurationSeconds = segments, dur.Seconds()
	base := s.cfg.URLPrefix + "/" + path.Clean(j.Destination)
	j.HLS, j.DASH = base+"/index.m3u8", base+"/manifest.mpd"
	s.cfg.Logger.Info("a harvest job wrote its package", "job", j.ID, "channel", j.Channel, "segments", segments, "seconds", dur.Seconds())
	s.save(ctx, &j, resource.HarvestComplete, "")
}

func (s *Service) save(ctx context.Context, j *resource.HarvestJob, state resource.HarvestState, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.State, j.Message, j.UpdatedAt = state, msg, s.cfg.Now().UTC()
	if err := s.cfg.Store.SaveHarvestJob(ctx, *j); err != nil {
		s.cfg.Logger.Error("recording a harvest job's state failed", "job", j.ID, "state", state, "error", err)
	}
}

// write copies the range's segments and init segments into dir and writes
// the VOD playlists and MPD. It returns the segment count and duration.
func (s *Service) write(rng dvr.Range, a Archive, dir string) (int, time.Duration, error) {
	snap, err := a.Cut(rng, true)
	if err != nil {
		return 0, 0, err
	}
	snap.Window = 0
	var total time.Duration
	for i, r := range snap.Renditions {
		if err := os.MkdirAll(filepath.Join(dir, r.ID), 0o750); err != nil {
			return 0, 0, fmt.Errorf("creating the package directory: %w", err)
		}
		inits := map[uint64]bool{}
		for _, seg := range r.Segments {
			if !inits[seg.Run] {
				data, ok := a.Init(r.ID, seg.Run)
				if !ok {
					return 0, 0, fmt.Errorf("the init segment of %s run %d has left the DVR window", r.ID, seg.Run)
				}
				if err := writeFile(filepath.Join(dir, r.ID, "init-"+strconv.FormatUint(seg.Run, 10)+".mp4"), data); err != nil {
					return 0, 0, err
				}
				inits[seg.Run] = true
			}
			data, ok := a.Segment(r.ID, seg.Number)
			if !ok {
				return 0, 0, fmt.Errorf("segment %d of %s has left the DVR window", seg.Number, r.ID)
			}
			if err := writeFile(filepath.Join(dir, r.ID, strconv.FormatUint(seg.Number, 10)+".m4s"), data); err != nil {
				return 0, 0, err
			}
			if i == 0 {
				total += seg.DurationTime(r.Timescale)
			}
		}
		body, err := hls.Media(snap, r.ID)
		if err != nil {
			return 0, 0, fmt.Errorf("rendering the %s playlist: %w", r.ID, err)
		}
		if err := writeFile(filepath.Join(dir, r.ID, "index.m3u8"), vod(body)); err != nil {
			return 0, 0, err
		}
	}
	if err := writeFile(filepath.Join(dir, "index.m3u8"), hls.Multivariant(snap)); err != nil {
		return 0, 0, err
	}
	mpd, err := dash.MPD(snap, dash.Options{Now: snap.Updated, Static: true})
	if err != nil {
		return 0, 0, fmt.Errorf("rendering the MPD: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "manifest.mpd"), mpd); err != nil {
		return 0, 0, err
	}
	return len(snap.Renditions[0].Segments), total, nil
}

// vod marks an ended media playlist as VOD.
func vod(body []byte) []byte {
	return bytes.Replace(body, []byte("#EXT-X-VERSION:7\n"), []byte("#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n"), 1)
}

func writeFile(p string, data []byte) error {
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("writing the package: %w", err)
	}
	return nil
}
