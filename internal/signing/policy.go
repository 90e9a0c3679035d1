// Package signing issues and checks Sluice's signed URLs and cookies: a
// policy (path pattern, validity window, optional client network) signed
// with a named key, so edges and origins can refuse viewers who were not
// given access, and keys can be rotated.
//
// A signature is three values, carried either as query parameters or as
// cookies of the same names:
//
//	sluice-policy     unpadded base64url of the policy's JSON
//	                  {"path":"/live/news/*","exp":<unix s>,"nbf":<unix s>,"ip":"<cidr>"}
//	sluice-signature  unpadded base64url of HMAC-SHA256 or Ed25519 over
//	                  "sluice-v1\n" + key ID + "\n" + sluice-policy
//	sluice-key        the key ID
//
// The key named by the ID decides the algorithm; the request cannot. The
// signature is checked before anything in the policy is believed.
package signing

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"
)

// Policy says which requests a signature admits.
type Policy struct {
	// Path is the URL path the policy covers. "*" matches any run of
	// characters, "/" included, so "/live/news/*" covers everything below
	// /live/news/; without "*" the path must match exactly.
	Path string
	// Expires is when the policy stops being valid (required). It is kept
	// to the second.
	Expires time.Time
	// NotBefore, when set, is when the policy starts being valid.
	NotBefore time.Time
	// ClientCIDR, when set, is the network (or single address) the client
	// must connect from, e.g. "203.0.113.0/24".
	ClientCIDR string
}

// Limits of what a policy may hold, so parsing untrusted input is bounded.
const (
	maxPathLen      = 1024
	maxEncodedLen   = 4096
	maxSignatureLen = 256
	maxKeyIDLen     = 64
)

// wirePolicy is the signed JSON form of a policy.
type wirePolicy struct {
	Path      string `json:"path"`
	Expires   int64  `json:"exp"`
	NotBefore int64  `json:"nbf,omitempty"`
	Client    string `json:"ip,omitempty"`
}

// Validate checks that the policy can be signed.
func (p Policy) Validate() error {
	if !strings.HasPrefix(p.Path, "/") {
		return fmt.Errorf("policy path %q must start with /", p.Path)
	}
	if len(p.Path) > maxPathLen {
		return fmt.Errorf("policy path is longer than %d bytes", maxPathLen)
	}
	if p.Expires.Unix() <= 0 {
		return errors.New("policy needs an expiry time")
	}
	if !p.NotBefore.IsZero() && !p.NotBefore.Before(p.Expires) {
		return errors.New("policy start time must be before its expiry")
	}
	if p.ClientCIDR != "" {
		if _, err := parsePrefix(p.ClientCIDR); err != nil {
			return fmt.Errorf("policy client network: %w", err)
		}
	}
	return nil
}

// encode returns the policy as unpadded base64url of its JSON form.
func (p Policy) encode() (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	w := wirePolicy{Path: p.Path, Expires: p.Expires.Unix(), Client: p.ClientCIDR}
	if !p.NotBefore.IsZero() {
		w.NotBefore = p.NotBefore.Unix()
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodePolicy parses the JSON form of a policy whose signature was already
// checked. Unknown fields are refused: a condition this version does not
// understand must not be silently dropped.
func decodePolicy(b []byte) (Policy, netip.Prefix, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wirePolicy
	if err := dec.Decode(&w); err != nil {
		return Policy{}, netip.Prefix{}, fmt.Errorf("policy is not valid JSON: %w", err)
	}
	if dec.More() {
		return Policy{}, netip.Prefix{}, errors.New("policy has trailing data")
	}
	p := Policy{Path: w.Path, Expires: time.Unix(w.Expires, 0), ClientCIDR: w.Client}
	if w.NotBefore != 0 {
		p.NotBefore = time.Unix(w.NotBefore, 0)
	}
	if !strings.HasPrefix(p.Path, "/") || len(p.Path) > maxPathLen || w.Expires <= 0 {
		return Policy{}, netip.Prefix{}, errors.New("policy has no valid path or expiry")
	}
	var prefix netip.Prefix
	if w.Client != "" {
		var err error
		if prefix, err = parsePrefix(w.Client); err != nil {
			return Policy{}, netip.Prefix{}, err
		}
	}
	return p, prefix, nil
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// matchPath reports whether the request path p is covered by pattern, where
// "*" matches any run of characters. It runs in O(len(pattern)·len(p)) at
// worst, with no recursion.
func matchPath(pattern, p string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(p) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pattern) && pattern[pi] == p[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// canonicalPath reports whether p is already clean: no "." or ".."
// elements and no empty ones, so a pattern cannot be escaped with
// "/live/news/../other".
func canonicalPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// cookiePath is the longest directory of pattern before its first "*": the
// Path a cookie needs so browsers send it with every request the policy
// covers.
func cookiePath(pattern string) string {
	if i := strings.IndexByte(pattern, '*'); i >= 0 {
		pattern = pattern[:i]
		if j := strings.LastIndexByte(pattern, '/'); j >= 0 {
			return pattern[:j+1]
		}
		return "/"
	}
	return pattern
}
