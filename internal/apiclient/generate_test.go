package apiclient

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsUpToDate runs the go:generate command of generate.go
// (the pinned oapi-codegen of go.mod's tool directive) into a temporary
// file and compares the result with the committed client.gen.go.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	src, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, "//go:generate "); ok {
			args = strings.Fields(rest)
		}
	}
	out := filepath.Join(t.TempDir(), "client.gen.go")
	replaced := false
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			args[i+1], replaced = out, true
		}
	}
	if len(args) < 2 || args[0] != "go" || !replaced {
		t.Fatalf("generate.go has no go:generate line of the form go tool oapi-codegen … -o FILE …: %q", args)
	}
	if msg, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("client.gen.go is not what api/openapi.yaml generates: run go generate ./internal/apiclient and commit the result")
	}
}
