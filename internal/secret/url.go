package secret

import (
	"net/url"
	"strings"
)

// hideURL returns raw with the parts the rule makes secret replaced, and
// those parts (decoded and as written) for scrubbing other strings. A
// string that does not parse as a URL is hidden whole; one without secret
// parts comes back unchanged, byte for byte.
func hideURL(raw string, r rule) (hidden string, parts []string) {
	u, err := url.Parse(raw)
	if err != nil {
		return r.placeholder, []string{raw}
	}
	if u.Opaque != "" {
		// scheme:opaque (no //): no structure to keep.
		return u.Scheme + ":" + r.placeholder, []string{u.Opaque}
	}
	changed := false
	if u.User != nil {
		parts = append(parts, u.User.Username())
		if p, ok := u.User.Password(); ok {
			parts = append(parts, p)
		}
		if ui := rawUserinfo(raw); ui != "" {
			parts = append(parts, ui)
		}
		u.User = url.User(HiddenCredentials)
		changed = true
	}
	if r.kind == urlParts {
		if u.RawQuery != "" {
			var q []string
			q, parts = hideQuery(u.RawQuery, r.placeholder, parts)
			u.RawQuery = strings.Join(q, "&")
			u.ForceQuery = false
			changed = true
		}
		if u.Fragment != "" {
			parts = append(parts, u.Fragment, u.EscapedFragment())
			u.Fragment, u.RawFragment = r.placeholder, ""
			changed = true
		}
		if s := strings.ToLower(u.Scheme); s == "rtmp" || s == "rtmps" {
			app, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
			if key != "" {
				_, rawKey, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
				parts = append(parts, key, rawKey)
				u.Path, u.RawPath = "/"+app+"/"+r.placeholder, ""
				changed = true
			}
		}
	}
	if !changed {
		return raw, nil
	}
	return u.String(), parts
}

// hideQuery replaces every value of a raw query (and every parameter that
// has no name=value form) with the placeholder, keeping the names, and
// adds the values to parts.
func hideQuery(rawQuery, placeholder string, parts []string) ([]string, []string) {
	params := strings.Split(rawQuery, "&")
	out := make([]string, 0, len(params))
	for _, p := range params {
		if p == "" {
			continue
		}
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			name, value = "", p
		}
		parts = append(parts, value)
		if dec, err := url.QueryUnescape(value); err == nil {
			parts = append(parts, dec)
		}
		if !ok {
			out = append(out, placeholder)
			continue
		}
		out = append(out, name+"="+placeholder)
	}
	return out, parts
}

// rawUserinfo is the user information of a URL as written: what lies
// between "//" and the authority's last "@".
func rawUserinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return rest[:i]
	}
	return ""
}
