package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStacksTakeYAML plans and applies a stack file as it is written, in
// YAML; a wrong one is refused with the field and the line of each
// problem, as `sluice plan` reports them.
func TestStacksTakeYAML(t *testing.T) {
	srv := newServer(t, "")
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := contractClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bad := "inputs:\n  - name: bars\n    type: TEST_PATTERN\nchannels:\n  - name: news\n    inputAttachments: [{input: bars}]\n    encoder: {ladder: test-360p}\n    colour: red\n"
	code, body := send("POST", "/api/v1/stacks/demo/plan", bad)
	if code != 400 || !strings.Contains(body, `"path":"channels[0]"`) || !strings.Contains(body, "line 8") {
		t.Fatalf("a wrong stack file: %d %s", code, body)
	}
	good := strings.Replace(bad, "    colour: red\n", "", 1)
	if code, body = send("POST", "/api/v1/stacks/demo/plan", good); code != 200 || !strings.Contains(body, `"action": "create"`) {
		t.Fatalf("plan: %d %s", code, body)
	}
	if code, body = send("PUT", "/api/v1/stacks/demo", "name: other\n"+good); code != 400 || !strings.Contains(body, "the URL names") {
		t.Fatalf("a stack of another name: %d %s", code, body)
	}
	if code, body = send("PUT", "/api/v1/stacks/demo", good); code != 200 || !strings.Contains(body, `"applied": true`) {
		t.Fatalf("apply: %d %s", code, body)
	}
	if code, body = send("POST", "/api/v1/channels", `{}`); code != 415 {
		t.Fatalf("YAML outside the stack routes: %d %s", code, body)
	}
}
