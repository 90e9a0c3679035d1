package httpguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServingFinishesRequestsInProgressAtClose closes a server while a
// request is being answered: the answer arrives whole, and new
// connections are refused.
func TestServingFinishesRequestsInProgressAtClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	s := Config{}.Serving(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(inside)
		<-release
		_, _ = w.Write([]byte("finished"))
	}))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + s.Addr().String() + "/"
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			got <- err.Error()
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Error("a new connection was accepted while closing")
	}
	close(release)
	if body := <-got; body != "finished" {
		t.Fatalf("the request in progress got %q", body)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	<-s.Done()
	if err := s.Err(); err != nil {
		t.Errorf("a closed server reports %v", err)
	}
}

// TestServingCutsWhatDoesNotFinishInTime closes with a short context: the
// request is cut and Close says why.
func TestServingCutsWhatDoesNotFinishInTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside := make(chan struct{})
	s := Config{}.Serving(ln, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(inside)
		<-r.Context().Done()
	}))
	_ = s.Start(context.Background())
	go func() {
		if resp, err := http.Get("http://" + s.Addr().String() + "/"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-inside
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close: %v, want the deadline", err)
	}
}
