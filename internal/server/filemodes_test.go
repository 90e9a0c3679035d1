package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// TestDataFilesArePrivate: with the usual umask, after a server starts
// and writes, its databases with their write-ahead logs and shared memory
// (which hold the encryption secret too) are readable by its user only,
// the data directory it made too.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	data := filepath.Join(t.TempDir(), "data")
	s, err := New(context.Background(), Config{Data: data, FFmpeg: "ffmpeg", FFprobe: "ffprobe"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	ctx := context.Background()
	if _, err := s.ControlPlane().Channels.CreateSecurityGroup(ctx, "", resource.SecurityGroupSpec{Name: "studio", Allow: []string{"192.0.2.0/24"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sluice.db", "sluice.db-wal", "sluice.db-shm", "queue.db", "queue.db-wal", "queue.db-shm"} {
		st, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, perm)
		}
	}
	if st, err := os.Stat(data); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the data directory: %v %v, want mode 0700", st.Mode(), err)
	}
}

// TestSharedDataDirectoryIsWarnedOf: a data directory others can read is
// named in a warning at start, and the files that were there already
// (from an older version) are made private.
func TestSharedDataDirectoryIsWarnedOf(t *testing.T) {
	data := t.TempDir()
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sluice.db", "encryption-secret"} {
		body := ""
		if name == "encryption-secret" {
			body = strings.Repeat("ab", 32) + "\n"
		}
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(data, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncbuf.Buffer
	s, err := New(context.Background(), Config{Data: data, FFmpeg: "ffmpeg", FFprobe: "ffprobe", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "can be read by every user of this machine (mode 0755)") {
		t.Errorf("no warning of the shared data directory in:\n%s", got)
	}
	for _, name := range []string{"sluice.db", "encryption-secret"} {
		if st, err := os.Stat(filepath.Join(data, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, st.Mode(), err)
		}
	}
}
