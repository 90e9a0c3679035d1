package spool

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func randomBody(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, f *os.File) []byte {
	t.Helper()
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSpoolStaysWithinItsBudget(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a previous run left is cleared.
	if err := os.WriteFile(filepath.Join(dir, "stale"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := New(dir, 100<<10, slog.New(slog.DiscardHandler))
	sp.MinBytes = 16 << 10 // small bodies keep the test light
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); err == nil {
		t.Fatal("a previous run's file was kept")
	}
	if f := sp.Open("small", make([]byte, sp.MinBytes-1)); f != nil {
		t.Fatal("a body below the minimum was spooled")
	}
	bodies := map[string][]byte{}
	held := sp.Open("k0", randomBody(t, 40<<10))
	for i := range 10 {
		key := "k" + strconv.Itoa(i)
		if bodies[key] = randomBody(t, 40<<10); i == 0 {
			continue
		}
		f := sp.Open(key, bodies[key])
		if f == nil {
			t.Fatalf("%s was not spooled", key)
		}
		if got := readAll(t, f); !bytes.Equal(got, bodies[key]) {
			t.Fatalf("%s reads back %d different bytes", key, len(got))
		}
	}
	// Two 40 KB files fit in 100 KB: the newest stay.
	poll.UntilTrue(t, "old files removed", 30*time.Second, func() bool {
		files, _ := os.ReadDir(dir)
		return len(files) == 2
	})
	if sp.size > sp.budget || len(sp.files) != 2 || len(sp.order) != 2 {
		t.Fatalf("%d bytes in %d files (%d in order), budget %d", sp.size, len(sp.files), len(sp.order), sp.budget)
	}
	// A reader of an evicted file still reads all of it.
	if held == nil {
		t.Fatal("k0 was not spooled")
	}
	if got := readAll(t, held); len(got) != 40<<10 {
		t.Fatalf("an evicted file read %d bytes", len(got))
	}
}

func TestSpoolFallsBackToMemoryWhenItCannotWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := New(dir, 1<<20, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The folder disappears (a disk swapped, a cleanup run): writes fail.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if f := sp.Open("a", randomBody(t, DefaultMinBytes)); f != nil {
		t.Fatal("a file was returned though it could not be written")
	}
	if !sp.broken || len(sp.files) != 0 || sp.size != 0 {
		t.Fatalf("after a failed write: broken %v, %d files, %d bytes", sp.broken, len(sp.files), sp.size)
	}
	if f := sp.Open("b", randomBody(t, DefaultMinBytes)); f != nil {
		t.Fatal("spooling went on after it broke")
	}
}
