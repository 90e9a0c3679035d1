package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// maxBody bounds request bodies: 1 MiB, far above any resource or stack.
const maxBody = 1 << 20

// limitBody refuses a request body over maxBody: at once when its length
// is declared, else when reading it reaches the limit.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			a.fail(w, r, &http.MaxBytesError{Limit: maxBody})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// decode reads a JSON request body strictly: unknown fields, trailing data
// and wrong types are errors that say where; a body over maxBody is an
// *http.MaxBytesError (see limitBody). The media type was checked by
// jsonOnly.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var tooLarge *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return bodyError(err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooLarge):
		return tooLarge
	}
	return fmt.Errorf("%w: request body: data after the JSON value", resource.ErrInvalid)
}

// decodeOptional is decode for a body that may be left out: no body, or
// only white space, leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	br := bufio.NewReader(r.Body)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	for {
		b, err := br.Peek(1)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil || !isJSONSpace(b[0]) {
			// decode reads the rest, or meets the same error.
			return decode(r, v)
		}
		_, _ = br.ReadByte()
	}
}

func isJSONSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// bodyError is why a body could not be decoded, an ErrInvalid; when the
// error is about one field (a wrong type), it also holds FieldErrors, so
// that the problem's errors[] names that field.
func bodyError(err error) error {
	msg := "request body: " + describeJSONError(err)
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return &fieldBodyError{msg: msg, fields: resource.FieldErrors{{Path: typ.Field, Message: fmt.Sprintf("expected %s, got %s", typ.Type, typ.Value)}}}
	}
	return fmt.Errorf("%w: %s", resource.ErrInvalid, msg)
}

// fieldBodyError is a decoding error that names its field.
type fieldBodyError struct {
	msg    string
	fields resource.FieldErrors
}

func (e *fieldBodyError) Error() string   { return e.msg }
func (e *fieldBodyError) Unwrap() []error { return []error{resource.ErrInvalid, e.fields} }

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
