package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads a JSON request body strictly: unknown fields, trailing data
// and wrong types are errors that say where.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%w: request body must be application/json, not %s", resource.ErrInvalid, ct)
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %s", resource.ErrInvalid, describeJSONError(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: request body: data after the JSON value", resource.ErrInvalid)
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty; a JSON object is required"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s: expected %s, got %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected %s, got %s", typ.Type, typ.Value)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return strings.TrimPrefix(msg, "json: ")
}

// reply writes v as JSON with status, as the caller may read it (see
// forReader). Every JSON answer of the API goes through here, so no
// secret reaches a caller who may not read it, whatever route answers.
func (a *API) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	v, err := a.forReader(r, v)
	if err != nil {
		a.logger.Error("an answer could not be redacted", "method", r.Method, "path", r.URL.Path, "error", err)
		problem.Write(w, r, http.StatusServiceUnavailable, "the server could not prepare the answer; try again", 0)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// answer writes v, or the error.
func answer[T any](a *API, w http.ResponseWriter, r *http.Request, status int, v T, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, status, v)
}
