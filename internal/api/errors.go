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

// fail maps an error to its HTTP status, in one place, and writes a problem.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		fields    resource.FieldErrors
		tooLarge  *http.MaxBytesError
		unauth    *unauthorizedError
		forbidden *forbiddenError
		refused   *signing.Error
		limited   *limitError
	)
	var backoff *auth.BackoffError
	if writeRefusal(w, r, err) {
		return
	}
	switch {
	case errors.As(err, &backoff):
		w.Header().Set("Retry-After", retryAfter(backoff.RetryAfter))
		problem.Write(w, r, http.StatusTooManyRequests, err.Error(), 0)
	case errors.Is(err, auth.ErrBadCredentials):
		problem.Write(w, r, http.StatusUnauthorized, err.Error(), 0)
	case errors.As(err, &tooLarge):
		problem.Write(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large (limit %s)", sizeOf(tooLarge.Limit)), 0)
	case errors.Is(err, errCrossOrigin):
		problem.Write(w, r, http.StatusForbidden, err.Error(), 0)
	case errors.Is(err, errMediaType):
		problem.Write(w, r, http.StatusUnsupportedMediaType, err.Error(), 0)
	case errors.As(err, &unauth):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		problem.Write(w, r, http.StatusUnauthorized, unauth.detail, 0)
	case errors.As(err, &refused):
		// Says which condition of the signature failed, never the key.
		problem.Write(w, r, http.StatusForbidden, refused.Error(), 0)
	case errors.As(err, &forbidden):
		problem.Write(w, r, http.StatusForbidden, forbidden.detail, 0)
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.retryAfter.Seconds())))
		problem.Write(w, r, http.StatusTooManyRequests, limited.detail, 0)
	case errors.As(err, &fields):
		out := make([]problem.FieldError, len(fields))
		for i, f := range fields {
			out[i] = problem.FieldError{Path: f.Path, Message: f.Message}
		}
		problem.Write(w, r, http.StatusBadRequest, "the request is invalid: "+err.Error(), 0, out...)
	case errors.Is(err, resource.ErrInvalid):
		problem.Write(w, r, http.StatusBadRequest, err.Error(), 0)
	case errors.Is(err, resource.ErrNotFound):
		problem.Write(w, r, http.StatusNotFound, err.Error(), 0)
	case errors.Is(err, resource.ErrConflict):
		problem.Write(w, r, http.StatusConflict, err.Error(), 0)
	case errors.Is(err, resource.ErrUnavailable):
		// Nothing was changed; the same request may work once the state
		// database answers again.
		a.logger.Warn("request refused", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "5")
		problem.Write(w, r, http.StatusServiceUnavailable, err.Error(), 0)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		problem.Write(w, r, http.StatusServiceUnavailable, "the server did not finish in time: "+err.Error(), 0)
	default:
		a.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		problem.Write(w, r, http.StatusInternalServerError, "internal error; the server log has the details", 0)
	}
}

func (a *API) unknownRoute(w http.ResponseWriter, r *http.Request) {
	problem.Write(w, r, http.StatusNotFound, "no such API operation: "+r.Method+" "+r.URL.Path+" (see /api/v1/openapi.yaml)", 0)
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
