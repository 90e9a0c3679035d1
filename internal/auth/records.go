package auth

import (
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// User is a person who logs in. PasswordHash is never part of an answer.
type User struct {
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Token is a named API token for a machine. Only the SHA-256 of the token
// is kept (Hash); the token itself is shown once, when it is made.
type Token struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"createdAt"`
}

// Session is a login. ID is the SHA-256 of the cookie's value, so the
// store never holds what a browser presents; Role is the user's role as
// it is now, read with the session.
type Session struct {
	ID        string
	User      string
	Role      Role
	CSRF      string
	Address   string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}

// AuditEntry is one change, or attempt at one, in the audit log: who
// (a user, a token, a local caller), what (method, route, the resource's
// kind and name, the answer's status), when and from where.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorKind Kind      `json:"actorKind"`
	Method    string    `json:"method"`
	Route     string    `json:"route"`
	Kind      string    `json:"kind,omitempty"`
	Name      string    `json:"name,omitempty"`
	Status    int       `json:"status"`
	Address   string    `json:"address"`
}

// AuditQuery selects audit entries, newest first: Before pages back (the
// Seq of the last entry of the previous page), the others filter.
type AuditQuery struct {
	Actor  string
	Kind   string
	Since  time.Time
	Until  time.Time
	Before int64
	Limit  int
}

func fieldError(path, msg string) error {
	return resource.FieldErrors{{Path: path, Message: msg}}
}
