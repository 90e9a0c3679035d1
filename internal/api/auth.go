package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/sluice-video/sluice/internal/problem"
)

// authorize requires the API token on requests that change state.
func (a *API) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Token == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.cfg.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
			detail := "this operation needs the API token: send Authorization: Bearer <token>"
			if ok {
				detail = "the API token is wrong"
			}
			problem.Write(w, r, http.StatusUnauthorized, detail, 0)
			return
		}
		next.ServeHTTP(w, r)
	})
}
