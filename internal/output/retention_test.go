package output

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRetentionDeletesOnlyOldFilesOfItsOutput(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	files := map[string]time.Duration{
		"archive-20260506T050000Z.ts": 3 * time.Hour, // old: deleted
		"archive-20260506T070000Z.ts": time.Minute,   // recent: kept
		"archive-latest.jpg":          5 * time.Hour, // the newest copy: kept
		"other-20260506T050000Z.ts":   5 * time.Hour, // another output: kept
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	r := &retention{dir: dir, prefix: "archive-", keep: 2 * time.Hour, now: func() time.Time { return now }, logger: discardLogger()}
	if n := r.prune(); n != 1 {
		t.Errorf("deleted %d files, want 1", n)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"archive-20260506T070000Z.ts", "archive-latest.jpg", "other-20260506T050000Z.ts"}
	if !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	missing := &retention{dir: filepath.Join(dir, "none"), prefix: "a-", keep: time.Hour, now: time.Now, logger: discardLogger()}
	if n := missing.prune(); n != 0 {
		t.Errorf("a missing folder: %d", n)
	}
}
