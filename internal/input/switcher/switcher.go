package switcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// Policy says whether a channel returns to its primary input once it is
// healthy again after a failover.
type Policy string

// Failover policies.
const (
	PrimaryPreferred Policy = "PRIMARY_INPUT_PREFERRED"
	Equal            Policy = "EQUAL"
)

// Config configures a Switcher.
type Config struct {
	// Primary is the main input; Secondary, when set, takes over on loss.
	Primary   *live.Hub
	Secondary *live.Hub
	Policy    Policy
	// InputLoss is how long without media makes an input lost (default 1 s).
	InputLoss time.Duration
	// ErrorClear is how long a recovered primary must stay healthy before a
	// PRIMARY_INPUT_PREFERRED channel goes back to it (default 10 s).
	ErrorClear time.Duration
	Fill       FillMode
	// Slate names the image of FillSlate; OpenSlate opens it (through the
	// folder rules of the caller) each time a fill is encoded.
	Slate     string
	OpenSlate func() (*os.File, error)
	Fills     *FillMaker
	// Width, Height and FPS shape the fill before any input was seen.
	Width, Height, FPS int
	Now                func() time.Time
	Logger             *slog.Logger
	// OnEvent hears of losses, restorations and switches.
	OnEvent func(Event)
	// RestartIntoInput ends the run (NeedRestart) whenever an input would
	// come on air after fill, so that every run carries one source from
	// its first frame: a passthrough rung's init segment then matches its
	// samples, and the input's key frames start the segment grid.
	RestartIntoInput bool
	// Segment, when set, is the segment grid the fill keeps key frames on
	// (a passthrough rung copies the fill too).
	Segment time.Duration
	// OnFed hears, for every video frame of an input handed to the
	// encoder, how long after its arrival at the input's hub that was.
	OnFed func(wait time.Duration)
}

// Event is a change the switcher made, in words.
type Event struct {
	Type    string // "input.lost", "input.restored", "input.switched"
	Input   string
	Reason  string
	Message string
}

// NeedRestart asks the caller to restart the encoder: the input's tracks no
// longer fit the stream the encoder was started with (another codec, audio
// rate or channel count). Tracks are what the new stream should carry.
type NeedRestart struct {
	Video, Audio *live.Track
	Reason       string
}

func (e *NeedRestart) Error() string { return "the encoder must restart: " + e.Reason }

// Switcher produces a channel's continuous input stream.
type Switcher struct {
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex
	status Status
}

// Status is what the switcher reports.
type Status struct {
	ActiveInput  string        `json:"activeInput,omitempty"`
	Filling      bool          `json:"filling"`
	FillTime     time.Duration `json:"-"`
	FillSeconds  float64       `json:"fillSeconds"`
	Switches     int           `json:"switches"`
	LossSeconds  float64       `json:"inputLossSeconds"`
	DroppedInput uint64        `json:"droppedFrames"`
}

// New returns a switcher.
func New(cfg Config) *Switcher {
	if cfg.InputLoss <= 0 {
		cfg.InputLoss = time.Second
	}
	if cfg.ErrorClear <= 0 {
		cfg.ErrorClear = 10 * time.Second
	}
	if cfg.Policy == "" {
		cfg.Policy = PrimaryPreferred
	}
	if cfg.Fill == "" {
		cfg.Fill = FillBlack
	}
	if cfg.Width == 0 || cfg.Height == 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Switcher{cfg: cfg, logger: cfg.Logger}
}

// Status returns the current figures.
func (s *Switcher) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.FillSeconds = st.FillTime.Seconds()
	return st
}

// Tracks returns the tracks the next run's stream should start with: the
// preferred input's when it is live, otherwise H.264 and AAC.
func (s *Switcher) Tracks() (video, audio *live.Track) {
	for _, h := range []*live.Hub{s.cfg.Primary, s.cfg.Secondary} {
		if h == nil {
			continue
		}
		if tracks, ok := h.Tracks(); ok {
			v, a := split(tracks)
			if v != nil {
				if a == nil {
					a = DefaultAudio()
				}
				return v, a
			}
		}
	}
	return &live.Track{Kind: live.Video, Codec: live.H264, Width: s.cfg.Width, Height: s.cfg.Height}, DefaultAudio()
}

// tickEvery is how often the switcher looks for lost inputs and writes fill.
const tickEvery = 10 * time.Millisecond

// Audible reports whether the input a run would start from sends audio
// (Tracks): without it, the run's audio is generated silence.
func (s *Switcher) Audible() bool {
	for _, h := range []*live.Hub{s.cfg.Primary, s.cfg.Secondary} {
		if h == nil {
			continue
		}
		if tracks, ok := h.Tracks(); ok {
			if v, a := split(tracks); v != nil {
				return a != nil
			}
		}
	}
	return false
}

// RunSpec is what one run of the switcher writes.
type RunSpec struct {
	// Video and Audio are the stream's tracks, as Tracks returned them.
	Video, Audio *live.Track
	// Silent says the run's audio is generated silence, as Audible said
	// when it started: an input that brings audio ends the run
	// (NeedRestart), so that the next one carries it.
	Silent bool
	// Clock, when set, records when each video frame written was
	// captured and handed on.
	Clock *Clock
	// Place, when set, puts the output on the channel's media clock (see
	// Placement); without it the output starts at zero when the run does.
	Place *Placement
}

// Run writes the stream to w until ctx ends, w fails, or the input needs a
// new encoder (a *NeedRestart error).
func (s *Switcher) Run(ctx context.Context, w io.Writer, spec RunSpec) error {
	r, err := s.newRun(ctx, w, spec.Video, spec.Audio)
	if err != nil {
		return err
	}
	r.clock, r.silent = spec.Clock, spec.Silent
	r.place(spec.Place)
	defer r.close()
	// What the inputs have already sent (a live input's frames since its
	// last key frame) goes out before any fill: the run then starts with
	// the input.
	if err := r.startDrain(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		var ev0, ev1 <-chan live.Event
		ev0 = r.sources[0].sub.Events()
		if len(r.sources) > 1 {
			ev1 = r.sources[1].sub.Events()
		}
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-ev0:
			err = r.handle(ctx, r.sources[0], e, ok)
		case e, ok := <-ev1:
			err = r.handle(ctx, r.sources[1], e, ok)
		case <-tick.C:
			err = r.tick(ctx)
		}
		if err != nil {
			var restart *NeedRestart
			if errors.As(err, &restart) || errors.Is(err, errInputRemoved) {
				return err
			}
			return fmt.Errorf("writing the encoder's input: %w", err)
		}
	}
}

// errInputRemoved ends a run whose input was deleted under it.
var errInputRemoved = errors.New("the input was removed")

// newRun prepares one run: the fill, and a subscription to every input.
func (s *Switcher) newRun(ctx context.Context, w io.Writer, video, audio *live.Track) (*run, error) {
	out, err := newOutput(w, video, audio)
	if err != nil {
		return nil, err
	}
	r := &run{s: s, out: out, video: video, audio: audio, start: s.cfg.Now(), fillSize: [2]int{video.Width, video.Height}}
	if r.fillSize[0] == 0 {
		r.fillSize = [2]int{s.cfg.Width, s.cfg.Height}
	}
	if err := r.loadFill(ctx); err != nil {
		return nil, err
	}
	for i, h := range []*live.Hub{s.cfg.Primary, s.cfg.Secondary} {
		if h == nil {
			continue
		}
		r.sources = append(r.sources, &source{hub: h, primary: i == 0, sub: h.Subscribe(4096)})
	}
	r.active = r.sources[0]
	r.mode = modeFill
	r.setStatus(func(st *Status) { st.ActiveInput, st.Filling = r.active.hub.Name(), true })
	return r, nil
}

// close detaches the run from its inputs.
func (r *run) close() {
	for _, src := range r.sources {
		src.sub.Close()
	}
}

func (s *Switcher) emit(e Event) {
	s.logger.Info(e.Message, "input", e.Input, "reason", e.Reason)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
