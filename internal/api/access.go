package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluice-video/sluice/internal/auth"
)

// Names the console and other browser clients rely on.
const (
	// SessionCookie holds a login's session (HttpOnly, SameSite=Strict,
	// Secure over TLS or behind a proxy that says so).
	SessionCookie = "sluice_session"
	// CSRFHeader carries the session's CSRF token on every change made
	// with the session cookie; GET /api/v1/session tells it.
	CSRFHeader = "X-CSRF-Token"
)

// Role is the role a route needs. It is derived in one place, here:
//
//   - logging in, logging out and asking who one is need no role;
//   - the frames of a channel need no role of the table: frameAccess
//     admits the caller (a login, a token, or a signed URL for the channel);
//   - who may log in, the tokens and the audit log are read by admins only;
//   - the operator's actions: starting, stopping and restarting channels, submitting
//     and cancelling on-demand jobs, uploading their files, harvesting,
//     silencing and acknowledging alarms;
//   - every other read needs viewer, every other change admin (the kinds'
//     create, replace and delete, stacks, keys, signing, users, tokens).
func (rt Route) Role() auth.Role { return requiredRole(rt.Method, rt.Path) }

func requiredRole(method, path string) auth.Role {
	switch method + " " + path {
	case "GET /api/v1/session", "POST /api/v1/session", "DELETE /api/v1/session",
		"GET /api/v1/channels/{ref}/frames":
		return auth.RoleNone
	case "GET /api/v1/users", "GET /api/v1/tokens", "GET /api/v1/audit":
		return auth.RoleAdmin
	case "POST /api/v1/channels/{ref}/start", "POST /api/v1/channels/{ref}/stop", "POST /api/v1/channels/{ref}/restart",
		"POST /api/v1/jobs", "POST /api/v1/jobs/{id}/cancel",
		"POST /api/v1/uploads", "PATCH /api/v1/uploads/{id}",
		"POST /api/v1/harvest-jobs",
		"POST /api/v1/alarms/{ref}/silence", "DELETE /api/v1/alarms/{ref}/silence", "POST /api/v1/alarms/{ref}/acknowledge":
		return auth.RoleOperator
	}
	if safeMethod(method) {
		return auth.RoleViewer
	}
	return auth.RoleAdmin
}

// caller is the principal of a request and what its credentials were.
type caller struct {
	auth.Principal
	// badToken: a bearer token was sent that is no token of this server;
	// staleSession: a session cookie was sent that names no live login.
	badToken, staleSession bool
}

type callerKey struct{}

// callerOf is the caller authenticate found for r (an anonymous one for a
// request that did not pass through it).
func callerOf(r *http.Request) caller {
	c, ok := r.Context().Value(callerKey{}).(caller)
	if !ok {
		return caller{Principal: auth.Principal{Kind: auth.KindAnonymous}}
	}
	return c
}

// authenticate finds who the caller is and puts it in the request's
// context (auth.PrincipalFrom reads it): a bearer token (the server's
// --token is an admin; a named token has its role), else a session
// cookie, else nobody. Nobody is an admin on a server with no token, which
// listens on loopback only and trusts its local users as it always did;
// elsewhere nobody reads as a viewer, or, with RequireLogin, not at all.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.identify(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ctx := auth.WithPrincipal(r.Context(), c.Principal)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callerKey{}, c)))
	})
}

func (a *API) identify(r *http.Request) (caller, error) {
	var c caller
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = strings.TrimSpace(got)
		if a.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.Token)) == 1 {
			return caller{Principal: auth.Principal{Kind: auth.KindToken, Name: "token", Role: auth.RoleAdmin}}, nil
		}
		if a.cfg.Auth != nil {
			p, ok, err := a.cfg.Auth.TokenPrincipal(r.Context(), got)
			if err != nil || ok {
				return caller{Principal: p}, err
			}
		}
		c.badToken = true
	} else if ck, err := r.Cookie(SessionCookie); err == nil && a.cfg.Auth != nil {
		p, ok, err := a.cfg.Auth.SessionPrincipal(r.Context(), ck.Value)
		if err != nil || ok {
			return caller{Principal: p}, err
		}
		c.staleSession = true
	}
	switch {
	case a.cfg.Token == "":
		c.Principal = auth.Principal{Kind: auth.KindLocal, Role: auth.RoleAdmin}
	case a.cfg.RequireLogin:
		c.Principal = auth.Principal{Kind: auth.KindAnonymous, Role: auth.RoleNone}
	default:
		c.Principal = auth.Principal{Kind: auth.KindAnonymous, Role: auth.RoleViewer}
	}
	return c, nil
}

// authorize lets through the callers whose role the route needs: 401 to
// a caller who has proved nothing (or presented a wrong token, or a login
// that ended), 403 to a known caller whose role is too low. A change made
// with the session cookie must carry the session's CSRF token too.
//
// Logging in needs no CSRF token, even from a browser that holds a
// session: it proves itself with the password, and the same-site checks
// keep other sites' pages from logging a browser in.
func (a *API) authorize(rt Route, next http.Handler) http.Handler {
	need, login := rt.Role(), rt.Method == http.MethodPost && rt.Path == "/api/v1/session"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r)
		if !c.Role.Allows(need) {
			a.fail(w, r, c.refusal(r, need))
			return
		}
		if c.Kind == auth.KindSession && !safeMethod(r.Method) && !login && !validCSRF(r.Header.Get(CSRFHeader), c.Session) {
			a.fail(w, r, &csrfError{})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refusal is the error for a caller whose role does not allow need.
func (c caller) refusal(r *http.Request, need auth.Role) error {
	route := r.Method + " " + r.URL.Path
	switch {
	case c.badToken:
		return &unauthorizedError{detail: "the API token is wrong", presented: true}
	case c.staleSession:
		return &unauthorizedError{detail: "the login has ended (expired, idle too long, or logged out): log in again with POST /api/v1/session"}
	case c.Kind == auth.KindAnonymous:
		return &unauthorizedError{detail: fmt.Sprintf("%s needs the role %s: send Authorization: Bearer <token>, or log in with POST /api/v1/session", route, need)}
	}
	return &roleError{who: c.Actor(), kind: c.Kind, has: c.Role, need: need, route: route}
}

// validCSRF compares the token a request sent with its session's, in
// constant time.
func validCSRF(sent string, s *auth.Session) bool {
	return s != nil && sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(s.CSRF)) == 1
}

// roleError refuses a known caller whose role is too low: 403.
type roleError struct {
	who       string
	kind      auth.Kind
	has, need auth.Role
	route     string
}

func (e *roleError) Error() string {
	return fmt.Sprintf("%s needs the role %s; %s %s has the role %s", e.route, e.need, e.kind, e.who, e.has)
}

// csrfError refuses a change made with the session cookie but without
// the session's CSRF token: 403.
type csrfError struct{}

func (*csrfError) Error() string {
	return "a change made with the session cookie needs the session's CSRF token in the " + CSRFHeader + " header (GET /api/v1/session tells it)"
}
