package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/server"
)

// runIn runs the command line with stdin.
func runIn(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		errb.WriteString("sluice: " + err.Error() + "\n")
		return 1, out.String(), errb.String()
	}
	return 0, out.String(), errb.String()
}

// The first admin can be made on the store before any server runs, with
// the password from standard input or a file and never from a flag.
func TestUsersOnTheStoreDirectly(t *testing.T) {
	data := t.TempDir()
	const pw = "first-admin-passphrase"
	code, out, errs := runIn(pw+"\n", "user", "add", "root", "--role", "admin", "--password-file", "-", "--data", data)
	if code != 0 || !strings.Contains(out, "user root added with the role admin") {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("viewer-passphrase-1\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runIn("", "user", "add", "vic", "--role", "viewer", "--password-file", file, "--data", data); code != 0 {
		t.Fatalf("from a file: exit %d: %s%s", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "x", "--role", "admin", "--data", data}, "--password-file"},
		{[]string{"user", "add", "x", "--role", "root", "--password-file", file, "--data", data}, "use viewer, operator or admin"},
		{[]string{"user", "add", "vic", "--role", "viewer", "--password-file", file, "--data", data}, "already exists"},
		{[]string{"user", "remove", "root", "--data", data}, "last admin"},
		{[]string{"user", "set-role", "root", "viewer", "--data", data}, "last admin"},
	} {
		code, out, errs := runIn("", c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want an error saying %q: %s%s", c.args, code, c.want, out, errs)
		}
	}
	if code, out, errs := runIn("", "user", "set-role", "vic", "operator", "--data", data); code != 0 || !strings.Contains(out, "vic has the role operator") {
		t.Errorf("set-role: exit %d: %s%s", code, out, errs)
	}
	code, out, _ = runIn("", "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "root") || !strings.Contains(out, "operator") || strings.Contains(out, "argon2") {
		t.Errorf("list: %s", out)
	}
	code, out, _ = runIn("", "audit", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "sluice user set-role") || !strings.Contains(out, "cli") {
		t.Errorf("audit list: %s", out)
	}
	if strings.Contains(out, pw) {
		t.Error("the audit log shows a password")
	}
	// The server on that data directory lets root log in and makes no
	// other admin.
	st, err := server.New(context.Background(), server.Config{Data: data, FFmpeg: "ffmpeg", FFprobe: "ffprobe", FirstAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	if _, _, err := st.Auth().Login(context.Background(), "root", pw, "127.0.0.1"); err != nil {
		t.Errorf("root's login: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, auth.FirstAdminFile)); err == nil {
		t.Error("a server with users generated a first admin")
	}
}

// Through the API, an admin's token manages users and tokens; a token
// made is printed once, on standard output.
func TestUsersAndTokensThroughTheAPI(t *testing.T) {
	const admin = "admin-token-of-the-cli-test"
	s, err := server.New(context.Background(), server.Config{
		Data: t.TempDir(), FFmpeg: "ffmpeg", FFprobe: "ffprobe", Token: admin,
		Auth: auth.Config{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	api := []string{"--server", srv.URL, "--token", admin}
	if code, out, errs := runIn("ops-passphrase-123\n", append([]string{"user", "add", "oli", "--role", "operator", "--password-file", "-"}, api...)...); code != 0 {
		t.Fatalf("add: exit %d %s%s", code, out, errs)
	}
	code, tok, errs := runIn("", append([]string{"token", "add", "ci", "--role", "viewer"}, api...)...)
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, "sluice_") || !strings.Contains(errs, "shown this once") {
		t.Fatalf("token add: exit %d %q %s", code, tok, errs)
	}
	// The viewer token reads, and may not manage users.
	code, _, errs = runIn("", "user", "list", "--server", srv.URL, "--token", tok)
	if code == 0 || !strings.Contains(errs, "403") || !strings.Contains(errs, "needs the role admin") {
		t.Errorf("a viewer token lists users: exit %d %s", code, errs)
	}
	code, out, _ := runIn("", append([]string{"user", "list", "-o", "json"}, api...)...)
	var users []auth.User
	if code != 0 || json.Unmarshal([]byte(out), &users) != nil || len(users) != 1 || users[0].Role != auth.RoleOperator {
		t.Errorf("user list -o json: %s", out)
	}
	if code, out, errs := runIn("", append([]string{"token", "list"}, api...)...); code != 0 || !strings.Contains(out, "ci") || strings.Contains(out, tok) {
		t.Errorf("token list: exit %d %s%s", code, out, errs)
	}
	if code, _, errs := runIn("", append([]string{"token", "remove", "ci"}, api...)...); code != 0 {
		t.Errorf("token remove: %s", errs)
	}
	if code, _, errs := runIn("new-passphrase-4567", append([]string{"user", "set-password", "oli", "--password-file", "-"}, api...)...); code != 0 {
		t.Errorf("set-password: %s", errs)
	}
	code, out, _ = runIn("", append([]string{"audit", "list", "--actor", "token"}, api...)...)
	if code != 0 || !strings.Contains(out, "/api/v1/tokens/{name}") || !strings.Contains(out, "/api/v1/users/{name}/password") {
		t.Errorf("audit list: %s", out)
	}
	if strings.Contains(out, "passphrase") {
		t.Error("the audit log shows a password")
	}
	if code, out, errs := runIn("", append([]string{"user", "remove", "oli"}, api...)...); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: exit %d %s%s", code, out, errs)
	}
}

func TestPasswordsAreNeverFlagValues(t *testing.T) {
	_, out, _ := run("user", "add", "--help")
	if strings.Contains(out, "--password ") || !strings.Contains(out, "--password-file") {
		t.Errorf("user add --help:\n%s", out)
	}
	code, _, errs := run("user", "add", "x", "--role", "admin", "--password", "secret-in-argv")
	if code == 0 || !strings.Contains(errs, "unknown flag") {
		t.Errorf("--password: exit %d %s", code, errs)
	}
}
