package api

import (
	"net/http"
	"net/url"

	"github.com/sluice-video/sluice/internal/auth"
)

// CSRFField is the form field that carries the session's CSRF token on a
// console page's form (the X-CSRF-Token header does for scripts).
const CSRFField = "csrf"

// Console guards a page of the console. The page needs a login, whatever
// the server's other callers may do: without one (or with one that has
// ended) a GET is sent to /login?next=<the page>, and anything else gets
// 401; a login whose role is below need gets 403 of type role
// (problem.Role). A POST, PUT or DELETE must come from this site
// (the Origin check of the API) and carry the session's CSRF token in the
// form field "csrf" or the X-CSRF-Token header. The page finds the user,
// their role and CSRF token with auth.PrincipalFrom(r.Context()).
func (a *API) Console(need auth.Role, page http.Handler) http.Handler {
	return a.sameOrigin(a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r)
		if c.Kind != auth.KindSession {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			a.fail(w, r, &unauthorizedError{detail: "this console page needs a login: log in at /login"})
			return
		}
		if !c.Role.Allows(need) {
			a.fail(w, r, c.refusal(r, need))
			return
		}
		if !safeMethod(r.Method) {
			sent := r.Header.Get(CSRFHeader)
			if sent == "" {
				r.Body = http.MaxBytesReader(w, r.Body, maxBody)
				sent = r.PostFormValue(CSRFField)
			}
			if !validCSRF(sent, c.Session) {
				a.fail(w, r, &csrfError{})
				return
			}
		}
		page.ServeHTTP(w, r)
	})))
}

// ChangeGuard is the same-site check of the API's changes, for a form
// that needs no login (the login page's).
func (a *API) ChangeGuard(next http.Handler) http.Handler { return a.sameOrigin(next) }

// Allows reports whether role may call the route method path (a pattern
// of Routes, such as "/api/v1/channels/{ref}/start"): the console shows
// only the actions the caller's role may take, by the same table the API
// enforces.
func Allows(role auth.Role, method, path string) bool {
	return role.Allows(requiredRole(method, path))
}

// Readable is v as the caller of r may read it: secrets hidden from
// callers who may not see them, as the API's answers hide them.
func (a *API) Readable(r *http.Request, v any) (any, error) { return a.forReader(r, v) }
