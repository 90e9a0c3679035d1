package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/auth"
)

// Sessions starts and ends logins for the login page (api.API does).
type Sessions interface {
	// StartSession checks the name and password and sets the session
	// cookie; its errors are auth.ErrBadCredentials and
	// *auth.BackoffError.
	StartSession(w http.ResponseWriter, r *http.Request, name, password string) (auth.Principal, error)
	// EndSession logs the caller out and clears the cookie.
	EndSession(w http.ResponseWriter, r *http.Request) error
}

// loginPage is the data of the login page.
type loginPage struct {
	Error, Name, Next string
}

// maxLoginForm bounds the login form's body.
const maxLoginForm = 8 << 10

// RegisterLogin adds the login page (GET and POST /login) to mux. The
// form posts back to /login: a browser without scripts logs in too, and
// the page needs nothing the strict Content-Security-Policy forbids.
// guard wraps the POST with the same-site check of changes. A login
// sends the browser to next, a path of this server, or /.
//
// POST /logout ends the login; console wraps it with the console's guard
// (a login and its CSRF token in the form field "csrf"), so another
// site's page cannot log the user out.
func (p *Pages) RegisterLogin(mux *http.ServeMux, s Sessions, guard, console func(http.Handler) http.Handler) {
	mux.Handle("GET /login", secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusOK, p.views.login, loginPage{Next: localPath(r.URL.Query().Get("next"))})
	})))
	mux.Handle("POST /logout", secured(console(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.EndSession(w, r); err != nil {
			p.logger.Error("a logout failed", "error", err)
			p.renderMessage(w, r, http.StatusServiceUnavailable, "Log out", "The server could not end the login; try again.")
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))))
	mux.Handle("POST /login", secured(guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
		if err := r.ParseForm(); err != nil {
			p.renderMessage(w, r, http.StatusBadRequest, "Log in", "The login form could not be read.")
			return
		}
		name, next := r.PostForm.Get("name"), localPath(r.PostForm.Get("next"))
		_, err := s.StartSession(w, r, name, r.PostForm.Get("password"))
		var backoff *auth.BackoffError
		switch {
		case err == nil:
			http.Redirect(w, r, next, http.StatusSeeOther) //nolint:gosec // localPath keeps next on this server
		case errors.As(err, &backoff):
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(backoff.RetryAfter.Seconds())))))
			p.render(w, r, http.StatusTooManyRequests, p.views.login, loginPage{Error: err.Error() + ".", Name: name, Next: next})
		case errors.Is(err, auth.ErrBadCredentials):
			p.render(w, r, http.StatusUnauthorized, p.views.login, loginPage{Error: "Wrong user name or password.", Name: name, Next: next})
		case errors.Is(err, context.Canceled):
		default:
			p.logger.Error("a login failed", "error", err)
			p.renderMessage(w, r, http.StatusServiceUnavailable, "Log in", "The server could not check the login; try again.")
		}
	}))))
}

// localPath is next when it is a path of this server, else "/": a login
// never sends the browser to another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return "/"
	}
	return next
}
