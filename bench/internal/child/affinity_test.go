package child

import (
	"runtime"
	"slices"
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
