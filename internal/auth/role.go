// Package auth is who may do what on a Sluice server: users with roles and
// argon2id password hashes, named API tokens with roles, server-side login
// sessions with CSRF tokens, the back-off that slows down password
// guessing, and the audit log of changes. The API decides which role each
// route needs (internal/api); this package says who a caller is.
package auth

import (
	"fmt"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// Role is what a user or a token may do. Each role may do everything the
// roles below it may.
type Role string

// The roles, from the least to the most trusted. RoleNone is no role: a
// caller that has not proved who it is, on a server that requires it.
const (
	RoleNone     Role = ""
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
)

// Roles lists the roles a user or token may have, least trusted first.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleAdmin} }

// rank orders the roles.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether a caller with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() }

// ParseRole reads a role's name; anything but the three roles is invalid.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return RoleNone, fmt.Errorf("%w: role %q: use viewer, operator or admin", resource.ErrInvalid, s)
	}
	return r, nil
}

// checkName checks the name of a user or a token: 1 to 64 characters of
// letters, digits, '.', '_', '-' and '@', starting with a letter or digit,
// so that it reads unambiguously in logs, the audit log and URLs.
func checkName(what, name string) error {
	ok := name != "" && len(name) <= 64
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", c)) {
			ok = false
		}
	}
	if !ok {
		return resource.FieldErrors{{Path: "name", Message: fmt.Sprintf("%s name %q: 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit", what, name)}}
	}
	return nil
}
