// Package dash renders the DASH manifest of a Sluice endpoint from a
// cmaf.Snapshot: a dynamic, multi-period MPD with SegmentTemplate and
// SegmentTimeline addressing. The renderer is a pure function: the publish
// time is passed in and nothing is read from the clock or the disk.
//
// URLs are relative to manifest.mpd: $RepresentationID$/$Number$.m4s for
// media and $RepresentationID$/init-<run>.mp4 for each Period's init segment.
package dash

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// Fixed identifiers written into the MPD.
const (
	mpdNamespace        = "urn:mpeg:dash:schema:mpd:2011"
	profiles            = "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"
	utcTimingScheme     = "urn:mpeg:dash:utc:http-iso:2014"
	channelConfigScheme = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
	mediaTemplate       = "$RepresentationID$/$Number$.m4s"
)

// AdaptationSet ids, stable across Periods so that players can match the
// sets of consecutive Periods.
const (
	videoSetID = "0"
	audioSetID = "1"
)

// Options carries what the MPD needs beyond the snapshot.
type Options struct {
	// UTCTimingURL is the absolute URL of the origin's clock
	// (urn:mpeg:dash:utc:http-iso:2014); no UTCTiming element when empty.
	UTCTimingURL string
	// Now is the publishTime. It is passed in, never read from the clock,
	// so that rendering stays deterministic; it must not be zero.
	Now time.Time
	// LowLatency, when set, renders low-latency DASH.
	LowLatency *LowLatency
	// Static renders an ended snapshot as a static (on-demand) MPD whose
	// presentation starts at the first period: for time-shifted ranges and
	// harvested packages.
	Static bool
}

// Sentinel errors returned by MPD; callers map them to HTTP statuses.
var (
	// ErrNoSegments means no rendition has a segment in the window yet, so
	// there is no manifest to serve (the origin answers 404).
	ErrNoSegments = errors.New("dash: no segments yet")
	// ErrInvalidSnapshot means the snapshot breaks an invariant the packager
	// guarantees (known runs in order, consecutive numbers, increasing
	// times, a non-zero timescale); it points at a bug upstream.
	ErrInvalidSnapshot = errors.New("dash: invalid snapshot")
	// ErrNoPublishTime means Options.Now was left zero.
	ErrNoPublishTime = errors.New("dash: Options.Now (publishTime) is zero")
)

// MPD renders the dynamic MPD of a snapshot: one Period per run, each with a
// video and an audio AdaptationSet whose Representations list that run's
// segments. When the channel has ended the MPD stays dynamic but loses
// minimumUpdatePeriod and gains mediaPresentationDuration, so players stop
// polling and play to the end.
//
// A rendition without segments in a run is left out of that Period, and a
// run without segments gets no Period; if nothing is left, MPD returns
// ErrNoSegments.
func MPD(s *cmaf.Snapshot, opts Options) ([]byte, error) {
	if s == nil {
		return nil, ErrNoSegments
	}
	if opts.Now.IsZero() {
		return nil, ErrNoPublishTime
	}
	groups, err := groupByRun(s)
	if err != nil {
		return nil, err
	}

	var periods []*element
	var longest, end time.Duration
	for ri, run := range s.Runs {
		var video, audio []*element
		maxWidth, maxHeight, maxFPS := 0, 0, 0.0
		for i := range s.Renditions {
			r := &s.Renditions[i]
			segs := groups[i][ri]
			if len(segs) == 0 {
				continue
			}
			for _, seg := range segs {
				longest = max(longest, seg.DurationTime(r.Timescale))
			}
			last := segs[len(segs)-1]
			end = max(end, cmaf.SegmentInfo{Start: last.Start + last.Duration}.StartTime(r.Timescale))

			switch r.Kind {
			case cmaf.Video:
				video = append(video, videoRepresentation(r, run, segs, opts.LowLatency))
				maxWidth = max(maxWidth, r.Width)
				maxHeight = max(maxHeight, r.Height)
				maxFPS = max(maxFPS, r.FrameRate)
			case cmaf.Audio:
				if !run.Silent { // a run whose source has no audio lists none
					audio = append(audio, audioRepresentation(r, run, segs, opts.LowLatency))
				}
			}
		}
		if len(video) == 0 && len(audio) == 0 {
			continue
		}

		period := newElement("Period").
			set("id", "p"+strconv.FormatUint(run.ID, 10)).
			set("start", formatDuration(run.Start))
		if len(video) > 0 {
			videoSet := newElement("AdaptationSet").
				set("id", videoSetID).
				set("contentType", "video").
				set("mimeType", "video/mp4").
				set("segmentAlignment", "true").
				set("startWithSAP", "1")
			if maxWidth > 0 && maxHeight > 0 {
				videoSet.set("maxWidth", strconv.Itoa(maxWidth)).set("maxHeight", strconv.Itoa(maxHeight))
			}
			if fps := formatFrameRate(maxFPS); fps != "" {
				videoSet.set("maxFrameRate", fps)
			}
			period.add(videoSet.add(video...))
		}
		if len(audio) > 0 {
			period.add(newElement("AdaptationSet").
				set("id", audioSetID).
				set("contentType", "audio").
				set("mimeType", "audio/mp4").
				set("lang", "und").
				set("segmentAlignment", "true").
				set("startWithSAP", "1").
				add(audio...))
		}
		periods = append(periods, period)
	}
	if len(periods) == 0 {
		return nil, ErrNoSegments
	}

	if opts.Static && s.Ended {
		return staticMPD(s, periods, end, longest), nil
	}
	root := newElement("MPD").
		set("xmlns", mpdNamespace).
		set("profiles", profiles).
		set("type", "dynamic").
		set("availabilityStartTime", formatDateTime(s.AvailabilityStart)).
		set("publishTime", formatDateTime(opts.Now))
	if s.Ended {
		root.set("mediaPresentationDuration", formatDuration(ceilMillis(end)))
	} else {
		root.set("minimumUpdatePeriod", formatDuration(s.SegmentDuration))
	}
	root.set("minBufferTime", formatDuration(s.SegmentDuration)).
		set("timeShiftBufferDepth", formatDuration(s.Window)).
		set("suggestedPresentationDelay", formatDuration(3*s.SegmentDuration)).
		set("maxSegmentDuration", formatDuration(ceilMillis(longest)))
	if ll := opts.LowLatency; ll != nil {
		root.set("profiles", profiles+","+lowLatencyProfile)
		root.add(serviceDescription(ll))
	}
	root.add(periods...)
	if opts.UTCTimingURL != "" {
		root.add(newElement("UTCTiming").
			set("schemeIdUri", utcTimingScheme).
			set("value", opts.UTCTimingURL))
	}
	return root.document(), nil
}

// videoRepresentation renders one video rendition's segments of one run.
func videoRepresentation(r *cmaf.Rendition, run cmaf.Run, segs []cmaf.SegmentInfo, ll *LowLatency) *element {
	rep := newElement("Representation").
		set("id", r.ID).
		set("bandwidth", strconv.FormatInt(max(r.Bandwidth, 0), 10))
	if r.Codec != "" {
		rep.set("codecs", r.Codec)
	}
	if r.Width > 0 && r.Height > 0 {
		rep.set("width", strconv.Itoa(r.Width)).set("height", strconv.Itoa(r.Height))
	}
	if fps := formatFrameRate(r.FrameRate); fps != "" {
		rep.set("frameRate", fps)
	}
	rep.set("sar", "1:1")
	if ll != nil {
		return rep.add(lowLatencyTemplate(r, run, segs, ll))
	}
	return rep.add(segmentTemplate(r, run, segs))
}

// audioRepresentation renders one audio rendition's segments of one run.
func audioRepresentation(r *cmaf.Rendition, run cmaf.Run, segs []cmaf.SegmentInfo, ll *LowLatency) *element {
	rep := newElement("Representation").
		set("id", r.ID).
		set("bandwidth", strconv.FormatInt(max(r.Bandwidth, 0), 10))
	if r.Codec != "" {
		rep.set("codecs", r.Codec)
	}
	if r.SampleRate > 0 {
		rep.set("audioSamplingRate", strconv.Itoa(r.SampleRate))
	}
	if r.Channels > 0 {
		rep.add(newElement("AudioChannelConfiguration").
			set("schemeIdUri", channelConfigScheme).
			set("value", strconv.Itoa(r.Channels)))
	}
	if ll != nil {
		return rep.add(lowLatencyTemplate(r, run, segs, ll))
	}
	return rep.add(segmentTemplate(r, run, segs))
}

// segmentTemplate addresses segs by number. The presentationTimeOffset is
// the run's start, so that media time maps onto the Period's start.
func segmentTemplate(r *cmaf.Rendition, run cmaf.Run, segs []cmaf.SegmentInfo) *element {
	return newElement("SegmentTemplate").
		set("timescale", strconv.FormatUint(uint64(r.Timescale), 10)).
		set("presentationTimeOffset", strconv.FormatUint(durationToTicks(run.Start, r.Timescale), 10)).
		set("startNumber", strconv.FormatUint(segs[0].Number, 10)).
		set("media", mediaTemplate).
		set("initialization", "$RepresentationID$/init-"+strconv.FormatUint(run.ID, 10)+".mp4").
		add(timelineElement(timeline(segs)))
}

// groupByRun splits each rendition's segments by run: groups[i][j] holds the
// segments of s.Renditions[i] produced by s.Runs[j], as a sub-slice. It
// checks the invariants the timeline depends on, since breaking any of them
// would make players request segments that do not exist.
func groupByRun(s *cmaf.Snapshot) ([][][]cmaf.SegmentInfo, error) {
	runIndex := make(map[uint64]int, len(s.Runs))
	for j, run := range s.Runs {
		if _, dup := runIndex[run.ID]; dup {
			return nil, fmt.Errorf("%w: run %d listed twice", ErrInvalidSnapshot, run.ID)
		}
		runIndex[run.ID] = j
		if run.Start < 0 {
			return nil, fmt.Errorf("%w: run %d starts at %v", ErrInvalidSnapshot, run.ID, run.Start)
		}
		if j > 0 && run.Start <= s.Runs[j-1].Start {
			return nil, fmt.Errorf("%w: run %d starts at %v, not after run %d at %v",
				ErrInvalidSnapshot, run.ID, run.Start, s.Runs[j-1].ID, s.Runs[j-1].Start)
		}
	}

	groups := make([][][]cmaf.SegmentInfo, len(s.Renditions))
	for i := range s.Renditions {
		r := &s.Renditions[i]
		groups[i] = make([][]cmaf.SegmentInfo, len(s.Runs))
		if len(r.Segments) == 0 {
			continue
		}
		if r.Timescale == 0 {
			return nil, fmt.Errorf("%w: rendition %q has timescale 0", ErrInvalidSnapshot, r.ID)
		}
		first := 0
		for k, seg := range r.Segments {
			j, ok := runIndex[seg.Run]
			if !ok {
				return nil, fmt.Errorf("%w: rendition %q: segment %d belongs to run %d, which is not in the snapshot",
					ErrInvalidSnapshot, r.ID, seg.Number, seg.Run)
			}
			if seg.Duration == 0 {
				return nil, fmt.Errorf("%w: rendition %q: segment %d has duration 0", ErrInvalidSnapshot, r.ID, seg.Number)
			}
			if k == 0 {
				continue
			}
			prev := r.Segments[k-1]
			pj := runIndex[prev.Run]
			switch {
			case j < pj:
				return nil, fmt.Errorf("%w: rendition %q: segment %d of run %d follows segment %d of later run %d",
					ErrInvalidSnapshot, r.ID, seg.Number, seg.Run, prev.Number, prev.Run)
			case j > pj:
				groups[i][pj] = r.Segments[first:k]
				first = k
			case seg.Number != prev.Number+1:
				return nil, fmt.Errorf("%w: rendition %q: segment %d follows segment %d, want %d",
					ErrInvalidSnapshot, r.ID, seg.Number, prev.Number, prev.Number+1)
			case seg.Start <= prev.Start:
				return nil, fmt.Errorf("%w: rendition %q: segment %d starts at tick %d, not after segment %d at %d",
					ErrInvalidSnapshot, r.ID, seg.Number, seg.Start, prev.Number, prev.Start)
			}
		}
		last := r.Segments[len(r.Segments)-1]
		groups[i][runIndex[last.Run]] = r.Segments[first:]
	}
	return groups, nil
}
