package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

// TestSoakTwoMinutes runs the soak for two minutes with every kind of
// fault that fits in them (and on until three faults have run and
// recovered, however slowly a loaded machine recovers) and fails on what
// nothing excuses: a lost or
// doubled job, a media sequence going backwards, a panic, or goroutines
// and descriptors that do not return to their baseline once the load and
// the faults stop. The rest of the findings are logged with the tables.
func TestSoakTwoMinutes(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for minutes")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("the soak needs ffmpeg on the PATH")
	}
	root, err := sluice.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "sluice")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	players := 1
	if _, err := browser.Available(); err != nil {
		t.Logf("no hls.js player: %v", err)
		players = 0
	}
	cfg := config{
		Flags:      harness.Flags{SluiceBin: bin, FFmpeg: "ffmpeg"},
		duration:   2 * time.Minute,
		viewers:    60,
		llViewers:  10,
		players:    players,
		faultEvery: 10 * time.Second,
		minFaults:  3,
		faults: []string{faultServerKill, faultEncoderKill, faultServerStop, faultBadAPI, faultPublisherGarbage,
			faultNetEdge, faultDiskFull, faultPublisherVanish, faultNetPublisher, faultNetUDP},
		jobEvery: 20 * time.Second,
		sample:   5 * time.Second,
		settle:   3 * time.Minute,
		badAPI:   2000,
	}
	// Harvests of the DVR windows through the faults: none lost or ended twice.
	cfg.harvestEvery = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := soak(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tables strings.Builder
	_ = res.write(&tables)
	t.Log(tables.String())
	if len(res.Faults) < 3 {
		t.Errorf("only %d faults were injected (the schedule should have kept the load on until 3 had run)", len(res.Faults))
	}
	if res.Jobs.Dropped == 0 {
		t.Error("no file was dropped into the pipeline")
	}
	for _, b := range res.Broken {
		t.Error(b)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"--duration", "2m", "--faults", "server-kill,bad-api"}, &strings.Builder{})
	if err != nil || cfg.duration != 2*time.Minute || strings.Join(cfg.faults, ",") != "server-kill,bad-api" {
		t.Fatalf("parseConfig: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{{"--faults", "meteor"}, {"--fault-every", "1s"}, {"--duration", "0s"}, {"extra"}} {
		if _, err := parseConfig(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
}

func TestPlaylistAndSlope(t *testing.T) {
	pl, ok := parseMediaPlaylist("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:2,\na.m4s\n#EXT-X-GAP\n#EXTINF:2,\ngap.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\nb.m4s\n")
	if !ok || pl.sequence != 41 || pl.last() != 43 || pl.discontinuities != 1 || len(pl.gap) != 3 || pl.gap[0] || !pl.gap[1] || pl.gap[2] {
		t.Fatalf("parseMediaPlaylist: %+v %v", pl, ok)
	}
	if _, ok := parseMediaPlaylist("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:x\n"); ok {
		t.Fatal("a bad media sequence parsed")
	}
	t0 := time.Now()
	var ss []sample
	for i := range 10 {
		ss = append(ss, sample{at: t0.Add(time.Duration(i) * 6 * time.Minute), fds: int64(100 + i)})
	}
	if got := slopePerHour(ss, func(s sample) int64 { return s.fds }); got < 9.99 || got > 10.01 {
		t.Fatalf("slope %v per hour, want 10", got)
	}
}
