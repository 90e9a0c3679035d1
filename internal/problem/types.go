package problem

import "net/http"

// Type is a kind of problem. Its URI (TypeBase followed by the name) is the
// "type" member of every problem of that kind, the one a client branches
// on; docs/api.md describes each, and a test holds that list to this one.
type Type string

// TypeBase prefixes every type's name to make its URI.
const TypeBase = "https://sluice.dev/problems/"

// The problem types. Each has one status and one title.
const (
	// Validation: the request is malformed or a value is invalid; errors[]
	// names each field that is wrong.
	Validation Type = "validation"
	// Unauthorized: the request lacks the credentials it needs, or they are
	// wrong.
	Unauthorized Type = "unauthorized"
	// LoginFailed: a login's user name or password is wrong.
	LoginFailed Type = "login-failed"
	// Forbidden: no credentials could admit the request here.
	Forbidden Type = "forbidden"
	// Role: the caller is known, but its role is too low for the route.
	Role Type = "role"
	// CSRF: a change made with a login's session cookie lacks the
	// session's CSRF token, or sends another.
	CSRF Type = "csrf"
	// CrossOrigin: a change sent from a web page of another site.
	CrossOrigin Type = "cross-origin"
	// HostRefused: a request addressed to a host name a server without a
	// token does not answer for.
	HostRefused Type = "host-refused"
	// SignatureRefused: a signed URL or cookie failed a condition.
	SignatureRefused Type = "signature-refused"
	// NotFound: no such resource, or the server does not run that part.
	NotFound Type = "not-found"
	// UnknownOperation: no API operation has that method and path.
	UnknownOperation Type = "unknown-operation"
	// MethodNotAllowed: the path is served, but not with that method.
	MethodNotAllowed Type = "method-not-allowed"
	// Conflict: the request clashes with the current state.
	Conflict Type = "conflict"
	// BodyTooLarge: the request body is over the limit.
	BodyTooLarge Type = "body-too-large"
	// UnsupportedMediaType: a change without Content-Type: application/json.
	UnsupportedMediaType Type = "unsupported-media-type"
	// TooManyStreams: a cap on streams served at once is reached.
	TooManyStreams Type = "too-many-streams"
	// LoginBackoff: too many failed logins from the client's address or
	// for the user name; Retry-After says when to try again.
	LoginBackoff Type = "login-backoff"
	// Internal: the server failed; its log has the details.
	Internal Type = "internal"
	// UpstreamFailed: an origin or a storage the server relies on failed.
	UpstreamFailed Type = "upstream-failed"
	// Unavailable: the server could not answer now; try again.
	Unavailable Type = "unavailable"
	// UpstreamTimeout: no origin answered in time.
	UpstreamTimeout Type = "upstream-timeout"
)

// Types lists every problem type, for documentation and its tests.
func Types() []Type {
	return []Type{
		Validation, Unauthorized, LoginFailed, Forbidden, Role, CSRF, CrossOrigin, HostRefused, SignatureRefused,
		NotFound, UnknownOperation, MethodNotAllowed, Conflict, BodyTooLarge,
		UnsupportedMediaType, TooManyStreams, LoginBackoff, Internal, UpstreamFailed, Unavailable, UpstreamTimeout,
	}
}

// URI is the type's "type" member.
func (t Type) URI() string { return TypeBase + string(t) }

// Status is the HTTP status problems of the type answer with.
func (t Type) Status() int {
	switch t {
	case Validation:
		return http.StatusBadRequest
	case Unauthorized, LoginFailed:
		return http.StatusUnauthorized
	case Forbidden, Role, CSRF, CrossOrigin, HostRefused, SignatureRefused:
		return http.StatusForbidden
	case NotFound, UnknownOperation:
		return http.StatusNotFound
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Conflict:
		return http.StatusConflict
	case BodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case TooManyStreams, LoginBackoff:
		return http.StatusTooManyRequests
	case UpstreamFailed:
		return http.StatusBadGateway
	case Unavailable:
		return http.StatusServiceUnavailable
	case UpstreamTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// Title is the short, fixed summary of the type (RFC 9457 "title").
func (t Type) Title() string {
	switch t {
	case Validation:
		return "Invalid request"
	case Unauthorized:
		return "Credentials needed"
	case LoginFailed:
		return "Wrong user name or password"
	case Forbidden:
		return "Forbidden"
	case Role:
		return "Role too low"
	case CSRF:
		return "CSRF token missing or wrong"
	case CrossOrigin:
		return "Cross-site request refused"
	case HostRefused:
		return "Host name refused"
	case SignatureRefused:
		return "Signature refused"
	case NotFound:
		return "Not found"
	case UnknownOperation:
		return "No such operation"
	case MethodNotAllowed:
		return "Method not allowed"
	case Conflict:
		return "Conflict with the current state"
	case BodyTooLarge:
		return "Request body too large"
	case UnsupportedMediaType:
		return "JSON required"
	case TooManyStreams:
		return "Too many streams"
	case LoginBackoff:
		return "Too many failed logins"
	case UpstreamFailed:
		return "Upstream failed"
	case Unavailable:
		return "Unavailable"
	case UpstreamTimeout:
		return "Upstream timed out"
	}
	return "Internal error"
}

// ForStatus is the type of a problem known only by its status: the
// general type of that status, or "" for a status without one (such a
// problem's type is about:blank, as RFC 9457 says).
func ForStatus(status int) Type {
	switch status {
	case http.StatusBadRequest:
		return Validation
	case http.StatusUnauthorized:
		return Unauthorized
	case http.StatusForbidden:
		return Forbidden
	case http.StatusNotFound:
		return NotFound
	case http.StatusMethodNotAllowed:
		return MethodNotAllowed
	case http.StatusConflict:
		return Conflict
	case http.StatusRequestEntityTooLarge:
		return BodyTooLarge
	case http.StatusUnsupportedMediaType:
		return UnsupportedMediaType
	case http.StatusTooManyRequests:
		return TooManyStreams
	case http.StatusInternalServerError:
		return Internal
	case http.StatusBadGateway:
		return UpstreamFailed
	case http.StatusServiceUnavailable:
		return Unavailable
	case http.StatusGatewayTimeout:
		return UpstreamTimeout
	}
	return ""
}
