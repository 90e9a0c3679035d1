// Package peer is what the nodes of a cluster use to talk to each other
// over HTTP: a key every node reads from the state database (never a flag
// or a default), requests signed with it (method, path, query, node and
// time, HMAC-SHA256), the check of those signatures on the receiving node,
// and the bounded transport cluster-internal requests travel on. A node
// trusts a signed request as its own: the node that first took it has
// checked the viewer's signed URL, the publisher's key, or the caller's
// token already.
package peer

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Headers of a signed cluster-internal request.
const (
	HeaderNode      = "Sluice-Peer-Node"
	HeaderTime      = "Sluice-Peer-Time"
	HeaderSignature = "Sluice-Peer-Signature"
)

// SecretName is the name of the cluster key in the state database's
// secrets.
const SecretName = "cluster-peer-key" //nolint:gosec // the name of the secret, not the secret

// MaxSkew is how far the time of a signed request may be from the
// receiving node's clock: clocks of nodes are kept within seconds of the
// database's, and a signature older than this cannot be replayed.
const MaxSkew = 2 * time.Minute

// Errors of Verify.
var (
	// ErrUnsigned: the request carries no cluster signature.
	ErrUnsigned = errors.New("not a cluster-internal request")
	// ErrBadSignature: the signature is malformed, stale or wrong.
	ErrBadSignature = errors.New("the cluster signature does not verify")
)

// Secrets keeps the secrets every node shares; *store.Store satisfies it.
type Secrets interface {
	KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Key signs and checks cluster-internal requests.
type Key struct {
	secret []byte
	now    func() time.Time
}

// LoadKey reads the cluster key from the state database, storing a new
// random one when this is the first node to ask.
func LoadKey(ctx context.Context, s Secrets) (*Key, error) {
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails on Linux
	secret, err := s.KeepSecret(ctx, SecretName, fresh)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster key: %w", err)
	}
	if len(secret) < 16 {
		return nil, fmt.Errorf("the stored cluster key is too short (%d bytes)", len(secret))
	}
	return NewKey(secret, nil), nil
}

// NewKey returns a key of secret; now is the clock (nil: time.Now).
func NewKey(secret []byte, now func() time.Time) *Key {
	if now == nil {
		now = time.Now
	}
	return &Key{secret: append([]byte(nil), secret...), now: now}
}

// Sign marks r as a request of node: its headers name the node and the
// time, and carry the signature of both with the method, path and query.
// Sign r after its URL is final.
func (k *Key) Sign(r *http.Request, node string) {
	at := strconv.FormatInt(k.now().Unix(), 10)
	r.Header.Set(HeaderNode, node)
	r.Header.Set(HeaderTime, at)
	r.Header.Set(HeaderSignature, k.mac(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, node, at))
}

// Verify checks that r was signed by a node of the cluster within MaxSkew,
// and returns the node's id. ErrUnsigned says r is not cluster-internal at
// all; ErrBadSignature that it claims to be and is not.
func (k *Key) Verify(r *http.Request) (string, error) {
	sig := r.Header.Get(HeaderSignature)
	node, at := r.Header.Get(HeaderNode), r.Header.Get(HeaderTime)
	if sig == "" && node == "" && at == "" {
		return "", ErrUnsigned
	}
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil || node == "" {
		return "", ErrBadSignature
	}
	if d := k.now().Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return "", fmt.Errorf("%w: signed %s from this node's clock", ErrBadSignature, d.Round(time.Second))
	}
	want := k.mac(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, node, at)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", ErrBadSignature
	}
	return node, nil
}

// Signed reports whether r carries a valid cluster signature.
func (k *Key) Signed(r *http.Request) bool {
	if k == nil {
		return false
	}
	_, err := k.Verify(r)
	return err == nil
}

// Strip removes the cluster headers from r: what a node forwards or logs
// of a viewer's request never carries a signature the viewer made up.
func Strip(h http.Header) {
	h.Del(HeaderNode)
	h.Del(HeaderTime)
	h.Del(HeaderSignature)
}

func (k *Key) mac(method, path, query, node, at string) string {
	m := hmac.New(sha256.New, k.secret)
	for _, s := range []string{method, path, query, node, at} {
		_, _ = m.Write([]byte(s))
		_, _ = m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}
