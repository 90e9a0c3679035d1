package signing

import (
	"errors"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
)

// WriteRefusal answers a refused request with 403 problem+json whose detail
// says which condition failed. Refusals are never cached: another viewer
// with a valid signature must not get them.
func WriteRefusal(w http.ResponseWriter, r *http.Request, err error) {
	detail := "the request is not signed for this resource"
	var e *Error
	if errors.As(err, &e) {
		detail = e.Error()
	}
	// Players on other sites must be able to read why.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	problem.Send(w, r, problem.SignatureRefused, detail, 0)
}

// Require wraps next so that only requests with a valid signature reach
// it. CORS preflights (OPTIONS) pass: browsers send them without cookies or
// the page's query, so they cannot be signed.
func (v *Verifier) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if err := v.Verify(r); err != nil {
			WriteRefusal(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
