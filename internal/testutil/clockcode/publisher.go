package clockcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// PublisherConfig shapes a Publisher.
type PublisherConfig struct {
	Width, Height, FPS int
	// GOP is the key frame interval in frames (default: one a second).
	GOP int
	// Audio adds a tone (AAC).
	Audio bool
	// Outputs are ffmpeg's output options, ending with the destination,
	// such as "-f", "flv", "rtmp://…"; use the tee muxer to also keep the
	// encoded stream.
	Outputs []string
	// Now is the clock drawn into the frames (default time.Now).
	Now func() time.Time
}

// Publisher is a camera for tests: Go renders frames that carry the clock
// code of their capture instant, start + n/FPS, and hands each to an
// ffmpeg encoder at that instant (or as soon as it can, on a loaded
// machine: the frame then leaves late but keeps its stamp, as a camera's
// buffered frame would). The stream's timestamps are n/FPS, so the code in
// a frame and the frame's timestamp tell the same capture clock.
//
// While its encoder starts (on a loaded machine that can take seconds), the
// publisher hands on frames without a code, and its schedule starts again
// after each, until the encoder has taken a second of frames as soon as
// they were handed on (or after startupLimit): frames queued behind a
// starting encoder would otherwise all leave late, and every receiver
// would rightly date them by their arrival, seconds after their stamps.
type Publisher struct {
	cfg    PublisherConfig
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc
	done   chan struct{}
	waited chan struct{}
	log    bytes.Buffer
	logMu  sync.Mutex

	// Frames counts the frames handed on; Late those handed on more than
	// a frame interval after their capture instant.
	Frames, Late atomic.Int64
	maxLate      atomic.Int64 // nanoseconds
	err          error
}

// MaxLate is how long after its stamp the latest frame so far was taken by
// the encoder: the most a receiver that dates frames by their arrival can
// rightly be behind the stamps, beside the encoding and the network.
func (p *Publisher) MaxLate() time.Duration { return time.Duration(p.maxLate.Load()) }

// StartPublisher starts a publisher that runs until the test ends; its
// ffmpeg's messages are logged when the test fails.
func StartPublisher(t testing.TB, cfg PublisherConfig) *Publisher {
	t.Helper()
	if cfg.FPS <= 0 {
		cfg.FPS = 30
	}
	if cfg.GOP <= 0 {
		cfg.GOP = cfg.FPS
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	bin := media.Tool(t, "ffmpeg")
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "warning",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
		"-framerate", strconv.Itoa(cfg.FPS), "-i", "pipe:0"}
	if cfg.Audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	args = append(args, "-map", "0:v")
	if cfg.Audio {
		args = append(args, "-map", "1:a", "-c:a", "aac", "-b:a", "96k")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", strconv.Itoa(cfg.GOP), "-keyint_min", strconv.Itoa(cfg.GOP), "-sc_threshold", "0", "-pix_fmt", "yuv420p")
	args = append(args, cfg.Outputs...)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cfg: cfg, cancel: cancel, done: make(chan struct{}), waited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	p.cmd.Stderr = lockedWriter{w: &p.log, mu: &p.logMu}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.waited) }()
	go func() {
		defer close(p.done)
		p.err = p.pace(ctx)
		_ = p.stdin.Close()
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			p.logMu.Lock()
			t.Logf("publisher: %d frames, %d late (the latest by %v); ffmpeg said:\n%s", p.Frames.Load(), p.Late.Load(), p.MaxLate(), p.log.String())
			p.logMu.Unlock()
		}
	})
	return p
}

// Stop ends the publisher and waits for its encoder.
func (p *Publisher) Stop() {
	p.cancel()
	<-p.done
	<-p.waited
}

// Err is why the publisher stopped by itself, once it has.
func (p *Publisher) Err() error {
	select {
	case <-p.done:
		if p.err != nil {
			return p.err
		}
		return errors.New("the publisher stopped")
	default:
		return nil
	}
}

// pace renders and hands on frames in real time until ctx ends.
func (p *Publisher) pace(ctx context.Context) error {
	w, h := p.cfg.Width, p.cfg.Height
	frame := make([]byte, w*h*3/2)
	for i := w * h; i < len(frame); i++ {
		frame[i] = 128 // neutral chroma: a grey picture, the cells black and white
	}
	strip := Strip(w, h)
	interval := time.Second / time.Duration(p.cfg.FPS)
	start := p.cfg.Now()
	began := start
	prompt := 0 // frames in a row the starting encoder took at once
	ready := false
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if wait := due.Sub(p.cfg.Now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
		} else if wait < -interval && ready {
			p.Late.Add(1)
		}
		render(frame, w, h, strip, n)
		if ready {
			Draw(frame, w, strip, Encode(due.UnixMilli()))
		} else {
			blank(frame, w, strip)
		}
		handed := p.cfg.Now()
		if _, err := p.stdin.Write(frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("the publisher's encoder: %w", err)
		}
		p.Frames.Add(1)
		if late := p.cfg.Now().Sub(due); ready && late > p.MaxLate() {
			p.maxLate.Store(int64(late))
		}
		if !ready {
			now := p.cfg.Now()
			prompt++
			if now.Sub(handed) > interval || now.Sub(due) > interval {
				prompt = 0
			}
			ready = prompt >= p.cfg.FPS || now.Sub(began) > startupLimit
			// The next frame is due now: the schedule starts again.
			start = now.Add(-time.Duration(n+1) * interval)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// startupLimit bounds how long the publisher waits for its encoder to keep
// up before it stamps its frames anyway.
const startupLimit = 10 * time.Second

// blank paints the code's strip mid-grey, which reads as no code.
func blank(luma []byte, stride int, strip image.Rectangle) {
	for y := strip.Min.Y; y < strip.Max.Y; y++ {
		row := luma[y*stride+strip.Min.X : y*stride+strip.Max.X]
		for x := range row {
			row[x] = 128
		}
	}
}

// render draws a bar that moves one step a frame above the code strip, so
// that consecutive frames differ.
func render(frame []byte, w, h int, strip image.Rectangle, n int) {
	top := h - strip.Dy()
	bar := (n * 8) % max(w, 1)
	for y := range top {
		row := frame[y*w : (y+1)*w]
		for x := range row {
			row[x] = 80
			if x >= bar && x < bar+16 {
				row[x] = 200
			}
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
