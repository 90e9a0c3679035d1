package harvest

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// run writes the package of job j under its destination and records its
// progress.
func (s *Service) run(j resource.HarvestJob, rng dvr.Range, src Source) {
	ctx := context.Background()
	s.save(ctx, &j, resource.HarvestProgressing, "")
	pkg := packageWriter{ctx: ctx, storage: s.cfg.Storage, prefix: path.Clean(j.Destination) + "/"}
	segments, dur, err := s.write(rng, src.Archive, &pkg)
	if err != nil {
		pkg.remove()
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

// write copies the range's segments and init segments into the package and
// writes the VOD playlists and MPD. It returns the segment count and
// duration.
func (s *Service) write(rng dvr.Range, a Archive, pkg *packageWriter) (int, time.Duration, error) {
	snap, err := a.Cut(rng, true)
	if err != nil {
		return 0, 0, err
	}
	snap.Window = 0
	var total time.Duration
	for i, r := range snap.Renditions {
		inits := map[uint64]bool{}
		for _, seg := range r.Segments {
			if !inits[seg.Run] {
				data, ok := a.Init(r.ID, seg.Run)
				if !ok {
					return 0, 0, fmt.Errorf("the init segment of %s run %d has left the DVR window", r.ID, seg.Run)
				}
				if err := pkg.put(r.ID+"/init-"+strconv.FormatUint(seg.Run, 10)+".mp4", data); err != nil {
					return 0, 0, err
				}
				inits[seg.Run] = true
			}
			data, ok := a.Segment(r.ID, seg.Number)
			if !ok {
				return 0, 0, fmt.Errorf("segment %d of %s has left the DVR window", seg.Number, r.ID)
			}
			if err := pkg.put(r.ID+"/"+strconv.FormatUint(seg.Number, 10)+".m4s", data); err != nil {
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
		if err := pkg.put(r.ID+"/index.m3u8", vod(body)); err != nil {
			return 0, 0, err
		}
	}
	if err := pkg.put("index.m3u8", hls.Multivariant(snap)); err != nil {
		return 0, 0, err
	}
	mpd, err := dash.MPD(snap, dash.Options{Now: snap.Updated, Static: true})
	if err != nil {
		return 0, 0, fmt.Errorf("rendering the MPD: %w", err)
	}
	if err := pkg.put("manifest.mpd", mpd); err != nil {
		return 0, 0, err
	}
	return len(snap.Renditions[0].Segments), total, nil
}

// vod marks an ended media playlist as VOD.
func vod(body []byte) []byte {
	return bytes.Replace(body, []byte("#EXT-X-VERSION:7\n"), []byte("#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n"), 1)
}

// packageWriter writes the files of one package under its prefix and
// remembers them, so that a failed job leaves nothing behind.
type packageWriter struct {
	ctx     context.Context
	storage storage.Storage
	prefix  string
	written []string
}

func (p *packageWriter) put(name string, data []byte) error {
	key := p.prefix + name
	if _, err := p.storage.Put(p.ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("writing %s of the package: %w", name, err)
	}
	p.written = append(p.written, key)
	return nil
}

// remove deletes what the package wrote.
func (p *packageWriter) remove() {
	for _, key := range p.written {
		_ = p.storage.Delete(p.ctx, key)
	}
}
