package origin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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
// It returns a nil snapshot and true when the request asks for none. For
// a time-shifted request it returns the snapshot of the range, or answers
// 400 problem+json naming the parameter (and the DVR window, when the
// range is outside it) and returns false.
func (o *Origin) timeShift(w http.ResponseWriter, r *http.Request, ch Channel, ep resource.OutputGroup) (*cmaf.Snapshot, bool) {
	rng, err := dvr.ParseQuery(r.URL.Query())
	if errors.Is(err, dvr.ErrNoRange) {
		return nil, true
	}
	var pe *dvr.ParamError
	if errors.As(err, &pe) {
		o.badParam(w, r, pe.Param, pe.Error())
		return nil, false
	}
	if ep.DVRWindowSeconds == 0 || ch.DVR == nil {
		o.badParam(w, r, "start", fmt.Sprintf("endpoint %q has no DVR window (set dvrWindowSeconds): time-shifted manifests are not available", ep.Name))
		return nil, false
	}
	// The endpoint's own window may be shorter than what the channel keeps.
	first, last, _ := ch.DVR.Available()
	if floor := o.now().Add(-time.Duration(ep.DVRWindowSeconds) * time.Second); rng.Start.Before(floor) && !first.IsZero() {
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
	snap.Window = time.Duration(ep.DVRWindowSeconds) * time.Second
	return snap, true
}

// badParam answers 400 problem+json naming a query parameter.
func (o *Origin) badParam(w http.ResponseWriter, r *http.Request, param, detail string) {
	setCORS(w.Header())
	problem.Write(w, r, http.StatusBadRequest, detail, 0, problem.FieldError{Path: "query." + param, Message: detail})
}

// passQuery appends the request's token and time-shift parameters to the
// playlist URIs of a multivariant playlist, so that the media playlists
// are shifted (and authorised) alike.
func passQuery(body []byte, r *http.Request) []byte {
	q := url.Values{}
	in := r.URL.Query()
	for _, k := range []string{"start", "end", "token"} {
		if v, ok := in[k]; ok && len(v) == 1 {
			q.Set(k, v[0])
		}
	}
	if len(q) == 0 {
		return body
	}
	return bytes.ReplaceAll(body, []byte("/index.m3u8"), []byte("/index.m3u8?"+q.Encode()))
}

// archivedSegment serves a segment or init segment that has left the
// in-memory window from the DVR archive. It reports whether it answered.
func (o *Origin) archivedMedia(w http.ResponseWriter, r *http.Request, ch Channel, ep resource.OutputGroup, rendition, file string) bool {
	if ch.DVR == nil || ep.DVRWindowSeconds == 0 {
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
		if e := ep.Encryption; e != nil && ep.Type == resource.OutputHLS {
			k := n / uint64(e.Rotation()) //nolint:gosec // validated positive
			data = encryptSegment(o.contentKey(r.PathValue("channel"), ep.Name, k), n, data)
		}
		o.writeMedia(w, r, data, etagOf(data))
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
