package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluice-video/sluice/internal/auth"
)

// userRequest is the body of POST /api/v1/users and of the role and
// password routes (each reads what it needs).
type userRequest struct {
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password"`
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	if a.haveAuth(w, r) {
		v, err := a.cfg.Auth.Users(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) addUser(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var req userRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	noteName(r, req.Name)
	u, err := a.cfg.Auth.AddUser(r.Context(), req.Name, req.Role, req.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(u.Name))
	a.reply(w, r, http.StatusCreated, u)
}

func (a *API) setUserRole(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var req struct {
		Role auth.Role `json:"role"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.cfg.Auth.SetRole(r.Context(), r.PathValue("name"), req.Role)
	answer(a, w, r, http.StatusOK, u, err)
}

func (a *API) setUserPassword(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.cfg.Auth.SetPassword(r.Context(), r.PathValue("name"), req.Password); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeUser(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	if err := a.cfg.Auth.RemoveUser(r.Context(), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// newToken is a token as POST /api/v1/tokens answers it: the only time
// the token itself is shown.
type newToken struct {
	auth.Token
	Secret string `json:"token"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	if a.haveAuth(w, r) {
		v, err := a.cfg.Auth.Tokens(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) addToken(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var req struct {
		Name string    `json:"name"`
		Role auth.Role `json:"role"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	noteName(r, req.Name)
	secret, t, err := a.cfg.Auth.AddToken(r.Context(), req.Name, req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+url.PathEscape(t.Name))
	a.reply(w, r, http.StatusCreated, newToken{Token: t, Secret: secret})
}

func (a *API) removeToken(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	if err := a.cfg.Auth.RemoveToken(r.Context(), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func itoa(n int) string { return strconv.Itoa(n) }
