package signing

import "fmt"

// Reason names the condition a signed request failed. The values are stable
// and safe to show to the client: they never carry key material.
type Reason string

// Reasons a signature is refused.
const (
	ReasonMissing      Reason = "missing-signature"
	ReasonMalformed    Reason = "malformed-signature"
	ReasonUnknownKey   Reason = "unknown-key"
	ReasonBadSignature Reason = "bad-signature"
	ReasonExpired      Reason = "expired"
	ReasonNotYetValid  Reason = "not-yet-valid"
	ReasonWrongClient  Reason = "wrong-client"
	ReasonWrongPath    Reason = "wrong-path"
)

// Error is a refused signature: the reason and a detail for the client. It
// matches the sentinel of its reason with errors.Is.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "signed request refused: " + string(e.Reason)
	}
	return "signed request refused: " + string(e.Reason) + ": " + e.Detail
}

// Is reports whether target is the sentinel of the same reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && (t.Detail == "" || t.Detail == e.Detail)
}

// Sentinels, one per reason, for errors.Is.
var (
	ErrMissing      = &Error{Reason: ReasonMissing}
	ErrMalformed    = &Error{Reason: ReasonMalformed}
	ErrUnknownKey   = &Error{Reason: ReasonUnknownKey}
	ErrBadSignature = &Error{Reason: ReasonBadSignature}
	ErrExpired      = &Error{Reason: ReasonExpired}
	ErrNotYetValid  = &Error{Reason: ReasonNotYetValid}
	ErrWrongClient  = &Error{Reason: ReasonWrongClient}
	ErrWrongPath    = &Error{Reason: ReasonWrongPath}
)

func refuse(reason Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
