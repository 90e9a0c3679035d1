package auth

import "context"

// Kind says how a caller proved who it is.
type Kind string

// The kinds of callers.
const (
	// KindSession is a user logged in with a session cookie.
	KindSession Kind = "user"
	// KindToken is a machine with an API token: the server's --token
	// (named "token") or a named token.
	KindToken Kind = "token"
	// KindLocal is a caller of a server that listens on loopback only
	// and has no token: trusted as an admin, as it always was.
	KindLocal Kind = "local"
	// KindAnonymous is a caller that proved nothing.
	KindAnonymous Kind = "anonymous"
	// KindCLI is the command line working on the store directly.
	KindCLI Kind = "cli"
)

// Principal is the caller of a request: who, how proved, with what role.
type Principal struct {
	Kind Kind
	// Name is the user's or the token's name ("" for local and
	// anonymous callers).
	Name string
	Role Role
	// Session is the caller's login (KindSession only).
	Session *Session
}

// Actor is how the audit log and the logs name the caller.
func (p Principal) Actor() string {
	if p.Name != "" {
		return p.Name
	}
	return string(p.Kind)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller the API's authentication put in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
