package origin

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// The secret is made once and kept in the state database: the same after
// a restart, whatever the data directory, and no file is written.
func TestEncryptionSecretSurvivesRestarts(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "sluice.db")
	dir := t.TempDir()
	first, err := KeySecret(ctx, openStore(t, db), dir, nil)
	if err != nil || len(first) != 32 {
		t.Fatalf("first secret: %x, %v", first, err)
	}
	again, err := KeySecret(ctx, openStore(t, db), t.TempDir(), nil)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the secret changed across restarts: %x then %x (%v)", first, again, err)
	}
	if _, err := os.Stat(filepath.Join(dir, keySecretFile)); !os.IsNotExist(err) {
		t.Errorf("a secret file was written: %v", err)
	}
}

// The file an earlier version wrote becomes the database's secret, so the
// keys stay the same across the upgrade; a damaged file is refused with a
// reason, and one that differs from the database's loses with a warning.
func TestEncryptionSecretFileOfAnEarlierVersionIsKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	legacy := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(dir, keySecretFile), []byte(legacy+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	got, err := KeySecret(ctx, st, dir, nil)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("the earlier version's secret was not kept: %x %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, keySecretFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the secret file is not private: %v %v", fi.Mode(), err)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, keySecretFile), []byte(strings.Repeat("cd", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	got, err = KeySecret(ctx, st, other, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0xab}, 32)) {
		t.Errorf("another file replaced the database's secret: %x %v", got, err)
	}
	if !strings.Contains(logs.String(), "differs from the encryption secret in the state database") {
		t.Errorf("no warning of the differing file: %s", logs.String())
	}

	if err := os.WriteFile(filepath.Join(dir, keySecretFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := KeySecret(ctx, st, dir, nil); err == nil || !strings.Contains(err.Error(), "64-digit hex") {
		t.Errorf("a damaged secret file is refused with a reason, got %v", err)
	}
}
