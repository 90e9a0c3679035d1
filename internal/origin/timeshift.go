package origin

import (
	"errors"
	"net/http"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// manifestSnapshot is the snapshot a manifest request describes: the DVR
// range it asks for (archived is then true), else the in-memory window
// clipped to the range it asks for (see shifted). It answers a bad range
// itself and returns ok false.
func (o *Origin) manifestSnapshot(w http.ResponseWriter, r *http.Request, q request) (snap *cmaf.Snapshot, archived, ok bool) {
	switch snap, ok = o.timeShift(w, r, q.ch, q.ep); {
	case !ok:
		return nil, false, false
	case snap != nil:
		return snap, true, true
	}
	snap, ok = o.shifted(w, r, q.ch.Timeline.Snapshot(q.ep.Window()), q.ep)
	return snap, false, ok
}

// shifted applies a time-shift query (?start=…&end=…) to a manifest's
// snapshot of the in-memory window, by the same parser, selection rule and
// error contract as an endpoint with a DVR window (see timeShift): a closed
// range gives a finished presentation of the segments overlapping it, a
// start alone a start-over manifest that keeps growing. A malformed query,
// or a range outside the window, is answered 400 problem+json naming the
// parameter (and stating the window's first and last times). Low-latency
// endpoints serve the live edge only.
func (o *Origin) shifted(w http.ResponseWriter, r *http.Request, snap *cmaf.Snapshot, ep resource.OutputGroup) (*cmaf.Snapshot, bool) {
	rng, err := dvr.ParseQuery(r.URL.Query())
	if errors.Is(err, dvr.ErrNoRange) {
		return snap, true
	}
	if ep.Type.IsLowLatency() {
		o.badParam(w, r, "start", "low-latency endpoints serve the live edge: start and end apply to HLS, HLS_TS and DASH endpoints")
		return nil, false
	}
	if !o.rangeError(w, r, err) {
		return nil, false
	}
	clipped, err := dvr.Clip(snap, rng)
	if !o.rangeError(w, r, err) {
		return nil, false
	}
	return clipped, true
}

// rangeError answers a time-shift error as 400 problem+json naming its
// parameter and reports whether err was nil.
func (o *Origin) rangeError(w http.ResponseWriter, r *http.Request, err error) bool {
	var pe *dvr.ParamError
	var re *dvr.RangeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &pe):
		o.badParam(w, r, pe.Param, pe.Error())
	case errors.As(err, &re):
		o.badParam(w, r, re.Param, re.Error())
	default:
		o.badParam(w, r, "start", err.Error())
	}
	return false
}
