package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// activeAfter is how much media a remuxer must have taken before its
// delivery counts as active.
const activeAfter = 3 * time.Second

// remux feeds one rendition's video and the audio, from the next key frame,
// to an ffmpeg that copies them into another container and destination.
type remux struct {
	hub *Hub
	bin string
	// args is the remuxer's argv for frames that reach it delay after
	// their capture.
	args         func(delay time.Duration) []string
	video, audio string
}

// attempt runs the remuxer until the encoder run ends (nil), the remuxer
// fails (its last words), or ctx ends.
func (r *remux) attempt(parent context.Context, active func()) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	vsub, err := r.hub.Subscribe(ctx, r.video, true)
	if err != nil {
		return nil //nolint:nilerr // ctx ended: the caller stops
	}
	defer vsub.Close()
	asub, err := r.hub.Subscribe(ctx, r.audio, false)
	if err != nil {
		return nil //nolint:nilerr // ctx ended
	}
	defer asub.Close()
	// The first key frame tells how long after its capture media reaches
	// the remuxer.
	first, err := vsub.Next(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) || parent.Err() != nil {
			return nil // the run ended, or the delivery stopped
		}
		return err
	}
	delay := r.hub.now().Sub(vsub.WallClock(first.PTS))

	vr, vw, err := os.Pipe()
	if err != nil {
		return err
	}
	ar, aw, err := os.Pipe()
	if err != nil {
		_ = vr.Close()
		_ = vw.Close()
		return err
	}
	log := &lastLines{max: 5}
	cmd := exec.Command(r.bin, rebased(r.args(delay), first.Start, vsub.Run().Timescale)...) //nolint:gosec // argv built in Go from validated settings
	cmd.ExtraFiles = []*os.File{vr, ar}                                                      // descriptors 3 and 4
	cmd.Stderr = log
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	err = cmd.Start()
	_ = vr.Close()
	_ = ar.Close()
	if err != nil {
		_ = vw.Close()
		_ = aw.Close()
		return fmt.Errorf("starting the remuxer: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The audio starts where the video's first key frame does.
	videoStart := make(chan float64, 1)
	var wg sync.WaitGroup
	var feedErr error
	var once sync.Once
	fail := func(err error) {
		once.Do(func() { feedErr = err })
		cancel()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() { _ = vw.Close() }()
		announced := false
		begin := first.Start
		videoStart <- float64(first.Start) / float64(vsub.Run().Timescale)
		err := pump(ctx, vsub, vw, &first, func(f Fragment, ts uint32) bool {
			// Once the remuxer has taken more than its probe and the pipe
			// hold, its destination is open and taking media.
			if !announced && f.Start-begin >= uint64(activeAfter.Seconds()*float64(ts)) {
				announced = true
				active()
			}
			return true
		})
		fail(err) // pump always ends with a reason
	}()
	go func() {
		defer wg.Done()
		defer func() { _ = aw.Close() }()
		var start float64
		select {
		case start = <-videoStart:
		case <-ctx.Done():
			return
		}
		err := pump(ctx, asub, aw, nil, func(f Fragment, ts uint32) bool {
			return float64(f.Start+f.Duration)/float64(ts) > start
		})
		fail(err)
	}()
	var waitErr error
	select {
	case waitErr = <-exited:
		cancel()
		wg.Wait()
	case <-ctx.Done():
		wg.Wait() // the pipes are closed: the remuxer finishes its files and ends
		select {
		case waitErr = <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			waitErr = <-exited
		}
	}
	switch {
	case parent.Err() != nil, errors.Is(feedErr, io.EOF):
		return nil // stopped, or the encoder run ended
	case errors.Is(feedErr, ErrBehind):
		return ErrBehind
	case waitErr != nil:
		return fmt.Errorf("the remuxer %w: %s", waitErr, log.String())
	}
	return fmt.Errorf("the remuxer stopped: %s", log.String())
}

// rebaseLead is where the remuxer's output starts: this long after zero,
// so that audio joined a little before the video stays above it.
const rebaseLead = 10 * time.Second

// rebased moves the remuxer's output timestamps (kept as the encoder wrote
// them) so that they start near zero: the encoder counts media time from
// the channel's availability start, which after weeks no longer fits
// FLV's 32-bit milliseconds, and receivers expect a stream to start near
// zero. start is the decode time of the first video fragment, in
// timescale units; the output URL is the last argument.
func rebased(args []string, start uint64, timescale uint32) []string {
	if timescale == 0 || len(args) == 0 {
		return args
	}
	at := time.Duration(start/uint64(timescale)) * time.Second //nolint:gosec // seconds of media time, far below the overflow
	if at <= rebaseLead {
		return args
	}
	shift := strconv.FormatInt(-int64((at-rebaseLead)/time.Second), 10)
	out := append([]string(nil), args[:len(args)-1]...)
	return append(out, "-output_ts_offset", shift, args[len(args)-1])
}

// pump writes the run's init segment and then the fragments that keep
// accepts (first, when set, before those it reads), until the subscription
// or the writer ends; it always returns why.
func pump(ctx context.Context, sub *Sub, w io.Writer, first *Fragment, keep func(Fragment, uint32) bool) error {
	info := sub.Run()
	if _, err := w.Write(info.Init); err != nil {
		return fmt.Errorf("writing to the remuxer: %w", err)
	}
	for {
		var f Fragment
		if first != nil {
			f, first = *first, nil
		} else {
			var err error
			if f, err = sub.Next(ctx); err != nil {
				return err
			}
		}
		if !keep(f, info.Timescale) {
			continue
		}
		if _, err := w.Write(f.Data); err != nil {
			return fmt.Errorf("writing to the remuxer: %w", err)
		}
	}
}

// lastLines keeps the last lines a child process wrote to its standard
// error, to explain why it stopped.
type lastLines struct {
	max   int
	mu    sync.Mutex
	lines []string
	part  string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.part + string(p)
	parts := strings.Split(s, "\n")
	l.part = parts[len(parts)-1]
	for _, line := range parts[:len(parts)-1] {
		if line = strings.TrimSpace(line); line != "" {
			l.lines = append(l.lines, line)
		}
	}
	if len(l.lines) > l.max {
		l.lines = l.lines[len(l.lines)-l.max:]
	}
	if len(l.part) > 4096 {
		l.part = l.part[:4096]
	}
	return len(p), nil
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if l.part != "" {
		lines = append(lines, l.part)
	}
	if len(lines) == 0 {
		return "it said nothing"
	}
	return strings.Join(lines, "; ")
}
