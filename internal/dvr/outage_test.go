package dvr

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestServiceLogsAFailingArchiveOnce: an archive that cannot be opened
// at any tick (its folder is a file) is logged once, not at every tick,
// and once when it can be opened again.
func TestServiceLogsAFailingArchiveOnce(t *testing.T) {
	f := newFixture(t)
	now := t0.Add(time.Minute)
	outs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 6, DVRWindowSeconds: 60}}
	root := t.TempDir()
	blocker := filepath.Join(root, "ch")
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := NewService(Config{
		Root: root, Logger: slog.New(slog.NewTextHandler(&out, nil)),
		Now:     func() time.Time { return now },
		Sources: func(context.Context) []Source { return []Source{{Name: "ch", Timeline: f.tl, Outputs: outs}} },
	})
	for range 20 {
		s.Tick(context.Background())
		now = now.Add(500 * time.Millisecond)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	s.Tick(context.Background())
	s.Tick(context.Background())
	count := func(s string) int { return strings.Count(out.String(), s) }
	if n := count(`msg="opening the DVR archive failed"`); n != 1 {
		t.Errorf("the failure is logged %d times, want once:\n%s", n, out.String())
	}
	if n := count(`msg="opening the DVR archive works again, after 20 failed attempts over 10s"`); n != 1 {
		t.Errorf("the recovery is logged %d times, want once:\n%s", n, out.String())
	}
	if a, err := s.Archive("ch", 0); err != nil || a.Len() == 0 {
		t.Errorf("the archive holds nothing once it opens: %v", err)
	}
}
