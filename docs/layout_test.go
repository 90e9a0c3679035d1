// Package docs holds Sluice's documentation. Its test holds the package
// lists of DEVELOPERS.md and docs/architecture.md to `go list ./...`, so
// that a package added, moved or removed is documented in the same change.
package docs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkg is one package of the module, by its folder from the module root.
type pkg struct {
	path string // "internal/cli", "cmd/sluice", "." for the root
	doc  string // the package comment's first sentence, for a suggested line
}

// listed is one package a document lists.
type listed struct {
	path  string
	owns  string // what the document says the package owns
	line  int
	text  string // the line as written
	where string // "DEVELOPERS.md:12"
}

// TestDocumentsListEveryPackage fails when DEVELOPERS.md's layout or
// docs/architecture.md's "Who owns what" tables do not list exactly the
// packages `go list ./...` finds, one per line, each with what it owns.
func TestDocumentsListEveryPackage(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := goList(t, root)
	docs := []struct {
		file, section string
		parse         func(t *testing.T, path, section string) []listed
		suggest       func(p pkg) string
		how           string
	}{
		{"DEVELOPERS.md", "## Layout", layoutBlock, func(p pkg) string { return fmt.Sprintf("%-30s %s", p.path+"/", p.doc) },
			"the code block under \"## Layout\": one line per package, its folder with a trailing slash, then what it owns"},
		{"docs/architecture.md", "## Who owns what", ownersTables, func(p pkg) string { return fmt.Sprintf("| `%s` | %s |", p.path, p.doc) },
			"the tables under \"## Who owns what\": one row per package, | `folder` | what it owns |"},
	}
	for _, d := range docs {
		entries := d.parse(t, filepath.Join(root, d.file), d.section)
		if msg := compare(pkgs, entries, d.suggest); msg != "" {
			t.Errorf("%s does not list exactly the packages of `go list ./...` in %s.\n%s", d.file, d.how, msg)
		}
	}
}

// goList returns the module's packages.
func goList(t *testing.T, root string) []pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "list", "-e", "-f", "{{.Dir}}\t{{.Doc}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list ./...: %v\n%s", err, stderr)
	}
	var pkgs []pkg
	for line := range strings.Lines(string(out)) {
		dir, doc, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, pkg{path: filepath.ToSlash(rel), doc: synopsis(doc)})
	}
	return pkgs
}

// synopsis turns "Package cli holds every subcommand." into "holds every
// subcommand", a start for the line to add.
func synopsis(doc string) string {
	if doc == "" {
		return "<what it owns>"
	}
	for _, lead := range []string{"Package ", "Command "} {
		if rest, ok := strings.CutPrefix(doc, lead); ok {
			if _, after, ok := strings.Cut(rest, " "); ok {
				doc = after
			}
		}
	}
	return strings.TrimSuffix(doc, ".")
}

// compare says which lines to add for the packages the document misses and
// which to remove for those that do not exist, or appear twice, or say
// nothing of what they own; "" when the document is right.
func compare(pkgs []pkg, entries []listed, suggest func(pkg) string) string {
	seen := map[string]bool{}
	var remove, fix []string
	for _, e := range entries {
		switch {
		case !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.path == e.path }):
			remove = append(remove, fmt.Sprintf("    %s: %s", e.where, e.text))
		case seen[e.path]:
			remove = append(remove, fmt.Sprintf("    %s: %s    (listed before)", e.where, e.text))
		case e.owns == "":
			fix = append(fix, fmt.Sprintf("    %s: %s    (say what it owns)", e.where, e.text))
		}
		seen[e.path] = true
	}
	var add []string
	for _, p := range pkgs {
		if !seen[p.path] {
			add = append(add, "    "+suggest(p))
		}
	}
	var b strings.Builder
	if len(add) > 0 {
		fmt.Fprintf(&b, "Add these lines (the text after the package is its doc comment: say what it owns):\n%s\n", strings.Join(add, "\n"))
	}
	if len(remove) > 0 {
		fmt.Fprintf(&b, "Remove these lines (no such package, or listed twice):\n%s\n", strings.Join(remove, "\n"))
	}
	if len(fix) > 0 {
		fmt.Fprintf(&b, "Complete these lines:\n%s\n", strings.Join(fix, "\n"))
	}
	return b.String()
}

// sectionLines returns the lines of the section that starts with heading,
// up to the next heading of the same level, with their line numbers.
func sectionLines(t *testing.T, path, heading string) ([]string, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	level := heading[:strings.IndexByte(heading, ' ')+1]
	var lines []string
	first, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		if first == 0 {
			if line == heading {
				first = n + 1
			}
			continue
		}
		if strings.HasPrefix(line, level) {
			break
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if first == 0 {
		t.Fatalf("%s has no %q section", path, heading)
	}
	return lines, first
}

// layoutBlock reads the first code block of the section: every non-blank
// line is "folder/   what it owns".
func layoutBlock(t *testing.T, path, section string) []listed {
	t.Helper()
	lines, first := sectionLines(t, path, section)
	var out []listed
	inBlock := false
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			if inBlock {
				return out
			}
			inBlock = true
			continue
		}
		if !inBlock || strings.TrimSpace(line) == "" {
			continue
		}
		folder, owns, _ := strings.Cut(strings.TrimSpace(line), " ")
		out = append(out, listed{
			path: strings.TrimSuffix(folder, "/"), owns: strings.TrimSpace(owns),
			line: first + i, text: line, where: fmt.Sprintf("%s:%d", filepath.Base(path), first+i),
		})
	}
	t.Fatalf("%s: no code block under %q", path, section)
	return nil
}

// ownersTables reads every table row of the section but the headers:
// "| `folder` | what it owns |".
func ownersTables(t *testing.T, path, section string) []listed {
	t.Helper()
	lines, first := sectionLines(t, path, section)
	var out []listed
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		name := strings.TrimSpace(cells[0])
		if name == "package" || strings.Trim(name, "-: ") == "" {
			continue // header and separator rows
		}
		owns := ""
		if len(cells) > 1 {
			owns = strings.TrimSpace(strings.Join(cells[1:], "|"))
		}
		where := fmt.Sprintf("docs/%s:%d", filepath.Base(path), first+i)
		folder, ok := strings.CutPrefix(name, "`")
		folder, ok2 := strings.CutSuffix(folder, "`")
		if !ok || !ok2 || strings.Contains(folder, "`") {
			t.Errorf("%s: the first cell must be one package in backquotes: %s", where, line)
			continue
		}
		out = append(out, listed{path: folder, owns: owns, line: first + i, text: line, where: where})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no table rows under %q", path, section)
	}
	return out
}
