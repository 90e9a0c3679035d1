package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// idPattern is what a node id may be: it names the node in logs, the node
// list and the leases.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CheckID refuses what cannot be a node id.
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("node id %q: up to 63 letters, digits, '.', '_' and '-', starting with a letter or digit", id)
	}
	return nil
}

// StableID is the id a node keeps in its data directory (the file
// node-id): read when there, else made of the host name and a random
// suffix and written there (made is true), so that the node keeps it
// across restarts and two nodes of one machine differ.
func StableID(dataDir string) (id string, made bool, err error) {
	path := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id = strings.TrimSpace(string(b))
		if err := CheckID(id); err != nil {
			return "", false, fmt.Errorf("%s: %w: remove it or pass --node-id", path, err)
		}
		return id, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("reading the node id: %w", err)
	}
	var raw [3]byte
	_, _ = rand.Read(raw[:])
	id = hostPart() + "-" + hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("keeping the node id: %w", err)
	}
	return id, true, nil
}

// hostPart is the host name as the start of a node id.
func hostPart() string {
	h, err := os.Hostname()
	if err != nil {
		return "node"
	}
	h, _, _ = strings.Cut(h, ".")
	var b strings.Builder
	for _, r := range h {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	out := strings.TrimLeft(b.String(), "-_")
	if out == "" {
		return "node"
	}
	return out[:min(len(out), 48)]
}
