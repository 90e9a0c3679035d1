package signing

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Key signs or checks policies. An HMAC key has a Secret shared by signer
// and verifier; an Ed25519 key has a PrivateKey to sign and a PublicKey to
// verify, so edges can check signatures without being able to make them.
// The algorithm follows from the key, never from the request.
type Key struct {
	// ID names the key in signatures, so several keys can be valid at
	// once while they are rotated: letters, digits, ".", "_", "-".
	ID string
	// Secret is the HMAC-SHA256 secret, at least 16 bytes (32 recommended).
	// Secrets never appear in JSON, logs or errors; Encode writes them.
	Secret []byte `json:"-"`
	// PrivateKey signs with Ed25519.
	PrivateKey ed25519.PrivateKey `json:"-"`
	// PublicKey verifies Ed25519 signatures; derived from PrivateKey when
	// unset.
	PublicKey ed25519.PublicKey
}

// MinSecretLen is the shortest HMAC secret accepted.
const MinSecretLen = 16

// NewHMACKey returns an HMAC-SHA256 key with a random 32-byte secret.
func NewHMACKey(id string) (Key, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Secret: secret}
	return k, k.Validate()
}

// NewEd25519Key returns a fresh Ed25519 key pair.
func NewEd25519Key(id string) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: id, PrivateKey: priv, PublicKey: pub}
	return k, k.Validate()
}

// Public returns the part of the key a verifier needs: the key itself for
// HMAC, the public half for Ed25519.
func (k Key) Public() Key {
	if len(k.Secret) > 0 {
		return k
	}
	return Key{ID: k.ID, PublicKey: k.publicKey()}
}

// Validate checks the key's ID and material.
func (k Key) Validate() error {
	if !validKeyID(k.ID) {
		return fmt.Errorf("key ID %q must be 1 to %d letters, digits, '.', '_' or '-'", k.ID, maxKeyIDLen)
	}
	hasEd := len(k.PrivateKey) > 0 || len(k.PublicKey) > 0
	switch {
	case len(k.Secret) > 0 && hasEd:
		return fmt.Errorf("key %s: has both an HMAC secret and an Ed25519 key", k.ID)
	case len(k.Secret) > 0:
		if len(k.Secret) < MinSecretLen {
			return fmt.Errorf("key %s: HMAC secret must be at least %d bytes", k.ID, MinSecretLen)
		}
	case len(k.PrivateKey) > 0 && len(k.PrivateKey) != ed25519.PrivateKeySize:
		return fmt.Errorf("key %s: Ed25519 private key must be %d bytes", k.ID, ed25519.PrivateKeySize)
	case len(k.PublicKey) > 0 && len(k.PublicKey) != ed25519.PublicKeySize:
		return fmt.Errorf("key %s: Ed25519 public key must be %d bytes", k.ID, ed25519.PublicKeySize)
	case len(k.PrivateKey) > 0 && len(k.PublicKey) > 0 && !k.PublicKey.Equal(k.PrivateKey.Public()):
		return fmt.Errorf("key %s: Ed25519 public key does not belong to the private key", k.ID)
	case !hasEd:
		return fmt.Errorf("key %s: has no secret", k.ID)
	}
	return nil
}

func (k Key) publicKey() ed25519.PublicKey {
	if len(k.PublicKey) > 0 {
		return k.PublicKey
	}
	if len(k.PrivateKey) == ed25519.PrivateKeySize {
		pub, _ := k.PrivateKey.Public().(ed25519.PublicKey)
		return pub
	}
	return nil
}

// signedMessage is what a signature covers: a version tag, the key ID and
// the encoded policy, so a signature cannot be moved to another key.
func signedMessage(keyID, encodedPolicy string) []byte {
	return []byte("sluice-v1\n" + keyID + "\n" + encodedPolicy)
}

// sign returns the raw signature of an encoded policy.
func (k Key) sign(encodedPolicy string) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	msg := signedMessage(k.ID, encodedPolicy)
	switch {
	case len(k.Secret) > 0:
		m := hmac.New(sha256.New, k.Secret)
		m.Write(msg)
		return m.Sum(nil), nil
	case len(k.PrivateKey) > 0:
		return ed25519.Sign(k.PrivateKey, msg), nil
	}
	return nil, fmt.Errorf("key %s: holds only a public key and cannot sign", k.ID)
}

// verify checks sig in constant time (HMAC) or with Ed25519.
func (k Key) verify(encodedPolicy string, sig []byte) bool {
	msg := signedMessage(k.ID, encodedPolicy)
	if len(k.Secret) > 0 {
		m := hmac.New(sha256.New, k.Secret)
		m.Write(msg)
		return hmac.Equal(m.Sum(nil), sig)
	}
	pub := k.publicKey()
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Text forms of keys, for configuration files and the command line.
const (
	prefixHMAC       = "hmac"
	prefixEd25519    = "ed25519"
	prefixEdPublic   = "ed25519-public"
	keyTextSeparator = ":"
)

// Encode writes the key as "hmac:<id>:<secret>", "ed25519:<id>:<seed>" or
// "ed25519-public:<id>:<public key>", the material in unpadded base64url,
// for configuration files and the command line. The result is secret
// unless it is a public key. (Key deliberately has no MarshalText or
// MarshalJSON, so it cannot end up in a log or a JSON document by accident.)
func (k Key) Encode() (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	switch {
	case len(k.Secret) > 0:
		return prefixHMAC + ":" + k.ID + ":" + enc(k.Secret), nil
	case len(k.PrivateKey) > 0:
		return prefixEd25519 + ":" + k.ID + ":" + enc(k.PrivateKey.Seed()), nil
	}
	return prefixEdPublic + ":" + k.ID + ":" + enc(k.PublicKey), nil
}

// ParseKey reads a key in the form Encode writes.
func ParseKey(s string) (Key, error) {
	parts := strings.SplitN(s, keyTextSeparator, 3)
	if len(parts) != 3 {
		return Key{}, errors.New(`a key is written "hmac:<id>:<secret>", "ed25519:<id>:<seed>" or "ed25519-public:<id>:<public key>"`)
	}
	material, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return Key{}, fmt.Errorf("key %s: material is not base64url: %w", parts[1], err)
	}
	var k Key
	switch parts[0] {
	case prefixHMAC:
		k = Key{ID: parts[1], Secret: material}
	case prefixEd25519:
		if len(material) != ed25519.SeedSize {
			return Key{}, fmt.Errorf("key %s: Ed25519 seed must be %d bytes", parts[1], ed25519.SeedSize)
		}
		k = Key{ID: parts[1], PrivateKey: ed25519.NewKeyFromSeed(material)}
		k.PublicKey = k.publicKey()
	case prefixEdPublic:
		k = Key{ID: parts[1], PublicKey: material}
	default:
		return Key{}, fmt.Errorf("key %s: unknown kind %q (hmac, ed25519, ed25519-public)", parts[1], parts[0])
	}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// String names the key and its kind without its material, so a key that
// reaches a log line or an error does not leak.
func (k Key) String() string {
	switch {
	case len(k.Secret) > 0:
		return "hmac key " + k.ID
	case len(k.PrivateKey) > 0:
		return "ed25519 key " + k.ID
	}
	return "ed25519 public key " + k.ID
}

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }
