package httpguard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sluice-video/sluice/internal/problem"
)

// LocalHosts answers only requests addressed to a loopback name
// (localhost, *.localhost, 127.0.0.0/8, [::1]) or to one of names, and
// refuses the others with 403. A server that trusts every caller on
// loopback (one without an API token) needs it: a web page of another
// site whose name the attacker points at 127.0.0.1 (DNS rebinding) is, to
// the browser, talking to its own site, so it may read the answers and send
// any request; only the Host header it sends still names the attacker's
// site.
func LocalHosts(next http.Handler, names ...string) http.Handler {
	allowed := map[string]bool{}
	for _, n := range names {
		if h := hostOnly(n); h != "" {
			allowed[h] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := hostOnly(r.Host)
		if isLoopbackName(h) || allowed[h] {
			next.ServeHTTP(w, r)
			return
		}
		problem.Send(w, r, problem.HostRefused, "requests for host "+quoteHost(r.Host)+" are refused: "+
			"this server has no API token, so it answers only requests addressed to localhost, 127.0.0.1 or [::1] "+
			"(or to its --public-host); give it a --token to serve other host names", 0)
	})
}

// hostOnly is the lower-case host name or address of a Host header or a
// host[:port], without port, brackets or a trailing dot.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}

// isLoopbackName reports whether a host names this machine's loopback
// interface whatever DNS says: a loopback address, or localhost, which
// browsers resolve themselves.
func isLoopbackName(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

func quoteHost(h string) string {
	if h == "" {
		return "(none)"
	}
	return `"` + h + `"`
}
