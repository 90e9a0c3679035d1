package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Children returns the pids of pid's direct children. It reads
// /proc/<pid>/task/*/children when the kernel provides it and otherwise
// scans every process for its parent.
func Children(pid int) ([]int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err == nil && len(tasks) > 0 {
		var out []int
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // the thread ended meanwhile
			}
			for _, s := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(s); err == nil {
					out = append(out, c)
				}
			}
		}
		return out, nil
	}
	return scanChildren(pid)
}

// scanChildren finds the children of pid by reading every process's parent.
func scanChildren(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(p)
		if err == nil && st.PPid == pid {
			out = append(out, p)
		}
	}
	return out, nil
}

// Tree returns pid followed by all its descendants, parents before
// children. Processes that end while the tree is walked are left out.
func Tree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		kids, err := Children(out[i])
		if err != nil {
			continue
		}
		out = append(out, kids...)
	}
	return out
}

// Cmdline returns the argv of a process from /proc/<pid>/cmdline.
func Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

// Name returns the command name of a process from /proc/<pid>/comm.
func Name(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
