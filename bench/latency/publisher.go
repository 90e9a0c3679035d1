package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/internal/testutil/clockcode"
)

// Publisher picture: testsrc2 at 640×360, 30 fps, as in the hand
// measurement, with the publisher's wall clock burnt in twice: as text at
// the top left (ffmpeg's drawtext with localtime, for people looking at a
// screenshot) and as the clock code along the bottom (for the benchmark).
const (
	frameWidth  = 640
	frameHeight = 360
	frameRate   = 30
)

// clockText is the drawtext filter of the hand measurement: the local
// time with milliseconds, black on a white box. The backslashes are those
// ffmpeg itself must see (the shell's single quotes keep them as they are).
const clockText = `drawtext=text='%{localtime\:%H\\\:%M\\\:%S.%3N}':fontsize=56:fontcolor=black:box=1:boxcolor=white:x=10:y=10`

// publisher is the "camera": one ffmpeg renders testsrc2 as raw frames;
// the benchmark stamps frame n with the clock of its capture instant
// start + n/30 s, as a camera's own clock would, and hands it on at that
// instant (or as soon as it can, when the machine falls behind: the delay
// is then part of the latency, as a real camera's buffering would be); a
// second ffmpeg draws the clock text, encodes with x264 ultrafast
// zerolatency (a key frame a second) and sends FLV over RTMP or MPEG-TS
// over SRT. The stream's timestamps are thus the capture clock itself.
type publisher struct {
	gen, enc *child.Process
	done     chan struct{}
	err      error
	// frames counts the frames sent; late those handed on more than a
	// frame interval after their capture instant; resyncs the times the
	// schedule was restarted after falling more than resyncAfter behind.
	frames, late, resyncs atomic.Int64
}

// resyncAfter is how far behind its schedule the publisher may fall before
// it gives the frames it missed up and restarts the schedule (which shifts
// the stream's timestamps against the wall clock).
const resyncAfter = 2 * time.Second

// publisherEncodeArgs is the encoding ffmpeg's command: raw frames on
// standard input, x264 out to url in format.
func publisherEncodeArgs(format, url string, audio bool) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", fmt.Sprintf("%dx%d", frameWidth, frameHeight),
		"-framerate", strconv.Itoa(frameRate), "-i", "pipe:0",
	}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	args = append(args, "-vf", clockText,
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", strconv.Itoa(frameRate), "-pix_fmt", "yuv420p")
	if audio {
		args = append(args, "-c:a", "aac", "-b:a", "128k")
	}
	return append(args, "-f", format, url)
}

// startPublisher starts publishing to url (FLV for "rtmp", MPEG-TS for
// "srt"). Its logs go to <name>-publisher.log in dir.
func startPublisher(ctx context.Context, ffmpeg, dir, name, proto, url string, audio bool) (*publisher, error) {
	format := "flv"
	if proto == "srt" {
		format = "mpegts"
	}
	logFile, err := os.Create(filepath.Join(dir, name+"-publisher.log"))
	if err != nil {
		return nil, err
	}
	genOut, frames, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	encIn, stamped, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		_ = genOut.Close()
		_ = frames.Close()
		return nil, err
	}
	closeAll := func() {
		for _, f := range []*os.File{logFile, genOut, frames, encIn, stamped} {
			_ = f.Close()
		}
	}
	gen, err := child.Start(ffmpeg, []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", frameWidth, frameHeight, frameRate),
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
	}, child.Options{Dir: dir, Stdout: frames, Stderr: logFile})
	if err != nil {
		closeAll()
		return nil, err
	}
	enc, err := child.Start(ffmpeg, publisherEncodeArgs(format, url, audio), child.Options{Dir: dir, Stdin: encIn, Stderr: logFile})
	if err != nil {
		gen.Stop(time.Second)
		closeAll()
		return nil, err
	}
	// The children hold their ends now.
	_ = frames.Close()
	_ = encIn.Close()
	p := &publisher{gen: gen, enc: enc, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer logFile.Close()
		defer genOut.Close()
		defer stamped.Close()
		p.err = p.pace(ctx, genOut, stamped)
	}()
	return p, nil
}

// pace copies frames from the generator to the encoder in real time,
// stamping each with the clock code of its capture instant.
func (p *publisher) pace(ctx context.Context, in io.Reader, out io.Writer) error {
	frame := make([]byte, frameWidth*frameHeight*3/2)
	strip := clockcode.Strip(frameWidth, frameHeight)
	// The chroma under the strip is neutral, so that the cells are grey.
	chroma := frame[frameWidth*frameHeight:]
	cw := frameWidth / 2
	interval := time.Second / frameRate
	var start time.Time
	for n := 0; ; n++ {
		if _, err := io.ReadFull(in, frame); err != nil {
			return fmt.Errorf("publisher picture: %w", err)
		}
		if n == 0 {
			start = time.Now() // the generator has started
		}
		due := start.Add(time.Duration(n) * interval)
		switch wait := time.Until(due); {
		case wait > 0:
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
		case wait < -resyncAfter:
			p.resyncs.Add(1)
			start, n = time.Now(), 0
			due = start
		case wait < -interval:
			p.late.Add(1)
		}
		for y := strip.Min.Y / 2; y < strip.Max.Y/2; y++ {
			for x := range cw {
				chroma[y*cw+x] = 128
				chroma[frameWidth*frameHeight/4+y*cw+x] = 128
			}
		}
		clockcode.Draw(frame, frameWidth, strip, clockcode.Encode(due.UnixMilli()))
		if _, err := out.Write(frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("publisher encoder: %w", err)
		}
		p.frames.Add(1)
	}
}

// Done is closed when the publisher stopped sending.
func (p *publisher) Done() <-chan struct{} { return p.done }

// Stop ends both processes; the pacing loop ends with them.
func (p *publisher) Stop() {
	p.enc.Stop(3 * time.Second)
	p.gen.Stop(3 * time.Second)
	<-p.done
}

// Err says why the publisher stopped early, once Done is closed.
func (p *publisher) Err() error {
	<-p.done
	if p.err != nil {
		return p.err
	}
	select {
	case <-p.enc.Done():
		return p.enc.ExitedEarly("publisher encoder")
	default:
	}
	return errors.New("publisher stopped")
}
