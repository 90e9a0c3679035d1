// Package contract holds the API's answers to api/openapi.yaml: a
// validator built from the document, and an HTTP transport that checks
// every request to /api/v1/ and its answer with it, so that a test whose
// request meets an undocumented route, status or body fails where it
// happens.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	spec "github.com/sluice-video/sluice/api"
	"github.com/sluice-video/sluice/internal/problem"
)

// Prefix is the path prefix of the API's routes: only requests under it
// are held to the document.
const Prefix = "/api/v1/"

// Validator checks requests and responses against api/openapi.yaml.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// Load reads and validates api/openapi.yaml and builds its validator.
func Load() (*Validator, error) {
	return LoadData(spec.OpenAPI)
}

// LoadData is Load for another document (a test's broken copy).
func LoadData(data []byte) (*Validator, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml does not load: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not valid: %w", err)
	}
	// Routes are matched on their paths alone: the test servers listen on
	// other addresses than the document's example server.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: routes: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// Doc is the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Exchange is one request and its response, bodies read.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	// Body is the response body; nil for the answer of a streaming route
	// (see StreamingRoute), whose status and headers alone are checked.
	Body []byte
}

// Streaming reports whether a response of this Content-Type is a stream
// (server-sent events, frames), which is never read whole.
func Streaming(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "text/event-stream", "application/x-sluice-frames", "multipart/x-mixed-replace":
		return true
	}
	return false
}

// StreamingRoute reports whether the request's operation answers with a
// stream (server-sent events, frames): one whose 200 answer documents
// only stream media types. Its answers are checked by status and headers.
func (v *Validator) StreamingRoute(req *http.Request) bool {
	route, _, err := v.router.FindRoute(req)
	if err != nil {
		return false
	}
	ok := route.Operation.Responses.Status(http.StatusOK)
	if ok == nil || ok.Value == nil || len(ok.Value.Content) == 0 {
		return false
	}
	for mt := range ok.Value.Content {
		if !Streaming(mt) {
			return false
		}
	}
	return true
}

// Check returns why an exchange does not match the document, or nil: a
// route the document lacks (unless the server, too, says there is no such
// operation), a request the server accepted though the document refuses
// it, an undocumented status, header or Content-Type, a body that does not
// match its schema, or an error answer that is not a problem document of
// a known type.
func (v *Validator) Check(ctx context.Context, x Exchange) error {
	op := x.Request.Method + " " + x.Request.URL.Path
	req := x.Request.Clone(ctx)
	req.Body = http.NoBody
	if x.RequestBody != nil {
		req.Body = readCloser(x.RequestBody)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if x.Status == http.StatusNotFound && problemType(x) == problem.UnknownOperation.URI() {
			return nil
		}
		return fmt.Errorf("%s: the server answered %d, but api/openapi.yaml has no such operation (%w)", op, x.Status, err)
	}
	reqOpts := &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		MultiError:          true,
		SkipSettingDefaults: true,
	}
	reqOpts.WithCustomSchemaErrorFunc(schemaError)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: reqOpts}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.Status < 300 {
		errs = append(errs, fmt.Errorf("the server answered %d to a request api/openapi.yaml refuses: %w", x.Status, err))
	}
	streaming := x.Body == nil
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			ExcludeResponseBody:   streaming,
		},
	}
	out.Options.WithCustomSchemaErrorFunc(schemaError)
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("the %d answer does not match api/openapi.yaml: %w", x.Status, err))
	} else if streaming {
		if err := documentedType(route.Operation, x); err != nil {
			errs = append(errs, err)
		}
	}
	if x.Status >= 400 {
		if err := isProblem(x); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// schemaError says where a value breaks its schema and why, in one line
// (the default message also prints the whole schema and value).
func schemaError(err *openapi3.SchemaError) string {
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

// documentedType checks a stream's Content-Type, which ValidateResponse
// leaves alone when it does not read the body.
func documentedType(op *openapi3.Operation, x Exchange) error {
	resp := op.Responses.Status(x.Status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	if resp.Value.Content.Get(x.Header.Get("Content-Type")) == nil {
		return fmt.Errorf("the %d answer's Content-Type %q is not documented", x.Status, x.Header.Get("Content-Type"))
	}
	return nil
}

// isProblem checks that an error answer is a problem document whose type
// is one docs/api.md describes.
func isProblem(x Exchange) error {
	mt, _, _ := mime.ParseMediaType(x.Header.Get("Content-Type"))
	if mt != problem.ContentType {
		return fmt.Errorf("the %d answer is %q, not %s", x.Status, x.Header.Get("Content-Type"), problem.ContentType)
	}
	if x.Request.Method == http.MethodHead {
		return nil
	}
	var d problem.Details
	if err := json.Unmarshal(x.Body, &d); err != nil {
		return fmt.Errorf("the %d answer is not a problem document: %w", x.Status, err)
	}
	for _, t := range problem.Types() {
		if d.Type == t.URI() {
			if d.Status != x.Status || d.Detail == "" {
				return fmt.Errorf("the %d problem has status %d and detail %q: it needs its own status and a detail", x.Status, d.Status, d.Detail)
			}
			return nil
		}
	}
	return fmt.Errorf("the %d problem's type %q is not one of the documented problem types", x.Status, d.Type)
}

// problemType is the type of a problem answer, or "".
func problemType(x Exchange) string {
	if !strings.HasPrefix(x.Header.Get("Content-Type"), problem.ContentType) {
		return ""
	}
	var d problem.Details
	if json.Unmarshal(x.Body, &d) != nil {
		return ""
	}
	return d.Type
}

func readCloser(b []byte) *bodyReader { return &bodyReader{bytes.NewReader(b)} }

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }
