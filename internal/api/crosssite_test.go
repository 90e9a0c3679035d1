package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// send sends a request with exactly the given headers.
func send(t *testing.T, method, url string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := contractClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func TestChangesFromOtherSitesAreRefused(t *testing.T) {
	srv := newServer(t, "")
	own := "http://" + strings.TrimPrefix(srv.URL, "http://")
	body := `{"name": "bars", "type": "TEST_PATTERN"}`
	cases := []struct {
		name   string
		header map[string]string
		status int
		detail string
	}{
		{"foreign origin", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403, "https://evil.example"},
		{"foreign origin, same port", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example:" + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]}, 403, "evil.example"},
		{"cross-site fetch", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "https://evil.example"},
		{"null origin", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403, "null"},
		{"no content type", map[string]string{}, 415, "Content-Type: application/json"},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/x-www-form-urlencoded"},
		{"text", map[string]string{"Content-Type": "text/plain"}, 415, "text/plain"},
		{"own origin", map[string]string{"Content-Type": "application/json", "Origin": own, "Sec-Fetch-Site": "same-origin"}, 201, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, data := send(t, "POST", srv.URL+"/api/v1/inputs", strings.NewReader(body), c.header)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, data)
			}
			if c.status == 201 {
				if resp, data := send(t, "DELETE", srv.URL+"/api/v1/inputs/bars", nil, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 204 {
					t.Fatalf("delete: %d %s", resp.StatusCode, data)
				}
				return
			}
			if p := problemOf(t, resp, data); !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, c.detail)
			}
		})
	}
	// Reads stay open to any page: the browser keeps their answers from it.
	if resp, data := send(t, "GET", srv.URL+"/api/v1/inputs", nil, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != 200 {
		t.Errorf("a read with a foreign Origin: %d %s", resp.StatusCode, data)
	}
}

func TestChangesWithoutABodyNeedTheJSONType(t *testing.T) {
	srv := newServer(t, "")
	if resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, ""); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	for _, m := range []string{"POST /api/v1/inputs/bars/rotate-key", "DELETE /api/v1/inputs/bars"} {
		method, path, _ := strings.Cut(m, " ")
		resp, data := send(t, method, srv.URL+path, nil, nil)
		if resp.StatusCode != 415 {
			t.Fatalf("%s without Content-Type: %d %s, want 415", m, resp.StatusCode, data)
		}
		problemOf(t, resp, data)
	}
	if resp, data := call(t, srv, "DELETE", "/api/v1/inputs/bars", "", ""); resp.StatusCode != 204 {
		t.Errorf("delete with the JSON type: %d %s", resp.StatusCode, data)
	}
}

func TestBodiesOverOneMiBAreTooLarge(t *testing.T) {
	srv := newServer(t, "")
	json := map[string]string{"Content-Type": "application/json"}
	// A valid object padded with spaces to exactly the limit is read.
	obj := `{"name": "bars", "type": "TEST_PATTERN"}`
	atLimit := obj + strings.Repeat(" ", maxBody-len(obj))
	if resp, data := send(t, "POST", srv.URL+"/api/v1/inputs", strings.NewReader(atLimit), json); resp.StatusCode != 201 {
		t.Fatalf("a body of exactly 1 MiB: %d %s", resp.StatusCode, data)
	}
	over := atLimit + " "
	for _, c := range []struct {
		name, method, path string
		body               io.Reader
	}{
		{"declared length", "POST", "/api/v1/inputs", strings.NewReader(over)},
		// Without a declared length (chunked), the limit is met while reading.
		{"chunked", "POST", "/api/v1/inputs", io.MultiReader(strings.NewReader(over))},
		{"stack", "PUT", "/api/v1/stacks/big", io.MultiReader(strings.NewReader(`{"name": "big"}` + strings.Repeat(" ", maxBody)))},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, data := send(t, c.method, srv.URL+c.path, c.body, json)
			if resp.StatusCode != 413 {
				t.Fatalf("status %d, want 413: %s", resp.StatusCode, data)
			}
			if p := problemOf(t, resp, data); p.Detail != "request body too large (limit 1 MiB)" {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}
}
