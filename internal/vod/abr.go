package vod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
)

// SourceFor is the encoder's input for a file: its own audio, or silence
// of the same length when it has none, so every ladder has an audio track.
func SourceFor(path string, pr Probe) encoder.Source {
	if pr.AudioCodec != "" {
		return encoder.Source{Args: fileInput(path), Video: "0:v:0", Audio: "0:a:0"}
	}
	return encoder.Source{
		Args:  append(fileInput(path), "-f", "lavfi", "-t", strconv.FormatFloat(pr.Duration, 'f', 3, 64), "-i", "anullsrc=r=48000:cl=stereo"),
		Video: "0:v:0", Audio: "1:a:0",
	}
}

// fileInput reads path as a local file and nothing else: whatever the
// uploaded object's name, ffmpeg never takes it for a protocol or an option.
func fileInput(path string) []string {
	return []string{"-protocol_whitelist", "file", "-i", "file:" + path}
}

// encodeABR runs the one encoder process for an ABR preset, cuts its CMAF
// streams into segments with the packager and writes segments, init
// segments, HLS playlists and the DASH manifest into dir.
func encodeABR(ctx context.Context, bin, input string, pr Probe, p Preset, dir string, progress func(float64), logger *slog.Logger) ([]RenditionInfo, error) {
	p = p.WithDefaults()
	l := LadderOf(p)
	cmd := encoder.Build(SourceFor(input, pr), l, encoder.Options{ChunkDuration: p.SegmentDuration()})
	var rcs []cmaf.RenditionConfig
	for _, r := range l.Rungs {
		rcs = append(rcs, cmaf.RenditionConfig{ID: r.Name, Kind: cmaf.Video, Bitrate: int64(r.Bitrate), MaxBitrate: int64(r.MaxBitrate), FrameRate: r.FPS})
	}
	rcs = append(rcs, cmaf.RenditionConfig{ID: encoder.AudioRendition, Kind: cmaf.Audio, Bitrate: int64(l.Audio.Bitrate), MaxBitrate: int64(l.Audio.Bitrate)})
	start := time.Unix(0, 0).UTC() // media time zero; VOD has no wall clock
	window := pr.Length() + time.Hour
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: p.SegmentDuration(), Window: window,
		AvailabilityStart: start, Renditions: rcs, Logger: logger, KeepFinalSegment: true,
		Now: func() time.Time { return start },
	})
	if err != nil {
		return nil, err
	}
	outTime, err := runEncoder(ctx, bin, cmd, tl, pr, progress, logger)
	if err != nil {
		return nil, err
	}
	tl.End()
	snap := tl.Snapshot(window)
	if len(snap.Renditions) == 0 || len(snap.Renditions[0].Segments) == 0 {
		return nil, inputErrorf("input produced no complete segment (it decodes to %.1f s)", outTime.Seconds())
	}
	var infos []RenditionInfo
	for _, r := range snap.Renditions {
		rdir := filepath.Join(dir, r.ID)
		if err := os.MkdirAll(rdir, 0o750); err != nil {
			return nil, err
		}
		runs := map[uint64]bool{}
		for _, s := range r.Segments {
			seg, ok := tl.Segment(r.ID, s.Number)
			if !ok {
				return nil, fmt.Errorf("packager lost segment %d of %s", s.Number, r.ID)
			}
			if err := os.WriteFile(filepath.Join(rdir, strconv.FormatUint(s.Number, 10)+".m4s"), seg.Data, 0o600); err != nil {
				return nil, err
			}
			runs[s.Run] = true
		}
		for run := range runs {
			init, ok := tl.Init(r.ID, run)
			if !ok {
				return nil, fmt.Errorf("packager has no init segment for %s", r.ID)
			}
			if err := os.WriteFile(filepath.Join(rdir, "init-"+strconv.FormatUint(run, 10)+".mp4"), init, 0o600); err != nil {
				return nil, err
			}
		}
		media, err := hls.Media(snap, r.ID)
		if err != nil {
			return nil, fmt.Errorf("rendering the %s playlist: %w", r.ID, err)
		}
		if err := os.WriteFile(filepath.Join(rdir, "index.m3u8"), vodPlaylist(media), 0o600); err != nil {
			return nil, err
		}
		info := RenditionInfo{Preset: p.Name, Name: r.ID, Kind: string(r.Kind), Width: r.Width, Height: r.Height, Bitrate: r.Bandwidth, Key: p.Name + "/" + r.ID + "/index.m3u8"}
		infos = append(infos, info)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.m3u8"), hls.Multivariant(snap), 0o600); err != nil {
		return nil, err
	}
	mpd, err := dash.MPD(snap, dash.Options{Now: start})
	if err != nil {
		return nil, fmt.Errorf("rendering the DASH manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.mpd"), staticMPD(mpd), 0o600); err != nil {
		return nil, err
	}
	return infos, nil
}

// vodPlaylist marks a finished media playlist as VOD, so players show the
// whole timeline and never reload it.
func vodPlaylist(b []byte) []byte {
	b = bytes.Replace(b, []byte("#EXT-X-VERSION:7\n"), []byte("#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n"), 1)
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		if bytes.HasPrefix(line, []byte("#EXT-X-PROGRAM-DATE-TIME:")) {
			continue // media time zero is not a wall-clock time
		}
		out.Write(line)
	}
	return out.Bytes()
}

// staticMPD turns the packager's ended (dynamic) MPD into a static one: an
// on-demand presentation with its duration.
func staticMPD(b []byte) []byte {
	b = bytes.Replace(b, []byte(`type="dynamic"`), []byte(`type="static"`), 1)
	return b
}

// runEncoder runs cmd, feeding every rendition stream into tl, and returns
// how much media the encoder wrote. A run that ends well short of the
// probed duration means the input is truncated.
func runEncoder(ctx context.Context, bin string, cmd encoder.Command, tl *cmaf.Timeline, pr Probe, progress func(float64), logger *slog.Logger) (time.Duration, error) {
	var mu sync.Mutex
	var last time.Duration
	proc, err := ffmpeg.Start(ffmpeg.Config{
		Binary: bin, Args: cmd.Args, Outputs: len(cmd.Outputs), Logger: logger, Finite: true,
		OnProgress: func(p ffmpeg.Progress) {
			mu.Lock()
			last = max(last, p.OutTime)
			mu.Unlock()
			if pr.Duration > 0 {
				progress(min(1, p.OutTime.Seconds()/pr.Duration))
			}
		},
	})
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { proc.Stop(context.Background(), 2*time.Second) })
	defer stop()
	feed := tl.StartRun()
	var wg sync.WaitGroup
	var once sync.Once
	var ingestErr error
	for i, out := range cmd.Outputs {
		r := proc.Outputs()[i]
		wg.Go(func() {
			err := feed.Ingest(out.Rendition, r)
			_ = r.Close()
			if err != nil {
				once.Do(func() {
					ingestErr = fmt.Errorf("packaging %s: %w", out.Rendition, err)
					go proc.Stop(context.Background(), time.Second)
				})
			}
		})
	}
	wg.Wait()
	<-proc.Done()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	mu.Lock()
	got := last
	mu.Unlock()
	procErr := proc.Err()
	if truncated(got, pr) {
		return got, inputErrorf("file is truncated at %.1f s (it claims %.1f s)", got.Seconds(), pr.Duration)
	}
	if procErr != nil {
		var ee *ffmpeg.ExitError
		if errors.As(procErr, &ee) {
			return got, inputErrorf("input cannot be decoded: %s", ee.Reason)
		}
		return got, procErr
	}
	return got, ingestErr
}

// truncated reports whether the encoder stopped well before the end the
// container announced.
func truncated(got time.Duration, pr Probe) bool {
	want := pr.Length()
	return want > 0 && got < want-max(time.Second, want/20)
}
