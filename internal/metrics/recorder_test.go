package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestRecorderPassesFileCopiesOn checks that a body copied from a file
// (which net/http sends with sendfile) reaches the client whole and is
// counted, through a real connection and through a writer without
// ReadFrom.
func TestRecorderPassesFileCopiesOn(t *testing.T) {
	body := bytes.Repeat([]byte("sluice "), 20000)
	p := filepath.Join(t.TempDir(), "segment")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	counted := make(chan int64, 1)
	handler := func(w http.ResponseWriter, _ *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		f, err := os.Open(p) //nolint:gosec // the test's own file
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = f.Close() }()
		rec.Header().Set("Content-Length", "140000")
		if _, err := io.Copy(rec, f); err != nil {
			t.Error(err)
		}
		counted <- rec.bytes
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if n := <-counted; !bytes.Equal(got, body) || n != int64(len(body)) {
		t.Fatalf("over a connection: %d bytes received, %d counted, want %d", len(got), n, len(body))
	}
	w := httptest.NewRecorder()
	handler(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if n := <-counted; !bytes.Equal(w.Body.Bytes(), body) || n != int64(len(body)) {
		t.Fatalf("without ReadFrom: %d bytes written, %d counted", w.Body.Len(), n)
	}
}
