package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one encoder process.
type Config struct {
	// Binary is the ffmpeg executable.
	Binary string
	// Args is the full argv after the program name, built in Go.
	Args []string
	// Outputs is how many output pipes the argv writes to, on descriptors
	// 4, 5, … (descriptor 3 carries the progress report).
	Outputs int
	// Stdin, when set, gives the process a pipe on its standard input
	// (Process.Stdin) to write the source to.
	Stdin bool
	// StdinFile, when set, is given to the process as its standard input:
	// an input file Sluice opened (ffmpeg reads it as file:/dev/stdin,
	// which opens the same file anew, seekable). The caller keeps and
	// closes its own descriptor.
	StdinFile *os.File
	// Finite marks a run over a file that ends: a clean exit is success,
	// not a live source that stopped.
	Finite bool
	// OnProgress receives every progress report.
	OnProgress func(Progress)
	Logger     *slog.Logger
}

// Process is a running encoder.
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	outputs []*os.File
	log     *tail
	done    chan struct{}
	err     error
	stopped bool
	finite  bool
	mu      sync.Mutex
}

// ExitError explains why the encoder stopped, in ffmpeg's own words.
type ExitError struct {
	// Status is the exit status or the signal.
	Status string
	// Reason is ffmpeg's last log lines.
	Reason string
}

func (e *ExitError) Error() string {
	if e.Reason == "" {
		return "ffmpeg " + e.Status
	}
	return "ffmpeg " + e.Status + ": " + e.Reason
}

// Start runs the encoder. The child is killed if this process dies, so an
// encoder never outlives the server.
func Start(cfg Config) (*Process, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	progR, progW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	extra := []*os.File{progW}
	var readers []*os.File
	closeAll := func() {
		for _, f := range append(extra, readers...) {
			_ = f.Close()
		}
		_ = progR.Close()
	}
	for range cfg.Outputs {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		readers = append(readers, r)
		extra = append(extra, w)
	}
	logger := cfg.Logger
	limit := &lineLimit{max: 10, per: 10 * time.Second}
	p := &Process{
		outputs: readers,
		finite:  cfg.Finite,
		done:    make(chan struct{}),
		log: &tail{max: 20, onLine: func(line string) {
			if ok, dropped := limit.allow(time.Now()); ok {
				if dropped > 0 {
					logger.Warn(fmt.Sprintf("encoder said %d more lines that were not logged", dropped))
				}
				logger.Warn("encoder says: " + line)
			}
		}},
	}
	// The context is not used to end the process: Stop asks it to finish first.
	cmd := exec.Command(cfg.Binary, cfg.Args...) //nolint:gosec // argv built in Go from validated settings, never a shell
	cmd.ExtraFiles = extra
	cmd.Stdout = io.Discard
	cmd.Stderr = p.log
	if cfg.StdinFile != nil {
		cmd.Stdin = cfg.StdinFile
	}
	if cfg.Stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		p.stdin = w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("starting ffmpeg: %w", err)
	}
	p.cmd = cmd
	for _, w := range extra {
		_ = w.Close() // the child holds the write ends now
	}
	go func() {
		_ = ParseProgress(progR, func(pr Progress) {
			if cfg.OnProgress != nil {
				cfg.OnProgress(pr)
			}
		})
		_ = progR.Close()
	}()
	go p.wait()
	return p, nil
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if err != nil && !stopped {
		p.err = p.exitError(err)
	} else if err == nil && !stopped && !p.finite {
		p.err = &ExitError{Status: "exited", Reason: "the encoder finished although the channel is live (the source ended)"}
	}
	close(p.done)
}

func (p *Process) exitError(err error) error {
	status := err.Error()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = "was killed by signal " + ws.Signal().String()
		} else {
			status = fmt.Sprintf("exited with status %d", exit.ExitCode())
		}
	}
	return &ExitError{Status: status, Reason: summarize(p.log.Lines())}
}

// summarize picks the log lines that explain a failure: the last ones, with
// the repeated final "Conversion failed!" dropped.
func summarize(lines []string) string {
	var keep []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "Conversion failed!" || strings.HasPrefix(l, "Exiting normally") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, "; ")
}

// Stdin returns the write end of the process's standard input, nil unless
// Config.Stdin was set. Closing it ends the input.
func (p *Process) Stdin() io.WriteCloser { return p.stdin }

// Outputs returns the read ends of the output pipes, in argv order.
func (p *Process) Outputs() []*os.File { return p.outputs }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns why the process exited: nil after Stop, an *ExitError when it
// died or ended on its own. Valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Stop ends the process: SIGTERM, then SIGKILL after grace. It returns once
// the process has exited.
func (p *Process) Stop(ctx context.Context, grace time.Duration) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
