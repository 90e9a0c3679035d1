package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

// Refusals of the HTTP layer, before any resource is looked at.
var (
	// errCrossOrigin: a change sent from a web page of another site.
	errCrossOrigin = errors.New("cross-origin request refused")
	// errMediaType: a change without Content-Type: application/json.
	errMediaType = errors.New("unsupported media type")
)

// fail maps an error to its problem type (and so its HTTP status), in one
// place, and writes the problem.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		fields    resource.FieldErrors
		tooLarge  *http.MaxBytesError
		unauth    *unauthorizedError
		forbidden *forbiddenError
		refused   *signing.Error
		limited   *limitError
		backoff   *auth.BackoffError
		role      *roleError
		csrf      *csrfError
	)
	switch {
	case errors.As(err, &role):
		problem.Send(w, r, problem.Role, err.Error(), 0)
	case errors.As(err, &csrf):
		problem.Send(w, r, problem.CSRF, err.Error(), 0)
	case errors.As(err, &backoff):
		w.Header().Set("Retry-After", retryAfter(backoff.RetryAfter))
		problem.Send(w, r, problem.LoginBackoff, err.Error(), 0)
	case errors.Is(err, auth.ErrBadCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		problem.Send(w, r, problem.LoginFailed, err.Error(), 0)
	case errors.As(err, &tooLarge):
		problem.Send(w, r, problem.BodyTooLarge, fmt.Sprintf("request body too large (limit %s)", sizeOf(tooLarge.Limit)), 0)
	case errors.Is(err, errCrossOrigin):
		problem.Send(w, r, problem.CrossOrigin, err.Error(), 0)
	case errors.Is(err, errMediaType):
		problem.Send(w, r, problem.UnsupportedMediaType, err.Error(), 0)
	case errors.As(err, &unauth):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		problem.Send(w, r, problem.Unauthorized, unauth.detail, 0)
	case errors.As(err, &refused):
		// Says which condition of the signature failed, never the key.
		problem.Send(w, r, problem.SignatureRefused, refused.Error(), 0)
	case errors.As(err, &forbidden):
		problem.Send(w, r, problem.Forbidden, forbidden.detail, 0)
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.retryAfter.Seconds())))
		problem.Send(w, r, problem.TooManyStreams, limited.detail, 0)
	case errors.As(err, &fields):
		out := make([]problem.FieldError, len(fields))
		for i, f := range fields {
			out[i] = problem.FieldError{Path: f.Path, Message: f.Message}
		}
		problem.Send(w, r, problem.Validation, "the request is invalid: "+err.Error(), 0, out...)
	case errors.Is(err, resource.ErrInvalid):
		problem.Send(w, r, problem.Validation, err.Error(), 0)
	case errors.Is(err, resource.ErrNotFound):
		problem.Send(w, r, problem.NotFound, err.Error(), 0)
	case errors.Is(err, resource.ErrConflict):
		problem.Send(w, r, problem.Conflict, err.Error(), 0)
	case errors.Is(err, resource.ErrUnavailable):
		// Nothing was changed; the same request may work once the state
		// database answers again.
		a.logger.Warn("request refused", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "5")
		problem.Send(w, r, problem.Unavailable, err.Error(), 0)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		problem.Send(w, r, problem.Unavailable, "the server did not finish in time: "+err.Error(), 0)
	default:
		a.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		problem.Send(w, r, problem.Internal, "internal error; the server log has the details", 0)
	}
}

func (a *API) unknownRoute(w http.ResponseWriter, r *http.Request) {
	problem.Send(w, r, problem.UnknownOperation, "no such API operation: "+r.Method+" "+r.URL.Path+" (see /api/v1/openapi.yaml)", 0)
}

// sizeOf writes a byte count as people read it: "1 MiB", "512 KiB".
func sizeOf(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
