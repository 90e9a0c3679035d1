package channel

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// pipeline is one encoder run: the ffmpeg process and the readers that feed
// its rendition streams into the channel's timeline.
type pipeline struct {
	proc    *ffmpeg.Process
	feed    *cmaf.Feed
	started time.Time

	done chan struct{} // closed when the process and every reader finished
	err  error         // why it ended; nil when stopped on purpose

	mu       sync.Mutex
	progress ffmpeg.Progress
	slow     slowWatch
	stopping bool
}

// feeder writes the encoder's source to its standard input until ctx ends
// (live inputs); an error ends the run.
type feeder func(ctx context.Context, w io.Writer) error

// startPipeline launches the encoder for cmd and feeds its outputs into tl,
// and through hub (when set) to the delivery outputs; feed, when set,
// writes the encoder's input, and clock tells when what it wrote was
// captured. Without a clock, the encoder reads its input itself, in real
// time from when it starts (readClock). silent says the run's audio is
// generated silence.
func startPipeline(bin string, cmd encoder.Command, tl *cmaf.Timeline, hub *output.Hub, feed feeder, clock cmaf.Clock, silent bool, onProgress func(ffmpeg.Progress), logger *slog.Logger) (*pipeline, error) {
	p := &pipeline{done: make(chan struct{}), started: time.Now()}
	proc, err := ffmpeg.Start(ffmpeg.Config{
		Binary:    bin,
		Args:      cmd.Args,
		Outputs:   len(cmd.Outputs),
		Stdin:     feed != nil,
		StdinFile: cmd.Stdin,
		OnProgress: func(pr ffmpeg.Progress) {
			p.mu.Lock()
			p.progress = pr
			slow := !p.stopping && p.slow.observe(pr.Speed, time.Now())
			p.mu.Unlock()
			onProgress(pr)
			if slow {
				logger.Warn(fmt.Sprintf("the encoder cannot keep up with real time (%.2fx): the ladder is too heavy for this machine, or the machine is overloaded", pr.Speed), "speed", pr.Speed)
			}
		},
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	p.proc = proc
	if clock == nil {
		clock = readClock{start: time.Now()}
	}
	p.feed = tl.StartRun()
	if cmd.Timing != nil {
		p.feed.OnGrid()
	}
	p.feed.UseClock(clock)
	p.feed.SetSilent(silent)
	var wg sync.WaitGroup
	var once sync.Once
	var ingestErr error
	if feed != nil {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-proc.Done(); cancel() }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := feed(ctx, proc.Stdin())
			_ = proc.Stdin().Close() // the encoder finishes what it has and ends
			if err != nil {
				once.Do(func() {
					ingestErr = err
					go proc.Stop(context.Background(), 3*time.Second)
				})
			}
		}()
	}
	for i, out := range cmd.Outputs {
		r := proc.Outputs()[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var src io.Reader = r
			if hub != nil {
				tap := hub.Writer(out.Rendition, p.feed.WallClock)
				defer func() { _ = tap.Close() }()
				src = io.TeeReader(r, tap) // the tap never fails nor blocks
			}
			ingest := p.feed.Ingest
			if tapOnly(out) {
				ingest = drain
			}
			err := ingest(out.Rendition, src)
			_ = r.Close() // unblocks the encoder if this reader gave up early
			if err != nil {
				once.Do(func() {
					ingestErr = err
					// A rendition stream the packager cannot read ends the run.
					go proc.Stop(context.Background(), time.Second)
				})
			}
		}()
	}
	go func() {
		wg.Wait()
		<-proc.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		switch procErr := proc.Err(); {
		case p.stopping:
		case procErr != nil:
			p.err = procErr
		default:
			p.err = ingestErr
		}
		close(p.done)
	}()
	return p, nil
}

// readClock is the clock of an encoder that reads its input itself, paced
// in real time (-re) from when it started: media time m is read at start + m.
// The process's start-up (probing a file, opening outputs) comes before
// its first read, so the capture times are early by that much, a few tens
// of milliseconds.
type readClock struct{ start time.Time }

func (c readClock) Captured(m time.Duration) (time.Time, bool) { return c.start.Add(m), true }
func (readClock) Fed(time.Duration) (time.Time, bool)          { return time.Time{}, false }

// stop ends the encoder and waits until every reader has finished.
func (p *pipeline) stop(ctx context.Context) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.proc.Stop(ctx, 3*time.Second)
	<-p.done
}

func (p *pipeline) lastProgress() ffmpeg.Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.progress
}
