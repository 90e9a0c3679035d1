package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/stack"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelp(t *testing.T) {
	cmds := [][]string{
		{}, {"serve"}, {"apply"}, {"plan"}, {"destroy"}, {"version"},
		{"channel"}, {"channel", "list"}, {"channel", "get"}, {"channel", "start"}, {"channel", "stop"}, {"channel", "delete"}, {"channel", "history"},
		{"input"}, {"input", "list"}, {"input", "get"}, {"input", "rotate-key"},
		{"security-group"}, {"security-group", "list"}, {"security-group", "get"},
		{"alarms"}, {"alarms", "list"}, {"alarms", "get"}, {"alarms", "history"}, {"alarms", "export"},
		{"rules"}, {"rules", "list"}, {"rules", "get"}, {"events"},
		{"ladder"}, {"ladder", "list"}, {"ladder", "command"},
		{"job"}, {"job", "submit"}, {"job", "list"}, {"job", "get"}, {"job", "cancel"},
		{"preset"}, {"preset", "list"}, {"preset", "get"},
		{"pipeline"}, {"pipeline", "list"}, {"pipeline", "get"}, {"worker"},
		{"edge"}, {"sign"},
		{"distribution"}, {"distribution", "list"}, {"distribution", "get"}, {"distribution", "stats"},
		{"harvest"}, {"harvest", "create"}, {"harvest", "list"}, {"harvest", "get"},
		{"node"}, {"node", "list"},
		{"user"}, {"user", "add"}, {"user", "list"}, {"user", "set-role"}, {"user", "set-password"}, {"user", "remove"},
		{"token"}, {"token", "add"}, {"token", "list"}, {"token", "remove"},
		{"audit"}, {"audit", "list"},
	}
	for _, c := range cmds {
		code, out, errs := run(append(c, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("sluice %s --help: exit %d\n%s%s", strings.Join(c, " "), code, out, errs)
		}
	}
}

func TestStackFileProblemsAreListed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("name: demo\nchannels:\n  - name: x\n    autoStart: sometimes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run("plan", "-f", p, "--server", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(errs, "the stack file has problems") || !strings.Contains(errs, "bad.yaml:4:16: channels[0].autoStart") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
}

func TestUnreachableServerIsExplained(t *testing.T) {
	code, _, errs := run("channel", "list", "--server", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(errs, "cannot reach the Sluice server at http://127.0.0.1:1") {
		t.Errorf("exit %d: %s", code, errs)
	}
	code, _, errs = run("channel", "list", "--server", "ftp://x")
	if code != 1 || !strings.Contains(errs, "not an http(s) URL") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestLadderCommandPrintsTheEncoder(t *testing.T) {
	src := filepath.Join(t.TempDir(), "in put.mp4")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("ladder", "command", "--ladder", "test-360p", "--input", src)
	if code != 0 || !strings.HasPrefix(out, "ffmpeg -hide_banner") || !strings.Contains(out, "-i file:/dev/stdin") || !strings.HasSuffix(strings.TrimSpace(out), "< '"+src+"'") || strings.Count(out, "-c:v libx264") != 2 {
		t.Errorf("exit %d: %s%s", code, out, errs)
	}
	code, out, _ = run("ladder", "list")
	if code != 0 || !strings.Contains(out, "default-1080p") || !strings.Contains(out, "1920x1080") {
		t.Errorf("ladder list: %s", out)
	}
}

func TestWritePlan(t *testing.T) {
	var b bytes.Buffer
	writePlan(&b, stack.Plan{Stack: "demo", Applied: true, Changes: []stack.Change{
		{Action: stack.ActionCreate, Kind: stack.KindInput, Name: "bars"},
		{Action: stack.ActionUpdate, Kind: stack.KindChannel, Name: "news", Fields: []string{"encoder.ladder", "autoStart"}},
		{Action: stack.ActionUnchanged, Kind: stack.KindChannel, Name: "sport"},
		{Action: stack.ActionDelete, Kind: stack.KindChannel, Name: "old"},
	}}, "demo.yaml")
	want := "+ input bars\n~ channel news (encoder.ladder, autoStart)\n= channel sport (unchanged)\n- channel old\nStack demo: 1 created, 1 updated, 1 deleted.\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	writePlan(&b, stack.Plan{Stack: "demo", Changes: []stack.Change{{Action: stack.ActionUnchanged, Kind: stack.KindInput, Name: "bars"}}}, "demo.yaml")
	if !strings.Contains(b.String(), "No changes: the server already matches demo.yaml") {
		t.Errorf("empty plan: %s", b.String())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"-i": "-i", "file:/a/b.mp4": "file:/a/b.mp4", "[v0]": "'[v0]'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
