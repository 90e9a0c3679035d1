package vod

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/resource"
)

// uploadClock is a settable clock for the uploads' idle bound.
type uploadClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *uploadClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *uploadClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openUploads starts a service without workers on the data directory dir
// and returns it with its closer.
func openUploads(t *testing.T, dir string, now func() time.Time) (*Service, func()) {
	t.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, Config{Queue: q, DataDir: dir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closer := func() {
		once.Do(func() {
			_ = s.Close(ctx)
			q.Close()
		})
	}
	t.Cleanup(closer)
	return s, closer
}

func appendBytes(t *testing.T, s *Service, id string, offset int64, b []byte) Upload {
	t.Helper()
	u, err := s.AppendUpload(context.Background(), id, offset, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("chunk at %d: %v", offset, err)
	}
	return u
}

// TestUploadOutlivesTheService: the bytes of an upload are on disk as
// they arrive; a new service on the same data directory (a restarted
// server) knows the upload and its offset, takes the rest and stores the
// whole file in the pipeline's input.
func TestUploadOutlivesTheService(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	file := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	s, closeFirst := openUploads(t, dir, nil)
	up, err := s.StartUpload(ctx, UploadRequest{Key: "shows/ep1.mp4", Size: int64(len(file))})
	if err != nil {
		t.Fatal(err)
	}
	appendBytes(t, s, up.ID, 0, file[:1<<20])
	appendBytes(t, s, up.ID, 1<<20, file[1<<20:3<<19])
	if staged, err := os.ReadFile(filepath.Join(dir, "vod", "uploads", up.ID+".part")); err != nil || !bytes.Equal(staged, file[:3<<19]) {
		t.Fatalf("the staged bytes: %d bytes, %v", len(staged), err)
	}
	closeFirst()

	again, _ := openUploads(t, dir, nil)
	got, err := again.GetUpload(ctx, up.ID)
	if err != nil || got.Offset != 3<<19 || got.Key != "shows/ep1.mp4" || got.Complete {
		t.Fatalf("the upload after a restart: %+v %v", got, err)
	}
	if _, err := again.AppendUpload(ctx, up.ID, 0, bytes.NewReader(file[:10])); !errors.Is(err, resource.ErrConflict) {
		t.Fatalf("a chunk from the start after a restart: %v", err)
	}
	done := appendBytes(t, again, up.ID, 3<<19, file[3<<19:])
	if !done.Complete || done.Offset != int64(len(file)) {
		t.Fatalf("the last chunk: %+v", done)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "vod", "input", "shows", "ep1.mp4"))
	if err != nil || !bytes.Equal(stored, file) {
		t.Fatalf("the stored file: %d bytes, %v", len(stored), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vod", "uploads", up.ID+".part")); !os.IsNotExist(err) {
		t.Errorf("the staged bytes outlived the upload: %v", err)
	}
	if got, err := again.GetUpload(ctx, up.ID); err != nil || !got.Complete {
		t.Errorf("the complete upload: %+v %v", got, err)
	}
}

// TestUploadWhoseEveryByteArrivedFinishesWithAnEmptyChunk: an upload
// whose server stopped after the last byte but before it stored the file
// is finished by an empty chunk at its end.
func TestUploadWhoseEveryByteArrivedFinishesWithAnEmptyChunk(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, closeFirst := openUploads(t, dir, nil)
	up, err := s.StartUpload(ctx, UploadRequest{Key: "a.mp4", Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The bytes arrived; the record was not updated (as a crash between
	// the two would leave them).
	if err := os.WriteFile(filepath.Join(dir, "vod", "uploads", up.ID+".part"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	closeFirst()
	again, _ := openUploads(t, dir, nil)
	if got, err := again.GetUpload(ctx, up.ID); err != nil || got.Offset != 5 || got.Complete {
		t.Fatalf("after a restart: %+v %v", got, err)
	}
	if got := appendBytes(t, again, up.ID, 5, nil); !got.Complete {
		t.Fatalf("the empty chunk at the end: %+v", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "vod", "input", "a.mp4")); err != nil || string(b) != "hello" {
		t.Fatalf("the stored file: %q %v", b, err)
	}
}

// TestAbandonedUploadsAreRemoved: an upload without a chunk for over
// UploadIdle, a complete one remembered that long and what a crash left
// in the folder are removed with their bytes; a recent one stays; an ID
// of another form names no file.
func TestAbandonedUploadsAreRemoved(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	clock := &uploadClock{now: time.Now()}
	s, _ := openUploads(t, dir, clock.Now)
	idle, err := s.StartUpload(ctx, UploadRequest{Key: "idle.mp4", Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	appendBytes(t, s, idle.ID, 0, bytes.Repeat([]byte("x"), 40))
	done, err := s.StartUpload(ctx, UploadRequest{Key: "done.mp4", Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	appendBytes(t, s, done.ID, 0, []byte("abc"))
	stray := filepath.Join(dir, "vod", "uploads", "upl-0000000000000000.json.tmp")
	if err := os.WriteFile(stray, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.advance(UploadIdle - time.Minute)
	recent, err := s.StartUpload(ctx, UploadRequest{Key: "recent.mp4", Size: 10}) // sweeps: nothing is old enough yet
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUpload(ctx, idle.ID); err != nil {
		t.Fatalf("an upload idle for less than the bound was removed: %v", err)
	}
	clock.advance(2 * time.Minute)
	s.sweepUploads(ctx)
	for _, id := range []string{idle.ID, done.ID} {
		if _, err := s.GetUpload(ctx, id); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("upload %s after the bound: %v", id, err)
		}
		if _, err := s.AppendUpload(ctx, id, 40, bytes.NewReader([]byte("y"))); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("a chunk of upload %s after the bound: %v", id, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "vod", "uploads", "*"))
	want := []string{filepath.Join(dir, "vod", "uploads", recent.ID+".json"), filepath.Join(dir, "vod", "uploads", recent.ID+".part")}
	if len(left) != 2 || left[0] != want[0] || left[1] != want[1] {
		t.Errorf("the upload folder holds %q, want only %q", left, want)
	}
	for _, id := range []string{"../queue", "upl-../../x", ""} {
		if _, err := s.GetUpload(ctx, id); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetUpload(%q): %v", id, err)
		}
	}
}
