package confine

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout is a media directory, an allowed folder and a folder outside
// both, with links between them.
type layout struct {
	media, allowed, outside string
	roots                   *Roots
}

func newLayout(t *testing.T) layout {
	t.Helper()
	base := t.TempDir()
	l := layout{media: filepath.Join(base, "media"), allowed: filepath.Join(base, "videos"), outside: filepath.Join(base, "private")}
	for _, d := range []string{l.media, l.allowed, l.outside, filepath.Join(l.media, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, body string) {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(l.media, "in.mp4"), "media")
	write(filepath.Join(l.media, "sub", "deep.mp4"), "deep")
	write(filepath.Join(l.allowed, "show.mp4"), "allowed")
	write(filepath.Join(l.outside, "secret.mp4"), "secret")
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(l.media, name)); err != nil {
			t.Fatal(err)
		}
	}
	link("in.mp4", "inside-link.mp4")
	link(filepath.Join(l.media, "sub", "deep.mp4"), "inside-abs-link.mp4")
	link(filepath.Join(l.outside, "secret.mp4"), "out-link.mp4")
	link(filepath.Join(l.outside, "missing.mp4"), "out-missing-link.mp4")
	link("../private/secret.mp4", "out-rel-link.mp4")
	link(l.outside, "out-dir")
	link(filepath.Join(l.allowed, "show.mp4"), "to-allowed.mp4")
	link(l.allowed, "allowed-dir")
	r, err := New(l.media, []string{l.allowed})
	if err != nil {
		t.Fatal(err)
	}
	l.roots = r
	return l
}

func TestOpenStaysInsideTheRoots(t *testing.T) {
	l := newLayout(t)
	ok := map[string]string{
		"in.mp4":                                 "media",
		"./sub/../in.mp4":                        "media",
		"sub/deep.mp4":                           "deep",
		"inside-link.mp4":                        "media",
		"inside-abs-link.mp4":                    "deep",
		"to-allowed.mp4":                         "allowed", // a link into another allowed folder
		"allowed-dir/show.mp4":                   "allowed",
		filepath.Join(l.media, "in.mp4"):         "media",
		filepath.Join(l.allowed, "show.mp4"):     "allowed",
		filepath.Join(l.media, "to-allowed.mp4"): "allowed",
	}
	for raw, want := range ok {
		f, err := l.roots.Open(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		b, _ := io.ReadAll(f)
		_ = f.Close()
		if string(b) != want {
			t.Errorf("%s read %q, want %q", raw, b, want)
		}
	}
	outside := []string{
		"out-link.mp4", "out-missing-link.mp4", "out-rel-link.mp4", "out-dir/secret.mp4", "out-dir/missing.mp4",
		"../private/secret.mp4", "sub/../../private/secret.mp4",
		filepath.Join(l.outside, "secret.mp4"), filepath.Join(l.outside, "missing.mp4"), "/etc/passwd",
		filepath.Join(l.media, "..", "private", "secret.mp4"),
	}
	for _, raw := range outside {
		f, err := l.roots.Open(raw)
		if err == nil {
			_ = f.Close()
			t.Errorf("%s was opened", raw)
			continue
		}
		if !errors.Is(err, ErrOutside) || err.Error() != raw+": "+ErrOutside.Error() {
			t.Errorf("%s: %v, want %v", raw, err, ErrOutside)
		}
	}
	if _, err := l.roots.Open("missing.mp4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing file in the media directory: %v", err)
	}
	if _, err := l.roots.Open("sub"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
}

// TestOutsideErrorsTellNothing: a file outside the roots that exists and
// one that does not get the same answer, by path and by link.
func TestOutsideErrorsTellNothing(t *testing.T) {
	l := newLayout(t)
	pairs := [][2]string{
		{filepath.Join(l.outside, "secret.mp4"), filepath.Join(l.outside, "missing.mp4")},
		{"out-link.mp4", "out-missing-link.mp4"},
		{"out-dir/secret.mp4", "out-dir/missing.mp4"},
	}
	for _, p := range pairs {
		_, e1 := l.roots.Open(p[0])
		_, e2 := l.roots.Open(p[1])
		if e1 == nil || e2 == nil {
			t.Fatalf("%s: %v, %s: %v", p[0], e1, p[1], e2)
		}
		m1 := strings.TrimPrefix(e1.Error(), p[0])
		m2 := strings.TrimPrefix(e2.Error(), p[1])
		if m1 != m2 {
			t.Errorf("an existing and a missing file outside differ: %q vs %q", e1, e2)
		}
	}
}

func TestCheckIsLexical(t *testing.T) {
	l := newLayout(t)
	for raw, ok := range map[string]bool{
		"a.mp4":                               true,
		"x/../a.mp4":                          true,
		"../a.mp4":                            false,
		filepath.Join(l.allowed, "x.mp4"):     true,
		filepath.Join(l.allowed+"2", "x.mp4"): false, // a sibling whose name starts the same
		filepath.Join(l.outside, "x.mp4"):     false,
	} {
		if err := l.roots.Check(raw); (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if _, err := New("media", []string{"relative/dir"}); err == nil {
		t.Error("a relative --media-allow folder was taken")
	}
}

func TestOpenDir(t *testing.T) {
	l := newLayout(t)
	d, err := l.roots.OpenDir("uploads/in", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("a.mp4", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	if _, err := os.Stat(filepath.Join(l.media, "uploads", "in", "a.mp4")); err != nil {
		t.Fatal(err)
	}
	d, err = l.roots.OpenDir("allowed-dir", false)
	if err != nil {
		t.Fatalf("a link to an allowed folder: %v", err)
	}
	_ = d.Close()
	for _, raw := range []string{"out-dir", "out-dir/new", l.outside, "../private", "/etc"} {
		if d, err := l.roots.OpenDir(raw, true); !errors.Is(err, ErrOutside) {
			if d != nil {
				_ = d.Close()
			}
			t.Errorf("%s: %v, want %v", raw, err, ErrOutside)
		}
	}
	if _, err := os.Stat(filepath.Join(l.outside, "new")); err == nil {
		t.Error("a folder was created outside the roots")
	}
}
