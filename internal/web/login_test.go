package web

import (
	"net/url"
	"strings"
	"testing"
)

func TestLoginSendsTheBrowserOnlyToThisServer(t *testing.T) {
	for next, want := range map[string]string{
		"/console":              "/console",
		"/console?c=a&b=2":      "/console?c=a&b=2",
		"":                      "/",
		"console":               "/",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"/x\r\nSet-Cookie: a=b": "/",
		"javascript:alert(1)":   "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("%q: %q, want %q", next, got, want)
		}
	}
}

// FuzzLocalPath: whatever next= a login is given, the browser is sent to
// a path of this server, never to another host.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/console", "//evil.example", "/\\evil", "https://x/", "/%2F%2Fevil", "/\t/evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localPath(next)
		if got != "/" && got != next {
			t.Fatalf("%q became %q", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("%q leads to %q (%+v, %v)", next, got, u, err)
		}
	})
}
