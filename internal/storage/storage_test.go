package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// conformance checks the behaviour every backend promises.
func conformance(t *testing.T, s Storage) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("sluice"), 50000) // 300 kB
	o, err := s.Put(ctx, "in/a/clip.mp4", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if o.Size != int64(len(body)) || o.ETag == "" {
		t.Fatalf("put returned %+v", o)
	}
	r, got, err := s.Get(ctx, "in/a/clip.mp4")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	data, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil || !bytes.Equal(data, body) {
		t.Fatalf("get read %d bytes (%v), want %d", len(data), err, len(body))
	}
	if got.ETag != o.ETag || got.Size != o.Size {
		t.Fatalf("get described %+v, put %+v", got, o)
	}

	// Streaming writer of unknown length.
	w := Writer(ctx, s, "in/b.txt")
	for range 3 {
		if _, err := io.WriteString(w, "chunk\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("streamed put: %v", err)
	}
	st, err := s.Stat(ctx, "in/b.txt")
	if err != nil || st.Size != 18 {
		t.Fatalf("stat after streamed put: %+v %v", st, err)
	}
	// An abandoned upload publishes nothing.
	w = Writer(ctx, s, "in/abandoned.txt")
	_, _ = io.WriteString(w, "half")
	w.CloseWithError(errors.New("stopped"))
	if _, err := s.Stat(ctx, "in/abandoned.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("abandoned upload: stat error %v, want not found", err)
	}

	if _, err := s.Put(ctx, "other/c.mp4", strings.NewReader("c"), 1); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, "in/")
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(list); strings.Join(keys, ",") != "in/a/clip.mp4,in/b.txt" {
		t.Fatalf("list in/ = %v", keys)
	}
	list, err = s.List(ctx, "in/a/cl")
	if err != nil || len(list) != 1 {
		t.Fatalf("list of a partial name: %v %v", keysOf(list), err)
	}
	list, err = s.List(ctx, "")
	if err != nil || len(list) != 3 {
		t.Fatalf("list all: %v %v", keysOf(list), err)
	}
	list, err = s.List(ctx, "nothing/")
	if err != nil || len(list) != 0 {
		t.Fatalf("list of a missing prefix: %v %v", keysOf(list), err)
	}

	if err := s.Delete(ctx, "in/a/clip.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "in/a/clip.mp4"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, _, err := s.Get(ctx, "in/a/clip.mp4"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	for _, bad := range []string{"../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "", "a/./b"} {
		if _, err := s.Put(ctx, bad, strings.NewReader("x"), 1); err == nil {
			t.Errorf("put %q was accepted", bad)
		}
		if _, err := s.Stat(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("stat %q: %v, want a key error", bad, err)
		}
	}
}

func keysOf(list []Object) []string {
	var out []string
	for _, o := range list {
		out = append(out, o.Key)
	}
	return out
}

func TestLocalConformance(t *testing.T) {
	l, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	conformance(t, l)
}

// A symbolic link inside the root cannot lead a key outside it.
func TestLocalRefusesSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	ctx := context.Background()
	if _, _, err := l.Get(ctx, "link/secret"); err == nil {
		t.Fatal("read a file outside the root through a symbolic link")
	}
	if _, err := l.Put(ctx, "link/new", strings.NewReader("x"), 1); err == nil {
		t.Fatal("wrote a file outside the root through a symbolic link")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Fatal("a file appeared outside the root")
	}
}

func TestS3Conformance(t *testing.T) {
	srv := s3server.Start(t)
	s, err := OpenS3(S3Config{Endpoint: srv.Endpoint, Bucket: "media", Prefix: "tenant", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	conformance(t, s)
}

// TestS3BucketMadeByManyAtOnce has several clients make the same bucket at
// once, as the nodes of a cluster do when they start together: each
// succeeds.
func TestS3BucketMadeByManyAtOnce(t *testing.T) {
	srv := s3server.Start(t)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			s, err := OpenS3(S3Config{Endpoint: srv.Endpoint, Bucket: "shared", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
			if err == nil {
				err = s.EnsureBucket(context.Background())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d: %v", i+1, err)
		}
	}
}

func TestParseLocation(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk"}[k]
	}
	l, err := ParseLocation("s3://bucket/in/?endpoint=127.0.0.1:9000&insecure=1", "/base", env)
	if err != nil {
		t.Fatal(err)
	}
	if l.Scheme != "s3" || l.S3.Bucket != "bucket" || l.S3.Prefix != "in/" || !l.S3.Insecure || l.S3.AccessKey != "ak" {
		t.Fatalf("parsed %+v", l)
	}
	l, err = ParseLocation("uploads", "/base", env)
	if err != nil || l.Scheme != "file" || l.Dir != "/base/uploads" {
		t.Fatalf("parsed %+v %v", l, err)
	}
	for _, bad := range []string{"", "s3:///x", "ftp://h/x", "s3://user:pw@b/x", "s3://b/../x", "file://remote/x"} {
		if _, err := ParseLocation(bad, "/base", env); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
