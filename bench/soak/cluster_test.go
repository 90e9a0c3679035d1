package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/bench/internal/backing"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// TestSoakClusterTwoMinutes runs the soak's cluster mode for two
// minutes: three nodes on a throwaway PostgreSQL with their archives on
// MinIO, a node killed, the edge's connections to the origins cut,
// PostgreSQL stopped and MinIO stopped, each started again (the load
// goes on until those four have run and recovered). It fails on what nothing excuses: a lost or doubled job,
// a media sequence going backwards, a panic, or a node whose goroutines
// and descriptors do not return to their baseline.
func TestSoakClusterTwoMinutes(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for minutes")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("the soak needs ffmpeg on the PATH")
	}
	missing := func(err error) {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the cluster soak needs it (scripts/deps.sh test installs it): %v", err)
		}
		t.Skipf("the cluster soak cannot run here (scripts/deps.sh test installs what it needs): %v", err)
	}
	if _, err := backing.PostgresBin(); err != nil {
		missing(err)
	}
	if _, err := s3server.Binary(); err != nil {
		missing(err)
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
	cfg := config{
		Flags:      harness.Flags{SluiceBin: bin, FFmpeg: "ffmpeg"},
		duration:   2 * time.Minute,
		viewers:    30,
		llViewers:  10,
		faultEvery: 10 * time.Second,
		faults:     []string{faultNodeKill, faultNetEdge, faultPGStop, faultMinIOStop, faultEncoderKill},
		minFaults:  4,
		jobEvery:   20 * time.Second,
		sample:     5 * time.Second,
		settle:     3 * time.Minute,
		badAPI:     1000,
		cluster:    true,
		nodes:      3,
	}
	// Harvests of the DVR windows through the faults: none lost or ended twice.
	cfg.harvestEvery = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	res, err := soak(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tables strings.Builder
	_ = res.write(&tables)
	t.Log(tables.String())
	kinds := map[string]bool{}
	for _, f := range res.Faults {
		kinds[f.Kind] = true
		if strings.HasPrefix(f.Note, "could not inject") {
			t.Errorf("%s: %s", f.Kind, f.Note)
		}
	}
	for _, k := range []string{faultNodeKill, faultNetEdge, faultPGStop, faultMinIOStop} {
		if !kinds[k] {
			t.Errorf("no %s fault was injected", k)
		}
	}
	if res.Jobs.Dropped == 0 {
		t.Error("no file was dropped into the pipeline")
	}
	if len(res.Cluster.Nodes) != 3 {
		t.Errorf("%d nodes measured, want 3", len(res.Cluster.Nodes))
	}
	for _, b := range res.Broken {
		t.Error(b)
	}
}

func TestParseClusterConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"--cluster", "--nodes", "3"}, &strings.Builder{})
	if err != nil || !cfg.cluster || strings.Join(cfg.faults, ",") != strings.Join(clusterFaults, ",") {
		t.Fatalf("parseConfig: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"--cluster", "--faults", "pg-stop,node-kill"}, &strings.Builder{})
	if err != nil || strings.Join(cfg.faults, ",") != "pg-stop,node-kill" {
		t.Fatalf("parseConfig: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"--cluster", "--faults", "net-publisher,net-udp,net-edge,disk-full,node-kill"}, &strings.Builder{})
	if err != nil || len(cfg.faults) != 5 {
		t.Fatalf("the network and disk faults with --cluster: %+v, %v", cfg, err)
	}
	for _, f := range clusterFaults {
		if !strings.Contains(usage, f) {
			t.Errorf("the usage text does not name the cluster's fault %s", f)
		}
	}
	for _, bad := range [][]string{{"--faults", "pg-stop"}, {"--cluster", "--faults", "server-kill"}, {"--cluster", "--nodes", "1"}} {
		if _, err := parseConfig(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
}
