package origin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-video/sluice/internal/filemode"
)

// keySecretFile is where versions before the secret moved into the state
// database kept it, in the data directory. It is read once more, so that
// the first start of this version keeps the keys players and archived
// segments already have; it is no longer written.
const keySecretFile = "encryption-secret"

// keySecretName names the secret in the state database.
const keySecretName = "encryption"

// SecretStore keeps secrets in the state database, where every start of
// every node on it reads the same ones; *store.Store satisfies it.
type SecretStore interface {
	// KeepSecret stores value as name unless a secret is stored already,
	// and returns the stored one.
	KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// KeySecret returns the secret encryption keys derive from (for
// WithKeySecret): the state database's, so that the keys stay the same
// across restarts and every node of a cluster serves the same ones. The
// first start makes it, from the data directory's encryption-secret file
// when an earlier version left one there, else from crypto/rand. A file
// that differs from the database's secret (a server that ran alone before
// it joined a cluster's database) loses, with a warning.
func KeySecret(ctx context.Context, st SecretStore, dataDir string, logger *slog.Logger) ([]byte, error) {
	legacy, err := legacyKeySecret(dataDir)
	if err != nil {
		return nil, err
	}
	candidate := legacy
	if candidate == nil {
		candidate = make([]byte, 32)
		if _, err := rand.Read(candidate); err != nil {
			return nil, err
		}
	}
	secret, err := st.KeepSecret(ctx, keySecretName, candidate)
	if err != nil {
		return nil, fmt.Errorf("the encryption secret: %w", err)
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("the encryption secret in the state database is %d bytes, want 32", len(secret))
	}
	if legacy != nil && !bytes.Equal(legacy, secret) && logger != nil {
		logger.Warn(fmt.Sprintf("%s differs from the encryption secret in the state database, which is used: encrypted endpoints of this server get the database's keys; remove the file",
			filepath.Join(dataDir, keySecretFile)))
	}
	return secret, nil
}

// legacyKeySecret reads the data directory's encryption-secret file, nil
// when there is none.
func legacyKeySecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, keySecretFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the encryption secret: %w", err)
	}
	secret, derr := hex.DecodeString(strings.TrimSpace(string(b)))
	if derr != nil || len(secret) < 32 {
		return nil, fmt.Errorf("%s is not a 64-digit hex secret; remove it to use the state database's (encrypted endpoints may then get new keys)", path)
	}
	if err := filemode.Tighten(path); err != nil {
		return nil, err
	}
	return secret, nil
}
