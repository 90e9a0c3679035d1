package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
)

// mp4Args builds the argv of the one ffmpeg process that writes every rung
// of an MP4 preset as a progressive MP4 (moov first, so it starts playing
// before it has downloaded): decode once, split, scale, encode.
func mp4Args(input string, pr Probe, p Preset, dir string) []string {
	p = p.WithDefaults()
	l := LadderOf(p)
	src := SourceFor(input, pr)
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-progress", "pipe:3", "-stats_period", "1"}
	args = append(args, src.Args...)
	var g strings.Builder
	fmt.Fprintf(&g, "[%s]format=yuv420p,split=%d", src.Video, len(l.Rungs))
	for i := range l.Rungs {
		fmt.Fprintf(&g, "[s%d]", i)
	}
	for i, r := range l.Rungs {
		fmt.Fprintf(&g, ";[s%d]fps=%s,scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1[v%d]",
			i, strconv.FormatFloat(r.FPS, 'f', -1, 64), r.Width, r.Height, r.Width, r.Height, i)
	}
	fmt.Fprintf(&g, ";[%s]asplit=%d", src.Audio, len(l.Rungs))
	for i := range l.Rungs {
		fmt.Fprintf(&g, "[a%d]", i)
	}
	args = append(args, "-filter_complex", g.String())
	for i, r := range l.Rungs {
		args = append(args,
			"-map", fmt.Sprintf("[v%d]", i), "-map", fmt.Sprintf("[a%d]", i),
			"-c:v", "libx264", "-preset", r.Preset, "-profile:v", r.Profile,
			"-b:v", strconv.FormatInt(int64(r.Bitrate), 10),
			"-maxrate", strconv.FormatInt(int64(r.MaxBitrate), 10),
			"-bufsize", strconv.FormatInt(int64(r.MaxBitrate)*2, 10),
			"-c:a", "aac", "-b:a", strconv.FormatInt(int64(l.Audio.Bitrate), 10), "-ac", "2", "-ar", "48000",
			"-shortest", "-movflags", "+faststart", "-y", filepath.Join(dir, r.Name+".mp4"))
	}
	return args
}

// audioArgs builds the argv for an audio-only M4A.
func audioArgs(input string, p Preset, dir string) []string {
	p = p.WithDefaults()
	return []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-progress", "pipe:3", "-stats_period", "1",
		"-protocol_whitelist", "file", "-i", "file:" + input, "-map", "0:a:0", "-vn", "-c:a", "aac", "-b:a", strconv.FormatInt(p.AudioBitrate, 10), "-ac", "2", "-ar", "48000",
		"-movflags", "+faststart", "-y", filepath.Join(dir, "audio.m4a")}
}

// thumbnailArgs builds the argv that writes a thumbnail every interval
// and, from the same decode, the sprite sheet of all of them.
func thumbnailArgs(input string, pr Probe, p Preset, dir string) (args []string, count, rows int) {
	p = p.WithDefaults()
	count = max(1, int(math.Ceil(pr.Duration/p.Interval)))
	rows = (count + p.Columns - 1) / p.Columns
	interval := strconv.FormatFloat(p.Interval, 'f', -1, 64)
	g := fmt.Sprintf("[0:v:0]fps=1/%s:start_time=0,scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,split=2[t][s];[s]tile=%dx%d[sprite]",
		interval, p.Width, p.Height, p.Width, p.Height, p.Columns, rows)
	args = []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-progress", "pipe:3", "-stats_period", "1",
		"-protocol_whitelist", "file", "-i", "file:" + input, "-filter_complex", g,
		"-map", "[t]", "-q:v", "4", "-frames:v", strconv.Itoa(count), "-y", filepath.Join(dir, "thumb-%04d.jpg"),
		"-map", "[sprite]", "-q:v", "4", "-frames:v", "1", "-update", "1", "-y", filepath.Join(dir, "sprite.jpg")}
	return args, count, rows
}

// spriteVTT maps each interval of the video to its tile of the sprite
// sheet, the way players show previews on the seek bar.
func spriteVTT(pr Probe, p Preset, count int) string {
	p = p.WithDefaults()
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for i := range count {
		from := float64(i) * p.Interval
		to := min(pr.Duration, from+p.Interval)
		x, y := (i%p.Columns)*p.Width, (i/p.Columns)*p.Height
		fmt.Fprintf(&b, "%s --> %s\nsprite.jpg#xywh=%d,%d,%d,%d\n\n", vttTime(from), vttTime(to), x, y, p.Width, p.Height)
	}
	return b.String()
}

func vttTime(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	return fmt.Sprintf("%02d:%02d:%02d.%03d", h, m, s, d.Milliseconds()%1000)
}

// runFFmpeg runs a file-writing ffmpeg command, reporting progress against
// the probed duration, and explains a failure in plain words.
func runFFmpeg(ctx context.Context, bin string, args []string, pr Probe, progress func(float64), logger *slog.Logger) error {
	proc, err := ffmpeg.Start(ffmpeg.Config{Binary: bin, Args: args, Logger: logger, Finite: true,
		OnProgress: func(p ffmpeg.Progress) {
			if pr.Duration > 0 {
				progress(min(1, p.OutTime.Seconds()/pr.Duration))
			}
		}})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { proc.Stop(context.WithoutCancel(ctx), 2*time.Second) })
	<-proc.Done()
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := proc.Err(); err != nil {
		var ee *ffmpeg.ExitError
		if errors.As(err, &ee) && !strings.Contains(ee.Status, "signal") {
			return inputErrorf("input cannot be decoded: %s", ee.Reason)
		}
		return err
	}
	return nil
}

// fileExists reports whether path is a non-empty file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}
