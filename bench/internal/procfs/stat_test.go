package procfs

import (
	"os"
	"testing"
	"time"
)

func TestParseStatNameWithParentheses(t *testing.T) {
	line := "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 98765 1000 100 18446744073709551615\n"
	st, err := parseStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != 17 || st.CPU != 3*time.Second || st.StartTicks != 98765 {
		t.Fatalf("got %+v", st)
	}
}

func TestOwnProcess(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != os.Getppid() {
		t.Fatalf("ppid %d, want %d", st.PPid, os.Getppid())
	}
	if rss, err := PeakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("peak RSS %d, %v", rss, err)
	}
	if _, err := ReadSystemCPU(); err != nil {
		t.Fatal(err)
	}
}
