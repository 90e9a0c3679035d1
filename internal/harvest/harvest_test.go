package harvest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// archived encodes 13 s of a 180p rendition and audio into a timeline and
// archives its six segments.
func archived(t *testing.T) *dvr.Archive {
	t.Helper()
	files := fragmented.SmallRenditions(t, "13")
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: 2 * time.Second, Window: time.Minute, AvailabilityStart: t0,
		Renditions: []cmaf.RenditionConfig{{ID: "180p", Kind: cmaf.Video, FrameRate: 25}, {ID: "audio", Kind: cmaf.Audio}},
		Now:        func() time.Time { return t0.Add(time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	fragmented.Ingest(t, tl.StartRun(), files)
	a, err := dvr.OpenArchive(t.TempDir(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Sync(tl); err != nil || n != 6 {
		t.Fatalf("archived %d segments: %v", n, err)
	}
	return a
}

func newService(t *testing.T, a *dvr.Archive) (*Service, *store.Store, storage.Storage) {
	t.Helper()
	local, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Close() })
	s, st := newServiceWith(t, a, local)
	return s, st, local
}

func newServiceWith(t *testing.T, a *dvr.Archive, out storage.Storage) (*Service, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, DVRWindowSeconds: 3600},
		{Name: "plain", Type: resource.OutputHLS},
	}
	s := New(Config{
		Store: st, Storage: out,
		Now: func() time.Time { return t0.Add(time.Minute) },
		Lookup: func(name string) (Source, bool) {
			return Source{Outputs: outs, Archive: a}, name == "ch"
		},
	})
	return s, st
}

func TestHarvestWritesAVODPackage(t *testing.T) {
	a := archived(t)
	s, st, out := newService(t, a)
	checkPackage(t, a, s, st, out)
}

func TestHarvestWritesToS3(t *testing.T) {
	srv := s3server.Start(t)
	out, err := storage.OpenS3(storage.S3Config{Endpoint: srv.Endpoint, Bucket: "harvest", Prefix: "live-to-vod", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := archived(t)
	s, st := newServiceWith(t, a, out)
	checkPackage(t, a, s, st, out)
}

// checkPackage harvests 6 s into clips/one and checks the package in out.
func checkPackage(t *testing.T, a *dvr.Archive, s *Service, st *store.Store, out storage.Storage) {
	t.Helper()
	ctx := context.Background()
	first, _, _ := a.Available()
	spec := resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: first.Format(time.RFC3339Nano), End: first.Add(6 * time.Second).Format(time.RFC3339Nano), Destination: "clips/one"}
	j, err := s.CreateHarvestJob(ctx, spec)
	if err != nil || j.State != resource.HarvestSubmitted {
		t.Fatalf("create: %+v %v", j, err)
	}
	s.Wait()
	got, err := st.GetHarvestJob(ctx, j.ID)
	if err != nil || got.State != resource.HarvestComplete || got.Segments != 3 || got.DurationSeconds < 5.9 || got.DurationSeconds > 6.1 {
		t.Fatalf("job: %+v %v", got, err)
	}
	if got.HLS != "/harvest/clips/one/index.m3u8" || got.DASH != "/harvest/clips/one/manifest.mpd" {
		t.Errorf("paths %q %q", got.HLS, got.DASH)
	}
	read := func(key string) []byte {
		rc, _, err := out.Get(ctx, key)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		defer func() { _ = rc.Close() }()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		return b
	}
	pl := read("clips/one/180p/index.m3u8")
	if !bytes.Contains(pl, []byte("#EXT-X-PLAYLIST-TYPE:VOD")) || !bytes.Contains(pl, []byte("#EXT-X-ENDLIST")) || bytes.Count(pl, []byte("#EXTINF")) != 3 {
		t.Fatalf("media playlist:\n%s", pl)
	}
	objs, err := out.List(ctx, "clips/one/audio/")
	if err != nil {
		t.Fatal(err)
	}
	var segs, inits int
	for _, o := range objs {
		switch {
		case strings.HasSuffix(o.Key, ".m4s"):
			segs++
		case strings.Contains(o.Key, "/init-"):
			inits++
		}
	}
	if segs != 3 || inits != 1 {
		t.Errorf("audio objects: %+v", objs)
	}
	if mpd := read("clips/one/manifest.mpd"); !bytes.Contains(mpd, []byte(`type="static"`)) {
		t.Errorf("MPD:\n%s", mpd)
	}
	// The same destination again is a conflict.
	if _, err := s.CreateHarvestJob(ctx, spec); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("a second job into the same destination: %v", err)
	}
	if all, _ := s.ListHarvestJobs(ctx); len(all) != 1 {
		t.Errorf("%d jobs listed", len(all))
	}
}

func TestHarvestRefusesBadRequests(t *testing.T) {
	a := archived(t)
	s, _, _ := newService(t, a)
	first, last, _ := a.Available()
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	cases := []struct {
		spec  resource.HarvestSpec
		field string
		says  string
	}{
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: rfc(first.Add(-time.Minute)), End: rfc(last)}, "start", "DVR window is"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: rfc(first), End: rfc(last.Add(time.Minute))}, "end", "DVR window is"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "plain", Start: rfc(first), End: rfc(last)}, "endpoint", "no DVR window"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "nope", Start: rfc(first), End: rfc(last)}, "endpoint", "no endpoint"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: "soon", End: rfc(last)}, "start", "RFC 3339"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: rfc(last), End: rfc(first)}, "end", "after start"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: rfc(first), End: rfc(last), Destination: "../../etc"}, "destination", "no '..'"},
		{resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: rfc(first), End: rfc(last), Destination: "/abs"}, "destination", "relative"},
		{resource.HarvestSpec{Endpoint: "hls", Start: rfc(first), End: rfc(last)}, "channel", "required"},
	}
	for _, c := range cases {
		_, err := s.CreateHarvestJob(context.Background(), c.spec)
		var fe resource.FieldErrors
		if !errors.As(err, &fe) || fe[0].Path != c.field || !strings.Contains(fe[0].Message, c.says) {
			t.Errorf("%+v: %v, want %s saying %q", c.spec, err, c.field, c.says)
		}
	}
	if _, err := s.CreateHarvestJob(context.Background(), resource.HarvestSpec{Channel: "gone", Endpoint: "hls", Start: rfc(first), End: rfc(last)}); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestBootFailsUnfinishedJobs(t *testing.T) {
	s, st, _ := newService(t, nil)
	ctx := context.Background()
	_ = st.SaveHarvestJob(ctx, resource.HarvestJob{ID: "hv-1", State: resource.HarvestProgressing, CreatedAt: t0, UpdatedAt: t0})
	_ = st.SaveHarvestJob(ctx, resource.HarvestJob{ID: "hv-2", State: resource.HarvestComplete, CreatedAt: t0, UpdatedAt: t0})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	j1, _ := st.GetHarvestJob(ctx, "hv-1")
	j2, _ := st.GetHarvestJob(ctx, "hv-2")
	if j1.State != resource.HarvestError || j1.Message == "" || j2.State != resource.HarvestComplete {
		t.Errorf("after boot: %+v / %+v", j1, j2)
	}
}

// TestBootFailsOnlyThisNodesJobs: on a cluster, a node that starts marks
// failed the unfinished jobs it ran (and those of a version that named no
// node), never those another node runs.
func TestBootFailsOnlyThisNodesJobs(t *testing.T) {
	s, st, _ := newService(t, nil)
	s.cfg.Node = "a"
	ctx := context.Background()
	for id, node := range map[string]string{"hv-a": "a", "hv-b": "b", "hv-old": ""} {
		_ = st.SaveHarvestJob(ctx, resource.HarvestJob{ID: id, Node: node, State: resource.HarvestProgressing, CreatedAt: t0, UpdatedAt: t0})
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]resource.HarvestState{"hv-a": resource.HarvestError, "hv-b": resource.HarvestProgressing, "hv-old": resource.HarvestError} {
		if j, _ := st.GetHarvestJob(ctx, id); j.State != want {
			t.Errorf("%s (node %q) after node a's start: %s, want %s", id, j.Node, j.State, want)
		}
	}
}

// TestHarvestCoversAMisalignedRange checks the shared selection rule: a
// range starting and ending inside segments is harvested as every segment
// it overlaps, covering it and exceeding it by less than one segment at
// either end.
func TestHarvestCoversAMisalignedRange(t *testing.T) {
	a := archived(t)
	s, st, _ := newService(t, a)
	first, _, _ := a.Available()
	start, end := first.Add(time.Second), first.Add(5*time.Second)
	spec := resource.HarvestSpec{Channel: "ch", Endpoint: "hls", Start: start.Format(time.RFC3339Nano), End: end.Format(time.RFC3339Nano), Destination: "clips/misaligned"}
	j, err := s.CreateHarvestJob(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Wait()
	got, err := st.GetHarvestJob(context.Background(), j.ID)
	// Segments of 2 s from first: 0–2, 2–4 and 4–6 overlap 1–5.
	requested := end.Sub(start).Seconds()
	if err != nil || got.State != resource.HarvestComplete || got.Segments != 3 ||
		got.DurationSeconds < requested || got.DurationSeconds > requested+2*2+0.1 {
		t.Fatalf("job: %+v %v; want the 3 segments overlapping a %.0f s range", got, err, requested)
	}
}
