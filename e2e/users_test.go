package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsersRolesAndTheFirstAdmin runs the real binary: the first start
// makes user admin with its password in a private file (never in the
// log); the admin logs in, the CLI with the server's token adds an
// operator and a viewer token; each is held to its role; the audit log
// shows who did what; a new password set on the store directly removes
// the file at the next start.
func TestUsersRolesAndTheFirstAdmin(t *testing.T) {
	t.Parallel()
	const token = "e2e-admin-token-0123456789"
	data := t.TempDir()
	s := startServerWith(t, data, []string{"--token", token})
	file := filepath.Join(data, "admin-password")
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the first admin's password file: %v %v", info, err)
	}
	b, _ := os.ReadFile(file)
	generated := strings.TrimSpace(string(b))
	if !strings.Contains(s.log.String(), file) || strings.Contains(s.log.String(), generated) {
		t.Errorf("the log must name %s and never the password:\n%s", file, s.log.String())
	}

	cli := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(s.bin, append([]string{"--server", "http://" + s.addr}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := cli("operator-passphrase-e2e\n", "user", "add", "oli", "--role", "operator", "--password-file", "-", "--token", token); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	viewerToken, err := exec.Command(s.bin, "--server", "http://"+s.addr, "token", "add", "dash", "--role", "viewer", "--token", token).Output()
	if err != nil {
		t.Fatalf("token add: %v", err)
	}
	// The viewer token reads and changes nothing; the admin configures.
	if out, err := cli("", "input", "list", "--token", strings.TrimSpace(string(viewerToken))); err != nil {
		t.Errorf("a viewer lists inputs: %v %s", err, out)
	}
	stack := writeStack(t, t.TempDir(), "roles.yaml", "name: roles\ninputs:\n  - {name: bars, type: TEST_PATTERN}\nchannels:\n  - {name: news, inputAttachments: [{input: bars}], encoder: {ladder: test-360p}}\n")
	if out, err := cli("", "apply", "-f", stack, "--token", strings.TrimSpace(string(viewerToken))); err == nil || !strings.Contains(out, "403") {
		t.Errorf("a viewer applies a stack: %v %s", err, out)
	}
	if out, err := cli("", "apply", "-f", stack, "--token", token); err != nil {
		t.Fatalf("the admin applies a stack: %v %s", err, out)
	}

	// The admin and the operator log in with their passwords.
	login := func(name, password string) *http.Cookie {
		resp, err := s.http.Post(s.url("/api/v1/session"), "application/json", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var who struct{ CSRFToken string }
		_ = json.NewDecoder(resp.Body).Decode(&who)
		for _, ck := range resp.Cookies() {
			if ck.Name == "sluice_session" && resp.StatusCode == 201 {
				ck.Value += "|" + who.CSRFToken
				return ck
			}
		}
		t.Fatalf("login of %s: %s", name, resp.Status)
		return nil
	}
	change := func(ck *http.Cookie, method, path, body string) int {
		value, csrf, _ := strings.Cut(ck.Value, "|")
		req, _ := http.NewRequest(method, s.url(path), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: value})
		return statusOf(t, s.http, req)
	}
	read := func(ck *http.Cookie, path string) int {
		value, _, _ := strings.Cut(ck.Value, "|")
		req, _ := http.NewRequest(http.MethodGet, s.url(path), http.NoBody)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: value})
		return statusOf(t, s.http, req)
	}
	admin := login("admin", generated)
	oli := login("oli", "operator-passphrase-e2e")
	if code := change(oli, "POST", "/api/v1/channels/news/stop", ""); code != http.StatusAccepted {
		t.Errorf("the operator stops a channel: %d", code)
	}
	if code := change(oli, "DELETE", "/api/v1/channels/news", ""); code != http.StatusForbidden {
		t.Errorf("the operator deletes a channel: %d", code)
	}
	if code := change(admin, "DELETE", "/api/v1/channels/news", ""); code >= 300 {
		t.Errorf("the admin deletes a channel: %d", code)
	}
	if code := read(oli, "/api/v1/session"); code != http.StatusOK {
		t.Errorf("the operator asks who they are: %d", code)
	}
	if code := read(oli, "/api/v1/users"); code != http.StatusForbidden {
		t.Errorf("the operator lists the users: %d", code)
	}
	if code := read(admin, "/api/v1/users"); code != http.StatusOK {
		t.Errorf("the admin lists the users: %d", code)
	}
	if code := change(oli, "DELETE", "/api/v1/session", ""); code != http.StatusNoContent {
		t.Errorf("the operator logs out: %d", code)
	}
	if code := read(oli, "/api/v1/session"); code != http.StatusUnauthorized {
		t.Errorf("the operator's login after logging out: %d", code)
	}
	out, err := cli("", "audit", "list", "--token", token)
	if err != nil {
		t.Fatalf("audit list: %v %s", err, out)
	}
	for _, want := range []string{"oli (user)", "admin (user)", "token (token)", "dash (token)", "/api/v1/channels/{ref}/stop", "403", "/api/v1/stacks/{name}"} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "passphrase") || strings.Contains(out, generated) {
		t.Errorf("the audit log shows a password:\n%s", out)
	}

	// A new password for admin, set on the store while the server runs;
	// the next start removes the generated one's file.
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("admin-new-passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(s.bin, "user", "set-password", "admin", "--password-file", pw, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("set-password on the store: %v %s", err, out)
	}
	s.stop()
	s.start()
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the generated password's file after it changed: %v", err)
	}
	login("admin", "admin-new-passphrase")
	if strings.Contains(s.log.String(), "admin-new-passphrase") || strings.Contains(s.log.String(), "operator-passphrase-e2e") {
		t.Error("the log shows a password")
	}
}
