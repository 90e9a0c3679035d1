package procfs

import "time"

// TreeSample is the CPU time of a process tree at one instant, per process,
// so that two samples can be compared process by process.
type TreeSample struct {
	At time.Time
	// CPU maps each process, identified by pid and start time, to its own
	// CPU time.
	CPU map[Identity]time.Duration
}

// Identity names a process for as long as it lives: a pid can be reused,
// the pair of pid and start time cannot.
type Identity struct {
	Pid        int
	StartTicks uint64
}

// SampleTree reads the CPU time of root and all its descendants.
func SampleTree(root int) TreeSample {
	s := TreeSample{At: time.Now(), CPU: map[Identity]time.Duration{}}
	for _, pid := range Tree(root) {
		st, err := ReadStat(pid)
		if err != nil {
			continue // ended meanwhile
		}
		s.CPU[Identity{pid, st.StartTicks}] = st.CPU
	}
	return s
}

// CPUSince returns the CPU time the tree used between from and s. A process
// present in both counts its difference; one that appeared since counts all
// of its time. Changed reports that the set of processes differs: a process
// that ended in between took its time with it, so the figure is then a
// lower bound.
func (s TreeSample) CPUSince(from TreeSample) (used time.Duration, changed bool) {
	for id, c := range s.CPU {
		if before, ok := from.CPU[id]; ok {
			used += c - before
		} else {
			used += c
			changed = true
		}
	}
	for id := range from.CPU {
		if _, ok := s.CPU[id]; !ok {
			changed = true
		}
	}
	return used, changed
}

// Alive reports whether the process is still the one identified.
func (id Identity) Alive() bool {
	st, err := ReadStat(id.Pid)
	return err == nil && st.StartTicks == id.StartTicks
}
