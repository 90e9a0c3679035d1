package httpguard

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestATrickledBodyIsCutOff(t *testing.T) {
	addr := serve(t, Config{ReadTimeout: 100 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	trickle(t, addr, "/")
	// A body sent at once is read.
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(`{"a": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a prompt body: %s", resp.Status)
	}
}

// TestLongAnswersOutliveTheReadTimeout holds a GET (as an LL-HLS blocking
// reload or an event stream does) and a POST whose body has arrived open
// until a trickled body has been cut off, so past the read timeout; both
// must then still answer, their requests not cancelled.
func TestLongAnswersOutliveTheReadTimeout(t *testing.T) {
	release := make(chan struct{})
	bodyRead := make(chan struct{})
	addr := serve(t, Config{ReadTimeout: 100 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/trickle" {
			_, _ = io.ReadAll(r.Body)
			return
		}
		if r.Method == http.MethodPost {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			close(bodyRead)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		if err := r.Context().Err(); err != nil {
			http.Error(w, "cancelled: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "done")
	}))
	type answer struct {
		status int
		body   string
		err    error
	}
	ask := func(method string, body io.Reader, out chan<- answer) {
		req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+addr+"/held", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		out <- answer{resp.StatusCode, string(b), err}
	}
	held, posted := make(chan answer, 1), make(chan answer, 1)
	go ask(http.MethodGet, nil, held)
	go ask(http.MethodPost, strings.NewReader(`{"a": 1}`), posted)
	<-bodyRead
	trickle(t, addr, "/trickle")
	close(release)
	for name, c := range map[string]chan answer{"GET": held, "POST": posted} {
		if a := <-c; a.err != nil || a.status != http.StatusOK || a.body != "done" {
			t.Errorf("%s held past the read timeout: %d %q %v", name, a.status, a.body, a.err)
		}
	}
}
