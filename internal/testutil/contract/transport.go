package contract

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// Reporter is where mismatches go: a test's *testing.T.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Transport is an http.RoundTripper that sends each request with next and
// checks every exchange under Prefix against the document, reporting a
// mismatch as an error of the test. Streams are checked by status and
// headers as soon as they start and passed on unread.
type Transport struct {
	V    *Validator
	T    Reporter
	Next http.RoundTripper
}

// NewTransport loads the document and wraps next (nil: the default
// transport), failing the test at once if the document does not load.
func NewTransport(t interface {
	Reporter
	Fatalf(format string, args ...any)
}, next http.RoundTripper,
) *Transport {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatalf("%v", err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &Transport{V: v, T: t, Next: next}
}

// RoundTrip sends the request and checks the exchange.
func (tr *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, Prefix) {
		return tr.Next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := tr.Next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	x := Exchange{Request: req, RequestBody: reqBody, Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode >= 300 || !tr.V.StreamingRoute(req) {
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		x.Body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := tr.V.Check(context.WithoutCancel(req.Context()), x); err != nil {
		tr.T.Helper()
		tr.T.Errorf("API contract: %v", err)
	}
	return resp, nil
}
