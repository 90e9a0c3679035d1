package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/signing"
)

func TestServerKeysReadFlagsAndFiles(t *testing.T) {
	k1, _ := signing.NewHMACKey("k1")
	k2, _ := signing.NewEd25519Key("k2")
	t1, _ := k1.Encode()
	t2, _ := k2.Encode()
	file := filepath.Join(t.TempDir(), "k2.key")
	if err := os.WriteFile(file, []byte(t2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, trusted, err := serverKeys([]string{t1, "@" + file}, []string{"10.1.2.3/16"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ring.IDs(), ","); got != "k1,k2" || len(trusted) != 1 || trusted[0].String() != "10.1.0.0/16" {
		t.Errorf("keys %s, trusted %v", got, trusted)
	}
	for _, bad := range []struct {
		keys, nets []string
		want       string
	}{
		{[]string{t1, t1}, nil, "used twice"},
		{[]string{"hmac:k1:c2hvcnQ"}, nil, "at least 16 bytes"},
		{[]string{"@" + filepath.Join(t.TempDir(), "none")}, nil, "reading the key file"},
		{nil, []string{"10.0.0.0"}, "--signing-trusted-network"},
	} {
		_, _, err := serverKeys(bad.keys, bad.nets)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v %v: %v, want %q", bad.keys, bad.nets, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), t1[len("hmac:k1:"):]) {
			t.Error("the error shows the key")
		}
	}
	t.Setenv("SLUICE_TEST_KEYS", " a, ,b ")
	if got := splitEnv("SLUICE_TEST_KEYS"); strings.Join(got, "|") != "a|b" {
		t.Errorf("splitEnv: %q", got)
	}
}

func TestHelpNeverPrintsSecretsFromTheEnvironment(t *testing.T) {
	t.Setenv("SLUICE_TOKEN", "token-from-the-environment")
	t.Setenv("SLUICE_SIGNING_KEYS", "hmac:k1:c2VjcmV0LWZyb20tdGhlLWVudmlyb25tZW50")
	for _, c := range [][]string{{"serve", "--help"}, {"channel", "list", "--help"}, {"edge", "--help"}, {"sign", "--help"}} {
		_, out, errs := run(c...)
		if strings.Contains(out+errs, "token-from-the-environment") || strings.Contains(out+errs, "c2VjcmV0LWZyb20") {
			t.Errorf("sluice %s prints a secret from the environment", strings.Join(c, " "))
		}
	}
}
