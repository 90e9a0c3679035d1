package cli

import (
	"net"
	"strings"
	"testing"
)

// The database URL carries a password: neither --help nor the error of a
// database that does not answer prints it, and the error names where the
// server looked.
func TestDatabasePasswordIsNeverPrinted(t *testing.T) {
	const password = "pw-0123456789-secret"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("SLUICE_DATABASE", "postgres://sluice:"+password+"@"+closed+"/sluice")
	for _, cmd := range []string{"serve", "worker"} {
		if _, out, _ := run(cmd, "--help"); strings.Contains(out, password) {
			t.Errorf("sluice %s --help prints the database password:\n%s", cmd, out)
		}
	}
	code, out, errs := run("serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--rtmp", "", "--srt", "",
		"--ffmpeg", "/bin/true", "--ffprobe", "/bin/true")
	if code == 0 || strings.Contains(out+errs, password) {
		t.Fatalf("exit %d, the password shown:\n%s%s", code, out, errs)
	}
	for _, want := range []string{"the state database does not answer", closed, `database "sluice"`, "xxxxx"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the error does not say %q:\n%s", want, errs)
		}
	}
}
