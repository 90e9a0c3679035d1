package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat and
// /proc/stat. Linux exposes 100 ticks per second to user space on every
// architecture, independent of the kernel's internal HZ.
const ClockTicks = 100

// tick is the duration of one clock tick.
const tick = time.Second / ClockTicks

// ProcStat is the part of /proc/<pid>/stat the benchmarks use.
type ProcStat struct {
	Pid  int
	PPid int
	// CPU is utime+stime: the time the process's own threads spent on a
	// CPU. Children are not included, alive or exited.
	CPU time.Duration
	// StartTicks is when the process started, in ticks after boot; with
	// the pid it identifies a process even if the pid is reused.
	StartTicks uint64
}

// ReadStat parses /proc/<pid>/stat.
func ReadStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, err
	}
	return parseStat(pid, b)
}

// parseStat splits the stat line after the command name: the name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// start after the last ')'.
func parseStat(pid int, b []byte) (ProcStat, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return ProcStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// Fields after the name, numbered from 3 (state) as in proc(5).
	f := bytes.Fields(b[end+1:])
	field := func(n int) (uint64, error) {
		i := n - 3
		if i >= len(f) {
			return 0, fmt.Errorf("/proc/%d/stat: %d fields, want at least %d", pid, len(f)+2, n)
		}
		return strconv.ParseUint(string(f[i]), 10, 64)
	}
	ppid, err := field(4)
	if err != nil {
		return ProcStat{}, err
	}
	utime, err := field(14)
	if err != nil {
		return ProcStat{}, err
	}
	stime, err := field(15)
	if err != nil {
		return ProcStat{}, err
	}
	start, err := field(22)
	if err != nil {
		return ProcStat{}, err
	}
	return ProcStat{
		Pid:        pid,
		PPid:       int(ppid),                         //nolint:gosec // pids are far below 2^31
		CPU:        time.Duration(utime+stime) * tick, //nolint:gosec // /proc tick counters are far below 2^63
		StartTicks: start,
	}, nil
}
