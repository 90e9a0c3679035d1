package api

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluice-video/sluice/internal/resource"
)

// FuzzSilenceRequest feeds the bodies of POST /api/v1/alarms/{ref}/silence
// to the decoding and checking the route does: whatever the bytes, it
// answers a silence that ends after now and at most 90 days later, with a
// one-line comment, or an invalid request.
func FuzzSilenceRequest(f *testing.F) {
	for _, seed := range []string{
		`{"durationSeconds":3600,"comment":"maintenance"}`,
		`{"until":"2026-11-22T12:00:00Z"}`,
		`{"until":"2026-11-22T12:00:00+14:00","comment":"é"}`,
		`{"durationSeconds":7776000}`,
		`{"durationSeconds":1e3}`,
		`{"until":"9999-12-31T23:59:59Z"}`,
		`{"comment":"\u0000"}`,
		``, ` `, `{}`, `[]`, `{"x":1}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req resource.SilenceRequest
		r := httptest.NewRequest("POST", "/api/v1/alarms/a/silence", bytes.NewReader(body))
		if err := decode(r, &req); err != nil {
			if !errors.Is(err, resource.ErrInvalid) {
				t.Fatalf("a body that does not decode is not an invalid request: %v", err)
			}
			return
		}
		end, err := req.End(now)
		if err != nil {
			if !errors.Is(err, resource.ErrInvalid) {
				t.Fatalf("a refused silence is not an invalid request: %v", err)
			}
			return
		}
		if !end.After(now) || end.Sub(now) > resource.MaxSilence {
			t.Fatalf("silence until %v, seen at %v", end, now)
		}
		if !utf8.ValidString(req.Comment) || utf8.RuneCountInString(req.Comment) > resource.MaxAlarmComment {
			t.Fatalf("comment %q taken", req.Comment)
		}
		// The optional bodies of the other two routes decode the same.
		var ack resource.AcknowledgeRequest
		r = httptest.NewRequest("POST", "/api/v1/alarms/a/acknowledge", bytes.NewReader(body))
		if err := decodeOptional(r, &ack); err != nil && !errors.Is(err, resource.ErrInvalid) {
			t.Fatalf("an acknowledgement's body: %v", err)
		}
	})
}
