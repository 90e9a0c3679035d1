package child

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-video/sluice/bench/internal/procfs"
)

// Options complete the command line of a child.
type Options struct {
	Dir string
	// Stdin feeds the child's standard input; nil reads nothing.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ExtraFiles become descriptors 3, 4, … of the child.
	ExtraFiles []*os.File
	// CPUs, when set, are the only CPUs the child (and what it starts)
	// runs on.
	CPUs []int
	// Env is the child's environment; nil inherits the benchmark's.
	Env []string
}

// Process is a running child in its own process group.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs name with args. The child leads a new process group, so that
// the terminal's Ctrl-C reaches only the benchmark, which then stops its
// children in order; and it receives SIGKILL if the benchmark dies first.
func Start(name string, args []string, opts Options) (*Process, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = opts.Dir
	cmd.Stdin = opts.Stdin
	cmd.Stdout = opts.Stdout
	cmd.Stderr = opts.Stderr
	cmd.ExtraFiles = opts.ExtraFiles
	cmd.Env = opts.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	var err error
	if len(opts.CPUs) > 0 {
		err = startPinned(cmd, opts.CPUs, p.done)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startPinned starts cmd from a thread of its own that runs on cpus
// only, which the child inherits. The thread lives until the child has
// exited (done): the child's death signal goes with the thread that
// started it, not with the benchmark's process.
func startPinned(cmd *exec.Cmd, cpus []int, done <-chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after
		// the child.
		runtime.LockOSThread()
		if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
			started <- fmt.Errorf("CPUs %v: %w", cpus, err)
			return
		}
		err := cmd.Start()
		started <- err
		if err == nil {
			<-done
		}
	}()
	return <-started
}

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process ended; valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Stop asks the process to finish with SIGTERM and waits up to grace for
// it; then it kills its process group. Descendants that put themselves in
// a group of their own (Sluice's encoders do) are found beforehand and
// killed too if they are still the same processes. Stop returns once the
// process has exited; it may be called more than once.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	var tree []procfs.Identity
	for _, pid := range procfs.Tree(p.Pid()) {
		if st, err := procfs.ReadStat(pid); err == nil {
			tree = append(tree, procfs.Identity{Pid: pid, StartTicks: st.StartTicks})
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
	// Leftover descendants: give them the grace period too, then kill them.
	deadline := time.Now().Add(grace)
	for _, id := range tree {
		if id.Pid == p.Pid() {
			continue
		}
		for id.Alive() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if id.Alive() {
			_ = syscall.Kill(id.Pid, syscall.SIGKILL)
		}
	}
}

// ExitedEarly describes a child that ended while it was still needed.
func (p *Process) ExitedEarly(what string) error {
	err := p.Err()
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("%s ended unexpectedly: %w", what, err)
}
