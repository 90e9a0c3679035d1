package signing

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// MintRequest asks for a signed URL and the matching cookies. It is the
// body of the API's sign call and what the sign command builds.
type MintRequest struct {
	// URL is the URL (or just the path) to sign; optional when Path is set.
	URL string `json:"url,omitempty"`
	// Path is the policy's path, "*" matching any run of characters:
	// "/live/news/*" covers a whole channel. Default: the URL's path.
	Path string `json:"path,omitempty"`
	// Expires is when the signature stops being valid; ExpiresIn, in
	// seconds from now, is used when Expires is not set (default 3600).
	Expires   time.Time `json:"expires,omitzero"`
	ExpiresIn int64     `json:"expiresIn,omitempty"`
	// NotBefore, when set, is when the signature starts being valid.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// ClientCIDR, when set, is the network the viewer must connect from.
	ClientCIDR string `json:"clientCIDR,omitempty"`
	// KeyID names the key to sign with; default the first signing key.
	KeyID string `json:"keyId,omitempty"`
}

// Minted is a signature in every form a player needs.
type Minted struct {
	// URL is the request's URL with the signature in its query (empty when
	// only a path pattern was given).
	URL string `json:"url,omitempty"`
	// Query is the signature as query parameters, to append to any URL
	// the policy covers.
	Query string `json:"query"`
	// Cookies are Set-Cookie values carrying the same signature, for
	// players that fetch many URLs under the policy path.
	Cookies    []string  `json:"cookies"`
	Path       string    `json:"path"`
	Expires    time.Time `json:"expires"`
	NotBefore  time.Time `json:"notBefore,omitzero"`
	ClientCIDR string    `json:"clientCIDR,omitempty"`
	KeyID      string    `json:"keyId"`
}

// DefaultLifetime is how long a minted signature lasts without Expires or
// ExpiresIn.
const DefaultLifetime = time.Hour

// Mint signs req with key at time now.
func Mint(req MintRequest, key Key, now time.Time, cookies CookieOptions) (Minted, error) {
	var u *url.URL
	if req.URL != "" {
		var err error
		if u, err = url.Parse(req.URL); err != nil || (u.Path == "" && u.Host == "") {
			return Minted{}, fmt.Errorf("url %q is not a URL or path", req.URL)
		}
	}
	p := Policy{Path: req.Path, Expires: req.Expires, NotBefore: req.NotBefore, ClientCIDR: req.ClientCIDR}
	if p.Path == "" {
		if u == nil {
			return Minted{}, errors.New("give a url or a path to sign")
		}
		p.Path = u.EscapedPath()
	}
	if p.Expires.IsZero() {
		life := DefaultLifetime
		if req.ExpiresIn < 0 {
			return Minted{}, errors.New("expiresIn must be positive")
		}
		if req.ExpiresIn > 0 {
			life = time.Duration(req.ExpiresIn) * time.Second
		}
		p.Expires = now.Add(life)
	}
	if !p.Expires.After(now) {
		return Minted{}, fmt.Errorf("expires %s is in the past", p.Expires.UTC().Format(time.RFC3339))
	}
	params, err := Sign(p, key)
	if err != nil {
		return Minted{}, err
	}
	out := Minted{
		Query: params.Encode(), Path: p.Path, Expires: p.Expires.UTC().Truncate(time.Second),
		ClientCIDR: p.ClientCIDR, KeyID: key.ID, Cookies: []string{},
	}
	if !p.NotBefore.IsZero() {
		out.NotBefore = p.NotBefore.UTC().Truncate(time.Second)
	}
	if u != nil {
		if !matchPath(p.Path, u.Path) {
			return Minted{}, fmt.Errorf("the path %q does not cover the url's path %q", p.Path, u.Path)
		}
		q := u.Query()
		for name, v := range params {
			q[name] = v
		}
		u.RawQuery = q.Encode()
		out.URL = u.String()
	}
	cs, err := Cookies(p, key, cookies)
	if err != nil {
		return Minted{}, err
	}
	for _, c := range cs {
		out.Cookies = append(out.Cookies, c.String())
	}
	return out, nil
}
