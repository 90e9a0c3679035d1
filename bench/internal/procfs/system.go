package procfs

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// SystemCPU is the machine-wide CPU time from the first line of /proc/stat,
// summed over every core.
type SystemCPU struct {
	// Busy is user, nice, system, irq, softirq and steal time.
	Busy time.Duration
	// Idle is idle and iowait time.
	Idle time.Duration
	// Steal is the time the hypervisor ran something else while this
	// machine's virtual CPUs wanted to run: host contention, which also
	// makes the time charged to processes less exact.
	Steal time.Duration
}

// ReadSystemCPU reads the "cpu" line of /proc/stat.
func ReadSystemCPU() (SystemCPU, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return SystemCPU{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 9 || fields[0] != "cpu" {
			continue
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(fields[i+1], 10, 64)
			if err != nil {
				return SystemCPU{}, err
			}
			v[i] = n
		}
		// user nice system idle iowait irq softirq steal; guest time is
		// already part of user and nice.
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		idle := v[3] + v[4]
		return SystemCPU{
			Busy:  time.Duration(busy) * tick, //nolint:gosec // /proc tick counters are far below 2^63
			Idle:  time.Duration(idle) * tick, //nolint:gosec // as above
			Steal: time.Duration(v[7]) * tick, //nolint:gosec // as above
		}, nil
	}
	if err := sc.Err(); err != nil {
		return SystemCPU{}, err
	}
	return SystemCPU{}, errors.New("/proc/stat: no cpu line")
}
