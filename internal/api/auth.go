package api

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/auth"
)

// seesSecrets reports whether the caller may read secrets (the fields
// package secret hides, and what quotes them): admins only, which every
// caller of a server without a token is (it listens on loopback only).
// Operators see them hidden like viewers: they run channels and jobs,
// and need none of the credentials, webhook secrets and keys secrets are.
func (a *API) seesSecrets(r *http.Request) bool {
	return callerOf(r).Role == auth.RoleAdmin
}

// authenticated reports whether the caller proved who it is (a token or
// a login), rather than being trusted for where it calls from.
func authenticated(r *http.Request) bool {
	k := callerOf(r).Kind
	return k == auth.KindToken || k == auth.KindSession
}
