package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
)

// encoderProcess is a reference ffmpeg run by the benchmark. It reads the
// -progress report from descriptor 3 and samples the process's CPU time the
// moment each report arrives.
type encoderProcess struct {
	label   string
	proc    *child.Process
	logPath string

	mu      sync.Mutex
	last    reading
	reports int
	// tick is closed and replaced at every report.
	tick chan struct{}
}

// startEncoder runs ffmpeg with args; its log goes to dir/<label>.log.
func startEncoder(bin string, args []string, label, dir string) (*encoderProcess, error) {
	progR, progW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, strings.ReplaceAll(label, " ", "-")+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		_ = progR.Close()
		_ = progW.Close()
		return nil, err
	}
	proc, err := child.Start(bin, args, child.Options{Dir: dir, Stderr: logFile, ExtraFiles: []*os.File{progW}})
	_ = progW.Close() // the child holds the write end now
	_ = logFile.Close()
	if err != nil {
		_ = progR.Close()
		return nil, err
	}
	e := &encoderProcess{label: label, proc: proc, logPath: logPath, tick: make(chan struct{})}
	go func() {
		defer progR.Close()
		_ = ffmpeg.ParseProgress(progR, e.report)
	}()
	return e, nil
}

// report records one progress report with the CPU time at that moment.
func (e *encoderProcess) report(p ffmpeg.Progress) {
	cpu := procfs.SampleTree(e.proc.Pid())
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = reading{OutTime: p.OutTime, Speed: p.Speed, CPU: cpu}
	e.reports++
	close(e.tick)
	e.tick = make(chan struct{})
}

func (e *encoderProcess) Label() string { return e.label }

func (e *encoderProcess) Root() int { return e.proc.Pid() }

func (e *encoderProcess) Next(ctx context.Context) (reading, error) {
	e.mu.Lock()
	tick := e.tick
	e.mu.Unlock()
	select {
	case <-tick:
	case <-e.proc.Done():
		return reading{}, e.exitError()
	case <-ctx.Done():
		return reading{}, ctx.Err()
	case <-time.After(30 * time.Second):
		return reading{}, fmt.Errorf("%s: no progress report for 30 s (log: %s)", e.label, e.logPath)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last, nil
}

func (e *encoderProcess) Latest(context.Context) (reading, error) {
	select {
	case <-e.proc.Done():
		return reading{}, e.exitError()
	default:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reports == 0 {
		return reading{}, errors.New(e.label + ": no progress report yet")
	}
	return e.last, nil
}

// exitError explains an encoder that ended while being measured, with the
// end of its log.
func (e *encoderProcess) exitError() error {
	b, _ := os.ReadFile(e.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return fmt.Errorf("%w: %s", e.proc.ExitedEarly(e.label), strings.Join(lines, "; "))
}

// stop ends the encoder.
func (e *encoderProcess) stop() { e.proc.Stop(3 * time.Second) }
