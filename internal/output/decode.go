package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// FrameSpec is the fixed picture size and rate a frame consumer wants.
type FrameSpec struct {
	Rendition     string
	Width, Height int
	FPS           float64
}

// Frame is one decoded picture, RGB24, of exactly the requested size.
type Frame struct {
	// Seq counts the frames of one consumer from 0, without gaps.
	Seq uint64 `json:"seq"`
	// PTS is the presentation time in seconds, on a grid of 1/fps.
	PTS float64 `json:"pts"`
	// Time is the wall-clock time the picture was taken by the encoder.
	Time      time.Time `json:"time"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Rendition string    `json:"rendition"`
	// Fill marks a repeated picture standing in for a gap in the stream
	// (the encoder restarting); Discontinuity marks the first picture after
	// such a gap. As DecodeRun emits them, Discontinuity marks the first
	// picture of a run.
	Fill          bool   `json:"fill,omitempty"`
	Discontinuity bool   `json:"discontinuity,omitempty"`
	RGB           []byte `json:"-"`
}

// DecodeArgs returns the argv of the ffmpeg that decodes a rendition's
// fragmented MP4 from standard input into raw RGB24 pictures of a fixed
// size (letterboxed) at a fixed rate on standard output. The fps filter
// drops and repeats pictures by timestamp, so the rate holds whatever the
// rendition's own rate is.
func DecodeArgs(s FrameSpec) []string {
	w, h := strconv.Itoa(s.Width), strconv.Itoa(s.Height)
	return []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-copyts", "-f", "mp4", "-i", "pipe:0",
		"-map", "0:v:0",
		"-vf", "fps=" + strconv.FormatFloat(s.FPS, 'f', -1, 64) +
			",scale=" + w + ":" + h + ":force_original_aspect_ratio=decrease" +
			",pad=" + w + ":" + h + ":(ow-iw)/2:(oh-ih)/2,setsar=1,format=rgb24",
		"-fps_mode", "passthrough",
		"-f", "rawvideo", "pipe:1",
	}
}

// DecodeRun decodes one encoder run of a rendition from its next key frame
// and calls emit for every picture, on the run's own PTS grid. The first
// picture is marked Discontinuity, so that whoever numbers the pictures
// (a FrameFeed, a FrameTap) knows where a run begins; Seq and Fill are left
// to them. It returns nil when the run ended, emit's error, or why the
// decoder failed.
func DecodeRun(ctx context.Context, hub *Hub, bin string, spec FrameSpec, emit func(Frame) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := hub.Subscribe(ctx, spec.Rendition, true)
	if err != nil {
		return err
	}
	defer sub.Close()
	log := &lastLines{max: 5}
	cmd := exec.Command(bin, DecodeArgs(spec)...) //nolint:gosec // argv built in Go from validated settings
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the frame decoder: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	info := sub.Run()
	firstPTS := make(chan int64, 1)
	feedErr := make(chan error, 1)
	go func() {
		defer func() { _ = stdin.Close() }()
		first := true
		err := pump(ctx, sub, stdin, nil, func(f Fragment, _ uint32) bool {
			if first {
				first = false
				firstPTS <- f.PTS
			}
			return true
		})
		feedErr <- err
		if !errors.Is(err, io.EOF) {
			cancel()
		}
	}()
	t0, err := firstFragment(ctx, firstPTS, feedErr)
	if err != nil {
		return endOfRun(err)
	}
	// The fps filter puts its first picture on the grid point nearest the
	// first input picture; later ones follow every 1/fps.
	k0 := math.Round(float64(t0) / float64(info.Timescale) * spec.FPS)
	size := spec.Width * spec.Height * 3
	for n := 0; ; n++ {
		buf := make([]byte, size)
		if _, err := io.ReadFull(stdout, buf); err != nil {
			select {
			case ferr := <-feedErr:
				if e := endOfRun(ferr); e != nil {
					return e
				}
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil
				}
			default:
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			_ = cmd.Wait()
			return fmt.Errorf("the frame decoder stopped: %s", log.String())
		}
		pts := (k0 + float64(n)) / spec.FPS
		wall := sub.WallClock(int64(math.Round(pts * float64(info.Timescale))))
		if err := emit(Frame{PTS: pts, Time: wall.UTC(), Width: spec.Width, Height: spec.Height, Rendition: spec.Rendition, Discontinuity: n == 0, RGB: buf}); err != nil {
			return err
		}
	}
}

// firstFragment waits for the PTS of the first fragment fed to the
// decoder, or for the feed's end when the run ended before one. A short
// run can be fed whole before anyone looks: its first fragment and its
// end are then both ready, and the fragment wins, put back the end for
// the read loop, so that the run's pictures are not lost.
func firstFragment(ctx context.Context, firstPTS <-chan int64, feedErr chan error) (int64, error) {
	select {
	case t0 := <-firstPTS:
		return t0, nil
	case err := <-feedErr:
		select {
		case t0 := <-firstPTS:
			feedErr <- err
			return t0, nil
		default:
		}
		if err == nil {
			err = io.EOF
		}
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// endOfRun maps how the feed ended: nil when the encoder run ended.
func endOfRun(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
