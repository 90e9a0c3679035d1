package channel

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// evKeyFrames is the packager's news of a passthrough rung's key frames.
type evKeyFrames struct {
	k       cmaf.KeyFrames
	segment time.Duration
}

// keyFrames records whether the input's key frames fall on the segment
// grid of a passthrough rung: the pipeline status shows what to change when
// they do not, the state reason and an event say so when it changes.
func (rt *runtime) keyFrames(e evKeyFrames) {
	note := keyFramesNote(e.k, e.segment)
	rt.mu.Lock()
	changed := rt.keyNote != note
	rt.keyNote = note
	rt.mu.Unlock()
	if !changed {
		return
	}
	msg := fmt.Sprintf("the input's key frames fall on the %s s segment grid: rung %s passes them through", seconds(e.segment), e.k.Rendition)
	if note != "" {
		msg = "rung " + e.k.Rendition + ": " + note
	}
	rt.m.cfg.Observer.Event(channelEvent(resource.EventPassthroughKeyFrames, rt.name(), "channel "+rt.name()+": "+msg,
		map[string]string{"rendition": e.k.Rendition, "aligned": strconv.FormatBool(e.k.Aligned)}))
	if st := rt.state(); st.Active() && rt.index == 0 {
		rt.transition(st, msg, rt.rec.LastError)
	}
}

// keyFramesNote says, for key frames off the grid, how often they come and
// what GOP the publisher should set: "source key frames every 2.5 s do not
// fit 1 s segments: set the publisher's GOP to 1 s (-g 30 at 30 fps)". It
// is empty while they fall on the grid.
func keyFramesNote(k cmaf.KeyFrames, segment time.Duration) string {
	if k.Aligned {
		return ""
	}
	advice := "set the publisher's key frame interval (GOP) to " + seconds(segment) + " s"
	if k.Interval > 0 && k.Frames > 0 {
		fps := math.Round(float64(k.Frames)/k.Interval.Seconds()*100) / 100
		advice += fmt.Sprintf(" (-g %d at %s fps)", int(math.Round(segment.Seconds()*fps)), strconv.FormatFloat(fps, 'f', -1, 64))
	}
	if k.Interval <= 0 {
		return "source key frames do not fall on the " + seconds(segment) + " s segment boundaries: " + advice
	}
	// An interval that divides the segment fits; its key frames are then
	// merely off the boundaries (the input was cut mid-GOP on its way in).
	if fits := segment.Seconds() / k.Interval.Seconds(); math.Abs(fits-math.Round(fits)) < 0.02 && fits >= 1 {
		return fmt.Sprintf("source key frames every %s s fall between the %s s segment boundaries: they realign when the input next comes on air, or %s", seconds(k.Interval), seconds(segment), advice)
	}
	return fmt.Sprintf("source key frames every %s s do not fit %s s segments: %s", seconds(k.Interval), seconds(segment), advice)
}

// seconds formats a duration as seconds with at most two decimals.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Seconds()*100)/100, 'f', -1, 64)
}
