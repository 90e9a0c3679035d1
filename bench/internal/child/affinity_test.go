package child

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU")
	}
	for in, want := range map[string][]int{"": nil, "0": {0}, "1,0": {0, 1}, "0-1": {0, 1}, "0, 1-1": {0, 1}} {
		got, err := ParseCPUs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseCPUs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"a", "1-0", "-1", "0,", "99999"} {
		if got, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q) = %v, want an error", in, got)
		}
	}
}

// A child started on CPUs runs there, whatever this process may use.
func TestStartOnCPUs(t *testing.T) {
	p, err := Start("sleep", []string{"30"}, Options{CPUs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if got := AllowedCPUs(p.Pid()); got != "0" {
		t.Errorf("the child may run on CPUs %q, want 0", got)
	}
}

// A child held by a quota is in its control group, which is gone once
// closed.
func TestQuotaHoldsAChild(t *testing.T) {
	q, err := NewQuota(fmt.Sprintf("sluice-test-%d", os.Getpid()), 0.5)
	if err != nil {
		t.Skip(err)
	}
	p, err := Start("sleep", []string{"30"}, Options{})
	if err != nil {
		q.Close()
		t.Fatal(err)
	}
	if err := q.Add(p.Pid()); err != nil {
		t.Error(err)
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p.Pid()))
	if !strings.Contains(string(b), filepath.Base(q.Dir())) {
		t.Errorf("the child's control groups:\n%s\nwant %s", b, q.Dir())
	}
	p.Stop(time.Second)
	q.Close()
	if _, err := os.Stat(q.Dir()); !os.IsNotExist(err) {
		t.Errorf("the control group is still there: %v", err)
	}
}
