package filemode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQLiteMakesTheDatabaseAndItsCompanionsPrivate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "state.db")
	for _, name := range []string{"state.db-wal", "state.db-shm"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), 0o664); err != nil {
			t.Fatal(err)
		}
	}
	if err := SQLite(db); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != Private {
			t.Errorf("%s: %v %v", name, st.Mode(), err)
		}
	}
	// A link is left alone: it is not the file it names.
	if err := os.Symlink(db, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if err := Tighten(filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
}

func TestShared(t *testing.T) {
	dir := t.TempDir()
	for perm, want := range map[os.FileMode]string{0o700: "", 0o750: "read by its group (mode 0750)", 0o705: "every user of this machine (mode 0705)"} {
		if err := os.Chmod(dir, perm); err != nil {
			t.Fatal(err)
		}
		got, err := Shared(dir)
		if err != nil || (want == "" && got != "") || !strings.Contains(got, want) {
			t.Errorf("mode %04o: %q %v, want %q", perm, got, err, want)
		}
	}
}
