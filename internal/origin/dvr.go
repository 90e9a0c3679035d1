package origin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// Archive is a channel's DVR archive as the origin uses it: time-shifted
// snapshots and the segments that have left the in-memory window.
// *dvr.Archive satisfies it.
type Archive interface {
	Cut(r dvr.Range, ended bool) (*cmaf.Snapshot, error)
	Available() (first, last time.Time, ok bool)
	Segment(rendition string, number uint64) ([]byte, bool)
	Init(rendition string, run uint64) ([]byte, bool)
}

// timeShift reads a manifest request's time-shift parameters (start, end).
// It returns a nil snapshot and true when the request asks for none or the
// endpoint has no DVR window (the in-memory window then answers). For
// a time-shifted request it returns the snapshot of the range, or answers
// 400 problem+json naming the parameter (and the DVR window, when the
// range is outside it) and returns false.
func (o *Origin) timeShift(w http.ResponseWriter, r *http.Request, ch Channel, ep resource.OutputGroup) (*cmaf.Snapshot, bool) {
	if ep.DVRWindow() == 0 || ch.DVR == nil {
		// Without a DVR window, ranges are cut from the in-memory window.
		return nil, true
	}
	rng, err := dvr.ParseQuery(r.URL.Query())
	if errors.Is(err, dvr.ErrNoRange) {
		return nil, true
	}
	var pe *dvr.ParamError
	if errors.As(err, &pe) {
		o.badParam(w, r, pe.Param, pe.Error())
		return nil, false
	}
	// The endpoint's own window may be shorter than what the channel keeps.
	first, last, _ := ch.DVR.Available()
	if floor := o.now().Add(-ep.DVRWindow()); rng.Start.Before(floor) && !first.IsZero() {
		if first.Before(floor) {
			first = floor
		}
		err := &dvr.RangeError{Param: "start", Reason: "(" + rng.Start.UTC().Format(time.RFC3339Nano) + ") is outside the DVR window", First: first, Last: last}
		o.badParam(w, r, "start", err.Error())
		return nil, false
	}
	snap, err := ch.DVR.Cut(rng, ch.Timeline.Snapshot(0).Ended)
	var re *dvr.RangeError
	if errors.As(err, &re) {
		o.badParam(w, r, re.Param, re.Error())
		return nil, false
	}
	if err != nil {
		o.logger.Error("cutting a time-shifted range failed", "path", r.URL.Path, "error", err)
		o.fail(w, r, http.StatusInternalServerError, "the time-shifted manifest could not be made")
		return nil, false
	}
	snap.Window = ep.DVRWindow()
	return snap, true
}

// badParam answers 400 problem+json naming a query parameter.
func (o *Origin) badParam(w http.ResponseWriter, r *http.Request, param, detail string) {
	setCORS(w.Header())
	problem.Write(w, r, http.StatusBadRequest, detail, 0, problem.FieldError{Path: "query." + param, Message: detail})
}

// archivedMedia serves a segment or init segment that has left the
// in-memory window from the DVR archive. It reports whether it answered.
func (o *Origin) archivedMedia(w http.ResponseWriter, r *http.Request, ch Channel, ep resource.OutputGroup, rendition, file string) bool {
	if ch.DVR == nil || ep.DVRWindow() == 0 {
		return false
	}
	if m := segmentPattern.FindStringSubmatch(file); m != nil {
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return false
		}
		if _, live := ch.Timeline.Segment(rendition, n); live {
			return false
		}
		data, ok := ch.DVR.Segment(rendition, n)
		if !ok {
			return false
		}
		// The same ETag as the segment had while live (one hash of the
		// same bytes), and encryption through the same cache.
		etag := etagOf(data)
		if ep.Encryption != nil && ep.Type == resource.OutputHLS {
			channel := r.PathValue("channel")
			key := "dvr/" + channel + "/" + rendition + "/" + m[1] + "/" + etag
			o.writeMedia(w, r, o.encrypted(channel, ep, n, key, data), strings.TrimSuffix(etag, `"`)+`-aes"`)
			return true
		}
		o.writeMedia(w, r, data, etag)
		return true
	}
	if m := initPattern.FindStringSubmatch(file); m != nil {
		run, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return false
		}
		if _, live := ch.Timeline.Init(rendition, run); live {
			return false
		}
		data, ok := ch.DVR.Init(rendition, run)
		if !ok {
			return false
		}
		o.writeMedia(w, r, data, etagOf(data))
		return true
	}
	return false
}
