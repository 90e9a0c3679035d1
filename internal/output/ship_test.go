package output

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func localNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func storedBodies(t *testing.T, st storage.Storage, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		rc, _, err := st.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		out[o.Key] = string(b)
	}
	return out
}

func TestShipperMovesFinishedArchiveFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sh := &shipper{dir: dir, prefix: "archive-", key: "outputs/news/archive", storage: st, holdNewest: true, logger: discardLogger()}
	writeFiles(t, dir, map[string]string{
		"archive-20260506T070000Z.ts": "first",
		"archive-20260506T070010Z.ts": "second",
		"archive-20260506T070020Z.ts": "still being written",
		"other-20260506T070000Z.ts":   "another output's",
	})
	if n := sh.pass(context.Background(), false); n != 2 {
		t.Fatalf("moved %d files, want the 2 finished ones", n)
	}
	if got, want := localNames(t, dir), []string{"archive-20260506T070020Z.ts", "other-20260506T070000Z.ts"}; !slices.Equal(got, want) {
		t.Fatalf("left locally %v, want %v", got, want)
	}
	want := map[string]string{
		"outputs/news/archive/archive-20260506T070000Z.ts": "first",
		"outputs/news/archive/archive-20260506T070010Z.ts": "second",
	}
	if got := storedBodies(t, st, "outputs/"); !maps.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	// The output stopped: its last file is finished too.
	sh.finish()
	want["outputs/news/archive/archive-20260506T070020Z.ts"] = "still being written"
	if got := storedBodies(t, st, "outputs/"); !maps.Equal(got, want) {
		t.Fatalf("after stopping, stored %v", got)
	}
	if got := localNames(t, dir); !slices.Equal(got, []string{"other-20260506T070000Z.ts"}) {
		t.Fatalf("after stopping, left %v", got)
	}
}

func TestShipperCopiesTheLatestCaptureWhenItChanges(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sh := &shipper{dir: dir, prefix: "stills-", key: "outputs/news/stills", storage: st, logger: discardLogger()}
	writeFiles(t, dir, map[string]string{"stills-20260506T070000.000Z.jpg": "one", "stills-latest.jpg": "one", "stills-x.jpg.tmp": "half"})
	if n := sh.pass(context.Background(), false); n != 1 {
		t.Fatalf("moved %d", n)
	}
	if got := localNames(t, dir); !slices.Equal(got, []string{"stills-latest.jpg", "stills-x.jpg.tmp"}) {
		t.Fatalf("left %v: the latest copy and files being written stay", got)
	}
	later := time.Now().Add(time.Second)
	writeFiles(t, dir, map[string]string{"stills-latest.jpg": "two"})
	if err := os.Chtimes(filepath.Join(dir, "stills-latest.jpg"), later, later); err != nil {
		t.Fatal(err)
	}
	sh.pass(context.Background(), false)
	got := storedBodies(t, st, "outputs/news/stills/")
	if got["outputs/news/stills/stills-latest.jpg"] != "two" || got["outputs/news/stills/stills-20260506T070000.000Z.jpg"] != "one" || len(got) != 2 {
		t.Fatalf("stored %v", got)
	}
}

func TestShipperKeepsFilesWhenStorageFails(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	st, err := storage.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	sh := &shipper{dir: dir, prefix: "archive-", key: "outputs/news/archive", storage: st, logger: discardLogger()}
	writeFiles(t, dir, map[string]string{"archive-1.ts": "x"})
	// A file where the folder should be: every upload fails.
	if err := os.WriteFile(filepath.Join(root, "outputs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := sh.pass(context.Background(), true); n != 0 {
		t.Fatalf("moved %d files into a broken storage", n)
	}
	if got := localNames(t, dir); !slices.Equal(got, []string{"archive-1.ts"}) {
		t.Fatalf("left %v; the file must stay to be tried again", got)
	}
	if err := os.Remove(filepath.Join(root, "outputs")); err != nil {
		t.Fatal(err)
	}
	if n := sh.pass(context.Background(), true); n != 1 {
		t.Fatalf("moved %d once storage works again", n)
	}
}

func TestRetentionPrunesStorage(t *testing.T) {
	st, err := storage.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range []string{"outputs/news/archive/archive-1.ts", "outputs/news/archive/archive-latest.jpg", "outputs/news/other/other-1.ts"} {
		if _, err := st.Put(ctx, k, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	r := &retention{dir: t.TempDir(), prefix: "archive-", keep: time.Hour, logger: discardLogger(), storage: st, key: "outputs/news/archive",
		now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	if n := r.prune(); n != 1 {
		t.Fatalf("deleted %d, want the one old archive file", n)
	}
	got := storedBodies(t, st, "outputs/")
	if _, ok := got["outputs/news/archive/archive-1.ts"]; ok || len(got) != 2 {
		t.Fatalf("left %v", got)
	}
}
