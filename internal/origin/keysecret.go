package origin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-video/sluice/internal/filemode"
)

// keySecretFile holds the secret the origin derives encryption keys from.
// Kept in the data directory, it gives encrypted endpoints the same keys
// after a restart, so players holding a key and harvested or archived
// segments stay decryptable.
const keySecretFile = "encryption-secret"

// KeySecret reads the data directory's encryption secret (for
// WithKeySecret), making one from crypto/rand the first time.
func KeySecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, keySecretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		secret, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(secret) < 32 {
			return nil, fmt.Errorf("%s is not a 64-digit hex secret; remove it to make a new one (encrypted endpoints then get new keys)", path)
		}
		if err := filemode.Tighten(path); err != nil {
			return nil, err
		}
		return secret, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading the encryption secret: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the encryption secret: %w", err)
	}
	return secret, nil
}
