package origin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncryptionSecretSurvivesRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := KeySecret(dir)
	if err != nil || len(first) != 32 {
		t.Fatalf("first secret: %x, %v", first, err)
	}
	again, err := KeySecret(dir)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the secret changed across reads: %x then %x (%v)", first, again, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, keySecretFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the secret file is not private: %v %v", fi.Mode(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, keySecretFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := KeySecret(dir); err == nil || !strings.Contains(err.Error(), "64-digit hex") {
		t.Errorf("a damaged secret file is refused with a reason, got %v", err)
	}
}
