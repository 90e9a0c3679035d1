package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/problem"
)

// Auth is what the API needs of users, tokens, sessions and the audit
// log (auth.Service).
type Auth interface {
	TokenPrincipal(ctx context.Context, bearer string) (auth.Principal, bool, error)
	SessionPrincipal(ctx context.Context, cookie string) (auth.Principal, bool, error)
	Login(ctx context.Context, name, password, client string) (string, auth.Session, error)
	Logout(ctx context.Context, s *auth.Session) error
	IdleExpiry(s auth.Session) time.Time
	SessionLifetime() time.Duration
	Record(ctx context.Context, e auth.AuditEntry)
	Audit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, error)
	Users(ctx context.Context) ([]auth.User, error)
	AddUser(ctx context.Context, name string, role auth.Role, password string) (auth.User, error)
	SetRole(ctx context.Context, name string, role auth.Role) (auth.User, error)
	SetPassword(ctx context.Context, name, password string) error
	RemoveUser(ctx context.Context, name string) error
	Tokens(ctx context.Context) ([]auth.Token, error)
	AddToken(ctx context.Context, name string, role auth.Role) (string, auth.Token, error)
	RemoveToken(ctx context.Context, name string) error
}

// haveAuth answers 404 when the server keeps no users.
func (a *API) haveAuth(w http.ResponseWriter, r *http.Request) bool {
	if a.cfg.Auth == nil {
		problem.Write(w, r, http.StatusNotFound, "this server keeps no users, tokens or audit log", 0)
		return false
	}
	return true
}

// Whoami is the caller as GET /api/v1/session describes it: the kind of
// caller ("user" for a login, "token", "local"), its name and role, and
// for a login its CSRF token and when it ends.
type Whoami struct {
	Kind          auth.Kind  `json:"kind"`
	Name          string     `json:"name,omitempty"`
	Role          auth.Role  `json:"role"`
	CSRFToken     string     `json:"csrfToken,omitempty"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
	IdleExpiresAt *time.Time `json:"idleExpiresAt,omitempty"`
}

func (a *API) whoami(p auth.Principal) Whoami {
	v := Whoami{Kind: p.Kind, Name: p.Name, Role: p.Role}
	if p.Session != nil && a.cfg.Auth != nil {
		exp, idle := p.Session.ExpiresAt, a.cfg.Auth.IdleExpiry(*p.Session)
		v.CSRFToken, v.ExpiresAt, v.IdleExpiresAt = p.Session.CSRF, &exp, &idle
	}
	return v
}

// getSession answers who the caller is; 401 for a caller who proved
// nothing and is not trusted as a local user.
func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if c.Kind == auth.KindAnonymous {
		a.fail(w, r, c.refusal(r, auth.RoleViewer))
		return
	}
	a.reply(w, r, http.StatusOK, a.whoami(c.Principal))
}

// loginRequest is the body of POST /api/v1/session.
type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// login checks a user's name and password and starts a session: 201 with
// the session's description and its cookie; a session the browser held
// before ends (a new login never reuses a session). Wrong credentials get
// 401, too many failures 429 with Retry-After.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var req loginRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	noteActor(r, auth.BoundName(req.Name))
	p, err := a.StartSession(w, r, req.Name, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusCreated, a.whoami(p))
}

// StartSession logs a user in for a login page or the API: it checks the
// name and password (with the back-off of failed logins), ends the
// session the request carried, if any, and sets the new session's cookie.
// The errors are auth.ErrBadCredentials and *auth.BackoffError, whose
// texts may be shown as they are.
func (a *API) StartSession(w http.ResponseWriter, r *http.Request, name, password string) (auth.Principal, error) {
	if a.cfg.Auth == nil {
		return auth.Principal{}, errors.New("this server keeps no users")
	}
	cookie, sess, err := a.cfg.Auth.Login(r.Context(), name, password, clientOf(r.RemoteAddr))
	if err != nil {
		return auth.Principal{}, err
	}
	if old, err := r.Cookie(SessionCookie); err == nil {
		if p, ok, _ := a.cfg.Auth.SessionPrincipal(r.Context(), old.Value); ok {
			_ = a.cfg.Auth.Logout(r.Context(), p.Session)
		}
	}
	// Secure whenever the browser used TLS; a server on plain HTTP (on
	// loopback, or a test) could not keep a login otherwise.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure follows overTLS
		Name: SessionCookie, Value: cookie, Path: "/", MaxAge: int(a.cfg.Auth.SessionLifetime().Seconds()),
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
	})
	return auth.Principal{Kind: auth.KindSession, Name: sess.User, Role: sess.Role, Session: &sess}, nil
}

// EndSession logs the caller out, if a login, and clears the cookie.
func (a *API) EndSession(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if c.Session != nil && a.cfg.Auth != nil {
		if err := a.cfg.Auth.Logout(r.Context(), c.Session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure follows overTLS, as in StartSession
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// logout ends the caller's session: 204, also when there was none.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.EndSession(w, r); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// overTLS reports whether the browser reached the server over TLS: the
// connection's, or that of a proxy in front that says so. A false claim
// only keeps the cookie from an http page, so the header is believed.
func overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// retryAfter writes a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return itoa(max(1, int(math.Ceil(d.Seconds()))))
}
