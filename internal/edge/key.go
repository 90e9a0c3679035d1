package edge

import (
	"net/url"
	"sort"
	"strings"
)

// cacheKey is the path of u and its allow-listed query parameters, sorted
// by name (values keep their order). It is also the target the edge asks the
// origin for, so the origin sees exactly what the cache keys on. Nothing
// else in the query (signatures, tokens, cache busters) reaches either.
func cacheKey(u *url.URL, allowed map[string]bool) string {
	p := u.EscapedPath()
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if u.RawQuery == "" || len(allowed) == 0 {
		return p
	}
	// Pairs that do not parse are dropped along with the rest.
	q, _ := url.ParseQuery(u.RawQuery)
	names := make([]string, 0, len(allowed))
	for name := range q {
		if allowed[name] && !reservedParam(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return p
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(p)
	sep := byte('?')
	for _, name := range names {
		for _, v := range q[name] {
			b.WriteByte(sep)
			sep = '&'
			b.WriteString(url.QueryEscape(name))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// reservedParam reports whether a query parameter carries a signature, a
// policy, a key ID or a token: such parameters are per viewer and must
// never split the cache or reach the origin. Sluice's own all start with
// "sluice-".
func reservedParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, "sluice-") {
		return true
	}
	for _, s := range []string{"signature", "policy", "token", "key-pair", "keypair", "hmac", "auth", "sig"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return n == "key" || n == "keyid" || n == "key-id" || n == "key_id"
}
