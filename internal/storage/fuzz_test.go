package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCleanKey checks that no accepted key names a file outside the root.
func FuzzCleanKey(f *testing.F) {
	for _, s := range []string{"a/b.mp4", "../x", "a/../b", "/abs", "a//b", "a\\b", "ok/..x", "\x00"} {
		f.Add(s)
	}
	root := f.TempDir()
	l, err := OpenLocal(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := CleanKey(key)
		if err != nil {
			return
		}
		full := filepath.Join(root, filepath.FromSlash(k))
		if !strings.HasPrefix(full, root+string(filepath.Separator)) {
			t.Fatalf("key %q resolves outside the root: %s", key, full)
		}
		_, _ = l.Stat(context.Background(), k)
	})
}
