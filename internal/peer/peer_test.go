package peer

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

type secrets map[string][]byte

func (s secrets) KeepSecret(_ context.Context, name string, value []byte) ([]byte, error) {
	if v, ok := s[name]; ok {
		return v, nil
	}
	s[name] = value
	return value, nil
}

func TestSignedRequestsVerify(t *testing.T) {
	store := secrets{}
	a, err := LoadKey(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKey(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://node-a:8080/live/news/hls/index.m3u8?_HLS_msn=3", nil)
	if _, err := b.Verify(r); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned request: %v", err)
	}
	a.Sign(r, "node-b")
	if node, err := b.Verify(r); err != nil || node != "node-b" {
		t.Fatalf("a node of the same database: %q %v", node, err)
	}
	// Another path or query under the same signature is refused.
	r2 := httptest.NewRequest("GET", "http://node-a:8080/live/news/hls/index.m3u8?_HLS_msn=4", nil)
	r2.Header = r.Header.Clone()
	if _, err := b.Verify(r2); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another query: %v", err)
	}
	// A key of another cluster is refused.
	other := NewKey([]byte("another cluster's key, 32 bytes!"), nil)
	if _, err := other.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another cluster: %v", err)
	}
	// An old signature is refused.
	late := NewKey(store[SecretName], func() time.Time { return time.Now().Add(MaxSkew + time.Minute) })
	if _, err := late.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a stale signature: %v", err)
	}
	Strip(r.Header)
	if _, err := b.Verify(r); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("stripped: %v", err)
	}
}
