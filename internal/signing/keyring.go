package signing

import (
	"errors"
	"fmt"
	"slices"
)

// Keyring is the set of keys a server signs and checks with. Signatures
// made with any of its keys are accepted, so a key being rotated out stays
// valid while a new one takes over; new signatures use the first key that
// can sign unless another is named.
type Keyring struct {
	keys []Key
}

// NewKeyring checks the keys and that their IDs are unique.
func NewKeyring(keys ...Key) (*Keyring, error) {
	seen := map[string]bool{}
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("key ID %s is used twice", k.ID)
		}
		seen[k.ID] = true
	}
	return &Keyring{keys: slices.Clone(keys)}, nil
}

// Len is the number of keys.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// IDs lists the key IDs, in the order given.
func (k *Keyring) IDs() []string {
	out := make([]string, 0, k.Len())
	if k != nil {
		for _, key := range k.keys {
			out = append(out, key.ID)
		}
	}
	return out
}

// Verifier returns a verifier of every key; nil when there are none.
func (k *Keyring) Verifier() *Verifier {
	if k.Len() == 0 {
		return nil
	}
	v, err := NewVerifier(k.keys...)
	if err != nil {
		return nil // the keys were checked in NewKeyring
	}
	return v
}

// ErrNoSigningKey says the keyring holds no key that can sign (none at all, or
// only Ed25519 public keys).
var ErrNoSigningKey = errors.New("no signing key is configured that can sign")

// SigningKey returns the key named id, or the first key that can sign
// when id is empty.
func (k *Keyring) SigningKey(id string) (Key, error) {
	if k != nil {
		for _, key := range k.keys {
			canSign := len(key.Secret) > 0 || len(key.PrivateKey) > 0
			if (id == "" || key.ID == id) && canSign {
				return key, nil
			}
			if key.ID == id {
				return Key{}, fmt.Errorf("key %s holds only a public key and cannot sign", id)
			}
		}
	}
	if id != "" {
		return Key{}, fmt.Errorf("no key %q is configured", id)
	}
	return Key{}, ErrNoSigningKey
}
