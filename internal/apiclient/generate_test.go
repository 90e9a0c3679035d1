package apiclient

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxGeneratedSize is the size a generated file stays under, as every
// tracked file of the repository does.
const maxGeneratedSize = 1 << 20

// TestGeneratedCodeIsUpToDate runs each go:generate command of generate.go
// (the pinned oapi-codegen of go.mod's tool directive) into a temporary
// file and compares the result with the committed file it names. Every
// *.gen.go file of the package must come from one of the commands, and
// each must stay under maxGeneratedSize.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	src, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for line := range strings.Lines(string(src)) {
		rest, ok := strings.CutPrefix(line, "//go:generate ")
		if !ok {
			continue
		}
		args := strings.Fields(rest)
		file := ""
		for i := range args {
			if args[i] == "-o" && i+1 < len(args) {
				file = args[i+1]
				args[i+1] = filepath.Join(t.TempDir(), file)
			}
		}
		if len(args) < 2 || args[0] != "go" || file == "" {
			t.Fatalf("generate.go has a go:generate line not of the form go tool oapi-codegen … -o FILE …: %q", rest)
		}
		outputs = append(outputs, file)
		checkGenerated(t, args, file)
	}
	committed, err := filepath.Glob("*.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(committed)
	slices.Sort(outputs)
	if !slices.Equal(committed, outputs) {
		t.Errorf("the package has the generated files %q but generate.go writes %q: remove the stale ones or add their go:generate line", committed, outputs)
	}
}

// checkGenerated runs one go:generate command, whose -o argument is
// already a temporary file, and compares its output with file.
func checkGenerated(t *testing.T, args []string, file string) {
	t.Helper()
	if msg, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	want, err := os.ReadFile(args[slices.Index(args, "-o")+1])
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what api/openapi.yaml generates: run go generate ./internal/apiclient and commit the result", file)
	}
	if len(want) >= maxGeneratedSize {
		t.Errorf("%s is %d bytes, over the %d a generated file stays under: split its oapi-codegen configuration further (see generate.go)", file, len(want), maxGeneratedSize)
	}
}
