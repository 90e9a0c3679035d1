package resource

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a new resource ID: the prefix naming the kind ("ch", "in",
// "job", …), a dash and 16 hex digits from crypto/rand.
func NewID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
