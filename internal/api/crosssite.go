package api

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// sameOrigin refuses changes sent from a web page of another site: a
// browser adds Origin (and Sec-Fetch-Site) to such requests, and a page
// the operator visits could otherwise drive a server that trusts loopback
// callers. Reads stay open: without CORS headers, no other site can read
// the answers.
func (a *API) sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := r.Header.Get("Origin")
		if from == "" {
			from = "a page of another site (Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site") + ")"
		}
		a.fail(w, r, fmt.Errorf("%w: %s from %s to %s", errCrossOrigin, r.Method, from, r.Host))
	}))
	return cop.Handler(next)
}

// jsonOnly requires Content-Type: application/json on every request that
// changes something, with a body or without. A web page can send a form or
// a "simple" fetch to any site without asking, but not a JSON one: the
// browser first asks the server (a CORS preflight), which the API never
// allows. So this type is what proves a request does not come from another
// site's page, even for POST …/start, which has no body. The chunks of an
// upload are bytes, of their own type (ChunkType), and a stack may be sent
// as YAML (application/yaml), which a page of another site cannot send
// without asking either.
func (a *API) jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if ct == "" {
			ct = "none"
		}
		if mt == yamlType && err == nil && isStackRoute(r) {
			next.ServeHTTP(w, r)
			return
		}
		if isChunkRoute(r) {
			if err != nil || mt != ChunkType {
				a.fail(w, r, chunkTypeError(ct))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if err != nil || mt != "application/json" {
			a.fail(w, r, fmt.Errorf("%w: %s needs Content-Type: application/json, even without a body (it was %s)", errMediaType, r.Method, ct))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// yamlType is the media type of a stack file sent as it is written; like
// JSON, a page of another site cannot send it without asking.
const yamlType = "application/yaml"

// isStackRoute is a route that takes a stack: plan, apply and destroy,
// which take a stack file in YAML as well as JSON.
func isStackRoute(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/v1/stacks/")
}

// isYAML reports whether a request's body is YAML.
func isYAML(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == yamlType
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
