package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id costs of a password hash. They are stored with
// each hash (in its PHC string), so they can be raised later: a hash made
// with other costs still verifies, and is made again with the current ones
// at its user's next login.
type Params struct {
	// Memory is in KiB; Time is the number of passes; Threads the lanes.
	Memory  uint32
	Time    uint32
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are RFC 9106's second recommended option lightened to two
// lanes for small servers: 64 MiB, 3 passes, 16-byte salt, 32-byte hash.
// A login costs a few tens of milliseconds and 64 MiB; Service bounds the
// logins checked at once.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Bounds of a stored hash's costs: a hash outside them is refused rather
// than run, so a tampered database cannot make a login take a gigabyte.
const (
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 64
	maxThreads = 64
	minSalt    = 8
	maxSalt    = 64
	minKey     = 16
	maxKey     = 64
	// MaxPasswordBytes bounds a password's length; MinPasswordChars is the
	// shortest one a user may set.
	MaxPasswordBytes = 1024
	MinPasswordChars = 12
)

// errHashFormat is a stored password hash this package cannot read.
var errHashFormat = errors.New("not an argon2id password hash")

// hashed is a parsed PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
type hashed struct {
	params Params
	salt   []byte
	key    []byte
}

// HashPassword hashes password with a fresh random salt and returns the
// PHC string that keeps the costs, the salt and the hash together.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := hashed{params: p, salt: salt, key: argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)}
	return h.String(), nil
}

// String writes the PHC form of the hash.
func (h hashed) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// VerifyPassword reports whether password is the one encoded was made
// from, comparing in constant time, and whether encoded was made with
// costs other than p (then it should be made again with p).
func VerifyPassword(encoded, password string, p Params) (match, stale bool, err error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	match = subtle.ConstantTimeCompare(got, h.key) == 1
	stale = h.params != p
	return match, stale, nil
}

// parseHash reads a PHC argon2id string strictly: the version this
// package makes, every cost within bounds, canonical unpadded base64.
func parseHash(s string) (hashed, error) {
	var h hashed
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errHashFormat
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version %q", errHashFormat, parts[2])
	}
	costs := strings.Split(parts[3], ",")
	if len(costs) != 3 {
		return h, fmt.Errorf("%w: costs %q", errHashFormat, parts[3])
	}
	m, errM := costOf(costs[0], "m=", maxMemory)
	t, errT := costOf(costs[1], "t=", maxTime)
	p, errP := costOf(costs[2], "p=", maxThreads)
	if err := errors.Join(errM, errT, errP); err != nil {
		return h, fmt.Errorf("%w: %w", errHashFormat, err)
	}
	if m < 8*p {
		return h, fmt.Errorf("%w: memory %d KiB is under 8 KiB a lane", errHashFormat, m)
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, errS := b64.DecodeString(parts[4])
	key, errK := b64.DecodeString(parts[5])
	if errS != nil || errK != nil || len(salt) < minSalt || len(salt) > maxSalt || len(key) < minKey || len(key) > maxKey {
		return h, fmt.Errorf("%w: salt or hash of the wrong length or encoding", errHashFormat)
	}
	h.params = Params{Memory: m, Time: t, Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))} //nolint:gosec // p ≤ maxThreads, lengths ≤ 64
	h.salt, h.key = salt, key
	return h, nil
}

// costOf reads "m=65536": a whole number from 1 to limit, without sign or
// leading zeros, so that a hash has one spelling.
func costOf(s, prefix string, limit uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok || v == "" || len(v) > 10 || (v[0] == '0') {
		return 0, fmt.Errorf("%q is not %sN", s, prefix)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(limit) {
		return 0, fmt.Errorf("%q: %s from 1 to %d", s, prefix, limit)
	}
	return uint32(n), nil
}

// checkPassword refuses a password a user may not set: shorter than
// MinPasswordChars, longer than MaxPasswordBytes.
func checkPassword(password string) error {
	switch {
	case len([]rune(password)) < MinPasswordChars:
		return fieldError("password", fmt.Sprintf("at least %d characters", MinPasswordChars))
	case len(password) > MaxPasswordBytes:
		return fieldError("password", fmt.Sprintf("at most %d bytes", MaxPasswordBytes))
	}
	return nil
}
