package vod

import (
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/testutil/golden"
)

// lines puts one argument per line so golden diffs are readable.
func lines(args []string) []byte {
	return []byte(strings.Join(args, "\n") + "\n")
}

// TestArgvGolden pins the exact ffmpeg argv of every preset kind.
func TestArgvGolden(t *testing.T) {
	pr := Probe{Duration: 12.5, VideoCodec: "h264", Width: 1920, Height: 1080, AudioCodec: "aac"}
	silent := pr
	silent.AudioCodec = ""
	abr, _ := systemPreset("system-abr")
	abr = abr.WithDefaults()
	build := func(p Probe) []string {
		return encoder.Build(SourceFor("/in/a b.mp4", p), LadderOf(abr), encoder.Options{ChunkDuration: abr.SegmentDuration()}).Args
	}
	mp4, _ := systemPreset("system-mp4")
	audio, _ := systemPreset("system-audio")
	thumbs, _ := systemPreset("system-thumbnails")
	targs, count, rows := thumbnailArgs("/in/a b.mp4", pr, thumbs, "/out")
	if count != 3 || rows != 1 {
		t.Errorf("thumbnails: %d in %d rows, want 3 in 1", count, rows)
	}
	for name, args := range map[string][]string{
		"abr.argv":           build(pr),
		"abr-no-audio.argv":  build(silent),
		"mp4.argv":           mp4Args("/in/a b.mp4", pr, mp4, "/out"),
		"audio.argv":         audioArgs("/in/a b.mp4", audio, "/out"),
		"thumbnails.argv":    targs,
		"thumbnails.vtt.txt": strings.Split(strings.TrimSuffix(spriteVTT(pr, thumbs, count), "\n"), "\n"),
	} {
		golden.Check(t, name, lines(args))
	}
}
