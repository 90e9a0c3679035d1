package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRelayPassesRangesThrough(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "clip.mp4", time.Unix(0, 0), bytes.NewReader(body))
	}))
	defer up.Close()
	p, _ := New(Config{LoopbackOnly: true})
	r, err := NewRelay(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	f, err := r.Open(up.URL + "/media/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(f.URL, "/clip.mp4") || !strings.HasPrefix(f.URL, "http://127.0.0.1:") {
		t.Errorf("local URL %s", f.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, f.URL, nil)
	req.Header.Set("Range", "bytes=100-109")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || string(got) != "0123456789" || res.Header.Get("Content-Range") != "bytes 100-109/10000" {
		t.Errorf("range answer %d %q %q", res.StatusCode, got, res.Header.Get("Content-Range"))
	}
	f.Close()
	res, err = http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("a closed fetch answers %d, want 404", res.StatusCode)
	}
}

func TestRelayRefusesDeniedAddresses(t *testing.T) {
	hits := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits++ }))
	defer up.Close()
	p, _ := New(Config{}) // loopback denied
	r, err := NewRelay(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	f, err := r.Open(up.URL + "/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || hits != 0 {
		t.Errorf("status %d, upstream hits %d", res.StatusCode, hits)
	}
	if err := f.Err(); !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), up.Listener.Addr().String()) {
		t.Errorf("the fetch's error names the refused address: %v", err)
	}
	if _, err := r.Open("file:///etc/passwd"); err == nil {
		t.Error("only http(s) URLs are relayed")
	}
}
