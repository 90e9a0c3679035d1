package web

import "net/http"

// contentSecurityPolicy lets pages run only Sluice's own scripts (no inline
// code), play media through MediaSource blob URLs, and talk only to the
// server that served them. hls.js runs its transmuxer in a blob: worker.
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self'; " +
	"img-src 'self' data:; " +
	"media-src 'self' blob:; " +
	"connect-src 'self'; " +
	"worker-src 'self' blob:; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'"

// emptyStyleHash is the CSP hash of an empty inline stylesheet.
const emptyStyleHash = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"

// scrollbarStyleHash is the CSP hash of the one fixed stylesheet the
// vendored Redoc (2.5.0) inserts: its scroll bars' (perfect-scrollbar).
// A new Redoc with another stylesheet fails the API reference's browser
// test until this hash is updated.
const scrollbarStyleHash = "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"

// apiDocsContentSecurityPolicy is contentSecurityPolicy for the API
// reference page, with exceptions for Redoc. Its styled-components add an
// empty <style> element and fill it with CSSOM insertRule calls, which CSP
// does not govern: allowing the hash of the empty stylesheet lets that
// element exist; its scroll bars bring one fixed stylesheet, allowed by
// its hash; any other style element or attribute with content is still
// refused. And its icons are a font in a data: URL.
// Scripts are as strict as on every page, and the page still connects to
// its own server only: Redoc's attribution logo, which it links from its
// CDN, is refused, so the page never reaches outside.
const apiDocsContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self' " + emptyStyleHash + " " + scrollbarStyleHash + "; " +
	"font-src 'self' data:; " +
	"img-src 'self' data:; " +
	"media-src 'self' blob:; " +
	"connect-src 'self'; " +
	"worker-src 'self' blob:; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'"

// secured adds the security headers every page and asset carries.
func secured(next http.Handler) http.Handler {
	return securedWith(contentSecurityPolicy, next)
}

// securedWith is secured with a page's own Content-Security-Policy.
func securedWith(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
