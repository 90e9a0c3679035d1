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

// FuzzParseLocation checks that any accepted location names a folder or a
// bucket with a clean prefix, and that credentials never come from the URL.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://b/p?endpoint=h:9000&insecure=1", "file:///srv/in", "in", "s3://u:p@b/x", "s3://b/../x", "ftp://x", "s3://b/a//b"} {
		f.Add(s)
	}
	env := func(string) string { return "" }
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := ParseLocation(raw, "/base", env)
		if err != nil {
			return
		}
		switch l.Scheme {
		case "file":
			if l.Dir == "" {
				t.Fatalf("%q: empty folder", raw)
			}
		case "s3":
			if l.S3.Bucket == "" || (l.S3.Prefix != "" && !cleanPrefixOK(l.S3.Prefix)) {
				t.Fatalf("%q: bucket %q prefix %q", raw, l.S3.Bucket, l.S3.Prefix)
			}
			if l.S3.AccessKey != "" {
				t.Fatalf("%q: credentials from the URL", raw)
			}
		default:
			t.Fatalf("%q: scheme %q", raw, l.Scheme)
		}
	})
}

// cleanPrefixOK reports whether CleanPrefix accepts p.
func cleanPrefixOK(p string) bool {
	_, err := CleanPrefix(p)
	return err == nil
}
