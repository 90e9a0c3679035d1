package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/vod"
)

// newVODServer runs the on-demand routes on a real service and queue.
func newVODServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	return newVODServerIn(t, t.TempDir(), token)
}

// newVODServerIn is newVODServer with the service's data directory.
func newVODServerIn(t *testing.T, dir, token string) *httptest.Server {
	t.Helper()
	q, err := queue.Open(context.Background(), filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	svc, err := vod.New(context.Background(), vod.Config{Queue: q, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(Config{Token: token, VOD: svc, Kinds: controlplane.Plane{VOD: svc}.Kinds()}).Register(mux)
	return serveAPI(t, mux)
}

func vodCall(t *testing.T, method, url, body, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := contractClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVODRoutes(t *testing.T) {
	srv := newVODServer(t, "secret")
	u := srv.URL + "/api/v1"
	code, body := vodCall(t, "GET", u+"/presets", "", "")
	if code != 200 || !strings.Contains(body, `"system-abr"`) {
		t.Fatalf("list presets: %d %s", code, body)
	}
	if code, _ = vodCall(t, "POST", u+"/presets", `{"name":"mine","kind":"AUDIO"}`, ""); code != 401 {
		t.Fatalf("a change without the token answered %d", code)
	}
	code, body = vodCall(t, "POST", u+"/presets", `{"name":"bad","kind":"ABR","rungs":[{"name":"x","width":641,"height":360,"bitrate":100000}]}`, "secret")
	if code != 400 || !strings.Contains(body, "rungs[0].width") {
		t.Fatalf("invalid preset: %d %s", code, body)
	}
	if code, body = vodCall(t, "POST", u+"/presets", `{"name":"mine","kind":"AUDIO"}`, "secret"); code != 201 {
		t.Fatalf("create preset: %d %s", code, body)
	}
	if code, _ = vodCall(t, "POST", u+"/presets", `{"name":"mine","kind":"AUDIO"}`, "secret"); code != 409 {
		t.Fatalf("duplicate preset answered %d", code)
	}
	if code, _ = vodCall(t, "DELETE", u+"/presets/system-abr", "", "secret"); code != 409 {
		t.Fatalf("deleting a system preset answered %d", code)
	}
	if code, _ = vodCall(t, "GET", u+"/presets/nope", "", ""); code != 404 {
		t.Fatalf("missing preset answered %d", code)
	}
	code, body = vodCall(t, "POST", u+"/jobs", `{"input":"../etc/passwd"}`, "secret")
	if code != 400 || !strings.Contains(body, "input") {
		t.Fatalf("escaping input key: %d %s", code, body)
	}
	code, body = vodCall(t, "POST", u+"/jobs", `{"input":"a.mp4","presets":["nope"]}`, "secret")
	if code != 400 || !strings.Contains(body, `presets: \"nope\" does not exist`) {
		t.Fatalf("unknown preset: %d %s", code, body)
	}
	code, body = vodCall(t, "POST", u+"/jobs", `{"input":"a.mp4","pipeline":"nope"}`, "secret")
	if code != 404 {
		t.Fatalf("unknown pipeline: %d %s", code, body)
	}
	code, body = vodCall(t, "POST", u+"/jobs", `{"input":"a.mp4","presets":["mine"]}`, "secret")
	var j vod.Job
	if code != 201 || json.Unmarshal([]byte(body), &j) != nil || j.State != vod.StateSubmitted {
		t.Fatalf("submit: %d %s", code, body)
	}
	if code, body = vodCall(t, "POST", u+"/jobs/"+j.ID+"/cancel", "", "secret"); code != 200 || !strings.Contains(body, "CANCELED") {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, _ = vodCall(t, "POST", u+"/jobs/"+j.ID+"/cancel", "", "secret"); code != 409 {
		t.Fatalf("cancelling twice answered %d", code)
	}
	if code, body = vodCall(t, "GET", u+"/jobs?state=CANCELED", "", ""); code != 200 || !strings.Contains(body, j.ID) {
		t.Fatalf("list jobs: %d %s", code, body)
	}
	if code, body = vodCall(t, "GET", u+"/assets", "", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("assets: %d %s", code, body)
	}
	if code, _ = vodCall(t, "GET", u+"/assets/nope", "", ""); code != 404 {
		t.Fatalf("missing asset answered %d", code)
	}
}

func TestVODRoutesWithoutVOD(t *testing.T) {
	srv := newServer(t, "")
	if code, body := vodCall(t, "GET", srv.URL+"/api/v1/jobs", "", ""); code != 404 || !strings.Contains(body, "not enabled") {
		t.Fatalf("jobs without on-demand transcoding: %d %s", code, body)
	}
	// Every preset and pipeline route too, changes included.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/presets", ""},
		{"POST", "/presets", `{"name":"mine","kind":"AUDIO"}`},
		{"PUT", "/presets/mine", `{"kind":"AUDIO"}`},
		{"DELETE", "/presets/mine", ""},
		{"POST", "/pipelines", `{"name":"p"}`},
		{"PUT", "/pipelines/p", `{}`},
		{"DELETE", "/pipelines/p", ""},
	} {
		code, body := vodCall(t, c.method, srv.URL+"/api/v1"+c.path, c.body, "")
		if code != http.StatusNotFound || !strings.Contains(body, "not enabled") {
			t.Errorf("%s %s without on-demand transcoding: %d %s", c.method, c.path, code, body)
		}
	}
	// Nor does it run harvest jobs.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/harvest-jobs", ""},
		{"GET", "/harvest-jobs/hv-1", ""},
		{"POST", "/harvest-jobs", `{"channel":"news","endpoint":"hls","start":"1","end":"2"}`},
	} {
		code, body := vodCall(t, c.method, srv.URL+"/api/v1"+c.path, c.body, "")
		if code != http.StatusNotFound || !strings.Contains(body, "does not run harvest jobs") {
			t.Errorf("%s %s without harvests: %d %s", c.method, c.path, code, body)
		}
	}
}
