package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorize requires the API token on requests that change state.
func (a *API) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Token == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		sent, valid := a.bearer(r)
		if !valid {
			detail := "this operation needs the API token: send Authorization: Bearer <token>"
			if sent {
				detail = "the API token is wrong"
			}
			a.fail(w, r, &unauthorizedError{detail: detail, presented: sent})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer reports whether the request carries an Authorization bearer
// token and whether it is the API token (never, on a server without one).
func (a *API) bearer(r *http.Request) (sent, valid bool) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false, false
	}
	return true, a.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.cfg.Token)) == 1
}

// seesSecrets reports whether the caller may read secrets (the fields
// package secret hides, and what quotes them): anyone when the server has
// no token (it listens on loopback only), otherwise only callers
// presenting the token.
func (a *API) seesSecrets(r *http.Request) bool {
	if a.cfg.Token == "" {
		return true
	}
	_, valid := a.bearer(r)
	return valid
}
