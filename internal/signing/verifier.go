package signing

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Verifier checks the signature a request carries, in its query or in its
// cookies, against a set of keys. It is safe for concurrent use as long as
// its fields are not changed; to rotate keys, build a new Verifier.
type Verifier struct {
	// Keys are the keys signatures may name, by ID: the current key and
	// the ones being rotated out.
	Keys map[string]Key
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// TrustForwardedFor takes the client address from the last entry of
	// X-Forwarded-For (the one the proxy in front appended) instead of the
	// connection's address. Set it only behind a proxy that sets the header.
	TrustForwardedFor bool
	// Trusted lists networks whose connections need no signature: the
	// edges in front of an origin, which check signatures themselves and
	// leave them out of the requests they make.
	Trusted []netip.Prefix
}

// NewVerifier returns a verifier of the given keys (their public halves are
// enough) on the real clock.
func NewVerifier(keys ...Key) (*Verifier, error) {
	m := make(map[string]Key, len(keys))
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if _, dup := m[k.ID]; dup {
			return nil, fmt.Errorf("key ID %s is used twice", k.ID)
		}
		m[k.ID] = k.Public()
	}
	return &Verifier{Keys: m, Now: time.Now}, nil
}

// credentials are the three signature parameters of a request.
type credentials struct {
	policy, signature, keyID string
	source                   string
}

// Verify returns nil when r carries a valid signature whose policy admits
// it, or an *Error saying which condition failed. Query parameters take
// precedence over cookies. The signature is checked before anything in the
// policy is believed.
func (v *Verifier) Verify(r *http.Request) error {
	if len(v.Trusted) > 0 {
		if addr, ok := parseAddr(r.RemoteAddr); ok {
			for _, p := range v.Trusted {
				if p.Contains(addr) {
					return nil
				}
			}
		}
	}
	return v.check(r, r.URL.Path)
}

// VerifyFor checks r's signature as Verify does, except that the policy
// must cover one of paths instead of r's own path: for a request that
// stands for other resources, as a channel's frames stand for its /live/
// path. Trusted networks get no pass here: they are the edges in front of
// an origin, not callers of other resources.
func (v *Verifier) VerifyFor(r *http.Request, paths ...string) error {
	return v.check(r, paths...)
}

// check verifies r's signature and that its policy admits r for one of
// paths.
func (v *Verifier) check(r *http.Request, paths ...string) error {
	c, err := credentialsOf(r)
	if err != nil {
		return err
	}
	if len(c.policy) > maxEncodedLen || len(c.signature) > maxSignatureLen {
		return refuse(ReasonMalformed, "the %s signature parameters are too long", c.source)
	}
	if !validKeyID(c.keyID) {
		return refuse(ReasonMalformed, "the %s key ID is not a valid key name", c.source)
	}
	key, ok := v.Keys[c.keyID]
	if !ok {
		return refuse(ReasonUnknownKey, "no key %q is known here", c.keyID)
	}
	rawPolicy, err := base64.RawURLEncoding.DecodeString(c.policy)
	if err != nil {
		return refuse(ReasonMalformed, "the %s policy is not base64url", c.source)
	}
	sig, err := base64.RawURLEncoding.DecodeString(c.signature)
	if err != nil {
		return refuse(ReasonMalformed, "the %s signature is not base64url", c.source)
	}
	if !key.verify(c.policy, sig) {
		return refuse(ReasonBadSignature, "the %s signature does not match the policy and key %q", c.source, c.keyID)
	}
	p, prefix, err := decodePolicy(rawPolicy)
	if err != nil {
		return refuse(ReasonMalformed, "the signed policy cannot be read")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	if !p.NotBefore.IsZero() && t.Before(p.NotBefore) {
		return refuse(ReasonNotYetValid, "the policy is valid from %s", p.NotBefore.UTC().Format(time.RFC3339))
	}
	if !t.Before(p.Expires) {
		return refuse(ReasonExpired, "the policy expired at %s", p.Expires.UTC().Format(time.RFC3339))
	}
	covered := false
	for _, reqPath := range paths {
		if !canonicalPath(reqPath) {
			return refuse(ReasonWrongPath, "the request path is not canonical")
		}
		covered = covered || matchPath(p.Path, reqPath)
	}
	if !covered {
		return refuse(ReasonWrongPath, "the policy covers %q only", p.Path)
	}
	if prefix.IsValid() {
		addr, ok := v.clientAddr(r)
		if !ok {
			return refuse(ReasonWrongClient, "the client address is unknown")
		}
		if !prefix.Contains(addr) {
			return refuse(ReasonWrongClient, "client %s is not in %s", addr, prefix)
		}
	}
	return nil
}

// credentialsOf finds the signature in the query, else in the cookies.
func credentialsOf(r *http.Request) (credentials, error) {
	if r.URL != nil && strings.Contains(r.URL.RawQuery, ParamPrefix) {
		// Pairs that fail to parse are dropped; ours must parse on their own.
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if c, found, err := pick("query", func(name string) []string { return q[name] }); found {
			return c, err
		}
	}
	cookies := r.Cookies()
	c, found, err := pick("cookie", func(name string) []string {
		var vals []string
		for _, ck := range cookies {
			if ck.Name == name {
				vals = append(vals, ck.Value)
			}
		}
		return vals
	})
	if !found {
		return credentials{}, refuse(ReasonMissing, "the request has no %s, %s and %s in its query or cookies", ParamPolicy, ParamSignature, ParamKeyID)
	}
	return c, err
}

// pick reads the three parameters from one source. found is false when the
// source holds none of them. Cookies may repeat (set for several paths);
// browsers send the most specific first, so the first of each is used.
func pick(source string, get func(string) []string) (credentials, bool, error) {
	vals := map[string][]string{}
	found := false
	for _, name := range Params() {
		vals[name] = get(name)
		if len(vals[name]) > 0 {
			found = true
		}
	}
	if !found {
		return credentials{}, false, nil
	}
	for _, name := range Params() {
		switch n := len(vals[name]); {
		case n == 0:
			return credentials{}, true, refuse(ReasonMalformed, "the %s has no %s", source, name)
		case n > 1 && source == "query":
			return credentials{}, true, refuse(ReasonMalformed, "the query has %s more than once", name)
		}
	}
	return credentials{
		policy:    vals[ParamPolicy][0],
		signature: vals[ParamSignature][0],
		keyID:     vals[ParamKeyID][0],
		source:    source,
	}, true, nil
}

// clientAddr is the address the request came from.
func (v *Verifier) clientAddr(r *http.Request) (netip.Addr, bool) {
	if v.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			return parseAddr(strings.TrimSpace(last))
		}
	}
	return parseAddr(r.RemoteAddr)
}

// parseAddr reads "host:port", "[v6]:port" or a bare address.
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i] // zones never match a policy network
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
