package cli

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/signing"
)

func TestSignCommandWithAKeyFile(t *testing.T) {
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := key.Encode()
	keyFile := filepath.Join(t.TempDir(), "edge.key")
	if err := os.WriteFile(keyFile, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("sign", "http://edge:8081/live/news/hls/index.m3u8", "--key-file", keyFile, "--path", "/live/news/*", "--expires", "30m", "--cidr", "10.0.0.0/8", "--cookie")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "Set-Cookie: sluice-policy=") {
		t.Fatalf("output:\n%s", out)
	}
	if strings.Contains(out+errs, text[len("hmac:k1:"):]) {
		t.Error("the output shows the key")
	}
	v, _ := signing.NewVerifier(key)
	r := httptest.NewRequest("GET", lines[0], nil)
	r.RemoteAddr = "10.0.0.9:1234"
	if err := v.Verify(r); err != nil {
		t.Errorf("the signed URL is refused: %v", err)
	}
	r.RemoteAddr = "192.0.2.1:1234"
	if err := v.Verify(r); !errors.Is(err, signing.ErrWrongClient) {
		t.Errorf("another client: %v", err)
	}
	v.Now = func() time.Time { return time.Now().Add(time.Hour) }
	r.RemoteAddr = "10.0.0.9:1234"
	if err := v.Verify(r); !errors.Is(err, signing.ErrExpired) {
		t.Errorf("an hour later: %v", err)
	}

	for _, bad := range [][]string{
		{"sign", "--key-file", keyFile},
		{"sign", "--key-file", keyFile, "--path", "/a", "--expires", "soon"},
		{"sign", "--key-file", keyFile, "--key-id", "k9", "--path", "/a"},
		{"sign", "--key-file", filepath.Join(t.TempDir(), "none"), "--path", "/a"},
	} {
		if code, _, errs := run(bad...); code != 1 || errs == "" {
			t.Errorf("%v: exit %d %s", bad, code, errs)
		}
	}
}
