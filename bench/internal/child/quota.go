package child

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Quota holds processes to a share of the CPU time, with a control group
// of the kernel's cpu controller that the benchmark makes and removes
// (cgroup v1's cpu hierarchy, or v2 where the root delegates cpu to its
// children). Linux only, and only where the benchmark may write the
// control groups (as root, commonly).
type Quota struct {
	dir    string
	parent string
}

// cgroupRoots are where the cpu controller is looked for: v1, then v2.
var cgroupRoots = []struct{ dir, probe string }{
	{"/sys/fs/cgroup/cpu", "cpu.cfs_quota_us"},
	{"/sys/fs/cgroup/cpu,cpuacct", "cpu.cfs_quota_us"},
	{"/sys/fs/cgroup", "cgroup.subtree_control"},
}

// NewQuota makes the control group name with a quota of cores (0.5 is
// half a CPU's time, in every 100 ms).
func NewQuota(name string, cores float64) (*Quota, error) {
	if cores <= 0 {
		return nil, errors.New("a CPU quota must be above 0 cores")
	}
	const period = 100_000 // µs
	quota := int(cores * period)
	var tried []string
	for _, r := range cgroupRoots {
		b, err := os.ReadFile(filepath.Join(r.dir, r.probe))
		if err != nil {
			continue
		}
		v2 := r.probe == "cgroup.subtree_control"
		if v2 && !slices.Contains(strings.Fields(string(b)), "cpu") {
			tried = append(tried, r.dir+" (cgroup v2 without the cpu controller for its children)")
			continue
		}
		dir := filepath.Join(r.dir, name)
		if err := os.Mkdir(dir, 0o750); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		q := &Quota{dir: dir, parent: r.dir}
		if v2 {
			err = os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, period)), 0o644)
		} else {
			err = os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o644)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644)
			}
		}
		if err != nil {
			q.Close()
			tried = append(tried, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		return q, nil
	}
	return nil, fmt.Errorf("no writable cgroup cpu controller for a CPU quota (tried %s)", strings.Join(tried, "; "))
}

// Dir is the control group's directory.
func (q *Quota) Dir() string { return q.dir }

// Add moves processes into the group; the processes they start later
// are in it from their start.
func (q *Quota) Add(pids ...int) error {
	for _, pid := range pids {
		err := os.WriteFile(filepath.Join(q.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		if err != nil && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such process") {
			return fmt.Errorf("moving process %d into %s: %w", pid, q.dir, err)
		}
	}
	return nil
}

// Close moves what is left in the group back to its parent and removes
// the group.
func (q *Quota) Close() {
	if b, err := os.ReadFile(filepath.Join(q.dir, "cgroup.procs")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = os.WriteFile(filepath.Join(q.parent, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644) //nolint:gosec // a cgroup's own file, a pid the kernel listed
			}
		}
	}
	_ = os.Remove(q.dir)
}
