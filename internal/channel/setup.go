package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// newPipeline builds the encoder command for the current spec and starts it
// feeding the channel's timeline (made anew when the ladder changed).
func (rt *runtime) newPipeline() (*pipeline, error) {
	spec := rt.spec()
	ladder, err := spec.Ladder()
	if err != nil {
		return nil, err
	}
	att := spec.InputAttachments[0]
	in, err := rt.m.store.GetInput(rt.m.ctx, att.Input)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", att.Input, err)
	}
	tl, err := rt.ensureTimeline(spec, ladder)
	if err != nil {
		return nil, err
	}
	var src encoder.Source
	var feed feeder
	var clock cmaf.Clock
	silent := !rt.probe.HasAudio // a file without audio: the encoder generates silence
	// A passthrough rung's key frames are the input's: such a run's
	// segment grid starts at the input's first key frame instead, so that
	// a publisher whose key frame interval is the segment length gets
	// whole segments. It is not aligned with other runs.
	var timing *encoder.Timing
	var place *switcher.Placement
	if !hasPassthrough(ladder) {
		timing, place = gridTiming(rt.m.cfg.Now(), tl.AvailabilityStart(), ladder.Segment, in.Type.IsLive())
	}
	if in.Type.IsLive() {
		sw, err := rt.switcherFor(spec, ladder)
		if err != nil {
			return nil, err
		}
		video, audio := sw.Tracks()
		silent = !sw.Audible()
		src = encoder.LiveSource()
		run := switcher.RunSpec{Video: video, Audio: audio, Silent: silent, Clock: switcher.NewClock(), Place: place}
		clock = run.Clock
		feed = func(ctx context.Context, w io.Writer) error { return sw.Run(ctx, w, run) }
	} else {
		if hasPassthrough(ladder) && !copyable(rt.probe.VideoCodec) {
			return nil, fmt.Errorf("input %s: a passthrough rung copies H.264 or H.265 video; the file's is %s", att.Input, rt.probe.VideoCodec)
		}
		src, err = rt.m.cfg.Resolver.Source(in.InputSpec, att, rt.probe.HasAudio)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", att.Input, err)
		}
	}
	opts := encoder.Options{ChunkDuration: rt.m.cfg.ChunkDuration}
	if part := spec.PartDuration(); part > 0 {
		// Low latency: fragments as long as a part, no encoder look-ahead.
		opts = encoder.Options{ChunkDuration: part, LowLatency: true}
	}
	opts = webrtcOptions(spec, opts)
	opts.Timing = timing
	// The encoder has its own descriptor of the input file once started;
	// a relayed URL lives as long as the encoder.
	if src.Stdin != nil {
		defer func() { _ = src.Stdin.Close() }()
	}
	cmd := encoder.Build(src, ladder, opts)
	name := spec.Name
	obs := rt.m.cfg.Observer
	hub, index := rt.hub, rt.index
	if index != 0 {
		// The deliveries, frames and WebRTC viewers tap the channel's own
		// pipeline.
		hub = nil
	}
	p, err := startPipeline(rt.m.cfg.FFmpeg, cmd, tl, hub, feed, clock, silent, func(pr ffmpeg.Progress) {
		if index == 0 {
			obs.EncoderProgress(name, pr.Speed, pr.FPS, pr.Drop)
		}
	}, rt.logger)
	if err != nil {
		release(src)
		return nil, err
	}
	if src.Release != nil {
		go func() {
			<-p.done
			src.Release()
		}()
	}
	return p, nil
}

// gridTiming puts a run that starts now on the channel's segment grid
// (encoder.GridTiming); a live input's switcher places its stream where
// the encoder expects it.
func gridTiming(now, availabilityStart time.Time, segment time.Duration, live bool) (*encoder.Timing, *switcher.Placement) {
	tm := encoder.GridTiming(now, availabilityStart, segment, live)
	if !live {
		return &tm, nil
	}
	return &tm, &switcher.Placement{Zero: availabilityStart.Add(tm.Offset), Media: tm.Offset}
}

// copyable reports whether ffprobe's name of a video codec is one a
// passthrough rung can copy.
func copyable(codec string) bool { return codec == "h264" || codec == "hevc" }

// release frees what a source holds for an encoder that did not start.
func release(src encoder.Source) {
	if src.Release != nil {
		src.Release()
	}
}

// ensureTimeline returns the channel's timeline, creating it (again) when
// the renditions, segment length or window changed.
func (rt *runtime) ensureTimeline(spec resource.ChannelSpec, l resource.Ladder) (*cmaf.Timeline, error) {
	window := spec.Window()
	var rends []cmaf.RenditionConfig
	var key strings.Builder
	part := spec.PartDuration()
	fmt.Fprintf(&key, "seg=%v window=%v part=%v", l.Segment, window, part)
	for _, r := range l.Rungs {
		rends = append(rends, cmaf.RenditionConfig{ID: r.Name, Kind: cmaf.Video, Bitrate: int64(r.Bitrate), MaxBitrate: int64(r.MaxBitrate), FrameRate: r.FPS, Passthrough: r.Passthrough})
		fmt.Fprintf(&key, " %s", r.Name)
		if r.Passthrough {
			key.WriteString("(passthrough)")
		}
	}
	rends = append(rends, cmaf.RenditionConfig{ID: encoder.AudioRendition, Kind: cmaf.Audio, Bitrate: int64(l.Audio.Bitrate), MaxBitrate: int64(l.Audio.Bitrate)})
	if rt.tl != nil && rt.tlKey == key.String() {
		if !rt.m.merging(rt) {
			// The channel stopped, and its merged timeline closed: it
			// merges again.
			rt.m.pipelineTimeline(rt, rt.tl, rt.tlKey, rt.tlMerge)
		}
		return rt.tl, nil
	}
	rt.mu.Lock()
	ts := rt.rec.Timeline
	rt.mu.Unlock()
	switch old := rt.tl; {
	case old != nil:
		// New renditions or timing: the same URLs continue after a discontinuity.
		ts.NextNumber = max(ts.NextNumber, old.NextNumber())
		ts.Discontinuity = max(ts.Discontinuity, old.Discontinuity()) + 1
	case !ts.AvailabilityStart.IsZero():
		// An earlier process ran this channel: its players see a discontinuity.
		ts.Discontinuity++
	case spec.PipelineCount() > 1:
		// The first pipeline of a STANDARD channel to start fixes the
		// channel's availability start; the other uses the same, on any
		// node, so that their media times agree.
		ctx, cancel := writeContext()
		ast, err := rt.m.store.ClaimAvailabilityStart(ctx, rt.id, rt.m.cfg.Now().UTC().Truncate(time.Second))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("fixing the channel's availability start: %w", err)
		}
		ts.AvailabilityStart = ast
	default:
		ts.AvailabilityStart = rt.m.cfg.Now().UTC().Truncate(time.Second)
	}
	rt.mu.Lock()
	rt.rec.Timeline = ts
	rt.mu.Unlock()
	cfg := cmaf.Config{
		SegmentDuration:    l.Segment,
		PartDuration:       part,
		Window:             window,
		AvailabilityStart:  ts.AvailabilityStart,
		MinNumber:          ts.NextNumber,
		FirstDiscontinuity: ts.Discontinuity,
		Renditions:         rends,
		Now:                rt.m.cfg.Now,
		Logger:             rt.logger,
	}
	merged := cfg
	// Every node that runs a pipeline of the channel serves its own merged
	// timeline, and an edge moves between them: their discontinuity
	// sequences must agree. The channel's counter does not do: it grows
	// with every start of a pipeline, so a node that joins later would
	// start higher. The merged timelines count only the discontinuities of
	// the merge itself, from zero.
	merged.FirstDiscontinuity = 0
	if rt.index == 0 {
		// The channel's figures count its own pipeline's segments.
		cfg.OnSegment = func(rendition string, latency time.Duration) {
			rt.m.cfg.Observer.SegmentProduced(spec.Name, rendition, latency)
		}
		cfg.OnStage = func(stage string, d time.Duration) { rt.m.cfg.Observer.PipelineStage(stage, d) }
	}
	cfg.OnKeyFrames = func(k cmaf.KeyFrames) { rt.post(evKeyFrames{k: k, segment: l.Segment}) }
	gap := map[string]string{}
	if rt.index != 0 {
		gap["pipeline"] = strconv.Itoa(rt.index)
	}
	cfg.OnGap = func(reason string) {
		detail := map[string]string{"reason": reason}
		maps.Copy(detail, gap)
		rt.m.cfg.Observer.Event(channelEvent(resource.EventSegmentGap, spec.Name, "channel "+spec.Name+": "+reason, detail))
	}
	tl, err := cmaf.NewTimeline(cfg)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	rt.tl, rt.tlKey, rt.tlMerge = tl, key.String(), merged
	rt.mu.Unlock()
	rt.persistTimelineState(ts)
	rt.m.pipelineTimeline(rt, tl, key.String(), merged)
	return tl, nil
}

// persistTimelineState writes the timeline counters, as the channel's
// holder. The discontinuity sequence written is that of the newest run
// players saw (seenDisc): a run that never produced a segment is no
// discontinuity to continue from.
func (rt *runtime) persistTimelineState(ts store.TimelineState) {
	if rt.fenced || rt.index != 0 {
		// Another pipeline writes nothing of the channel.
		return
	}
	ts.Discontinuity = rt.seenDisc
	ctx, cancel := writeContext()
	defer cancel()
	err := rt.m.store.SaveTimeline(ctx, rt.id, rt.fence(), ts)
	switch {
	case errors.Is(err, store.ErrFenced):
		rt.fenced = true
	case err != nil:
		rt.logger.Error("recording the timeline counters failed", "error", err)
	}
}
