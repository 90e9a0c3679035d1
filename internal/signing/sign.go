package signing

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Names of the signature parameters, the same in query strings and cookies.
// They all start with ParamPrefix so caches can leave them out of keys.
const (
	ParamPrefix    = "sluice-"
	ParamPolicy    = "sluice-policy"
	ParamSignature = "sluice-signature"
	ParamKeyID     = "sluice-key"
)

// Params lists the signature parameter names.
func Params() []string { return []string{ParamPolicy, ParamSignature, ParamKeyID} }

// Sign signs policy with key and returns the three signature parameters.
func Sign(policy Policy, key Key) (url.Values, error) {
	enc, err := policy.encode()
	if err != nil {
		return nil, err
	}
	sig, err := key.sign(enc)
	if err != nil {
		return nil, err
	}
	return url.Values{
		ParamPolicy:    {enc},
		ParamSignature: {base64.RawURLEncoding.EncodeToString(sig)},
		ParamKeyID:     {key.ID},
	}, nil
}

// SignURL returns rawURL with the signature of policy added to its query
// (replacing any earlier one). An empty policy path means exactly the URL's
// path.
func SignURL(rawURL string, policy Policy, key Key) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if policy.Path == "" {
		policy.Path = u.Path
		if policy.Path == "" {
			policy.Path = "/"
		}
	}
	params, err := Sign(policy, key)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for name, v := range params {
		q[name] = v
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// CookieOptions shapes the cookies of a policy.
type CookieOptions struct {
	// Domain is the cookies' Domain; empty means the host that set them.
	Domain string
	// Path overrides the cookies' Path, which is otherwise the directory
	// of the policy path before its first "*".
	Path string
	// Insecure lets the cookies travel over plain HTTP; by default they are
	// Secure (browsers still send Secure cookies to http://localhost).
	Insecure bool
	// SameSite defaults to Lax; players on another site need None (and
	// Secure).
	SameSite http.SameSite
}

// Cookies signs policy with key and returns the signature as three
// cookies, to be sent with http.SetCookie (or as Set-Cookie values with
// Cookie.String). They expire with the policy.
func Cookies(policy Policy, key Key, opts CookieOptions) ([]*http.Cookie, error) {
	params, err := Sign(policy, key)
	if err != nil {
		return nil, err
	}
	p := opts.Path
	if p == "" {
		p = cookiePath(policy.Path)
	}
	if strings.ContainsAny(p, ";\r\n") {
		return nil, errors.New("cookie path must not contain ';' or line breaks")
	}
	cookies := make([]*http.Cookie, 0, 3)
	for _, name := range Params() {
		c := &http.Cookie{ //nolint:gosec // Secure, HttpOnly and Lax by default; the operator may relax Secure and SameSite for plain-HTTP or cross-site players
			Name:     name,
			Value:    params.Get(name),
			Path:     p,
			Domain:   opts.Domain,
			Expires:  policy.Expires.UTC(),
			Secure:   true,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		}
		if opts.Insecure {
			c.Secure = false
		}
		if opts.SameSite != 0 {
			c.SameSite = opts.SameSite
		}
		if err := c.Valid(); err != nil {
			return nil, err
		}
		cookies = append(cookies, c)
	}
	return cookies, nil
}
