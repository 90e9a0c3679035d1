package origin

import (
	"errors"
	"net/http"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// shifted applies a time-shift query (?start=…&end=…) to a manifest's
// snapshot: a range that has ended gives a finished presentation of exactly
// its segments, a start alone a start-over manifest that keeps growing. It
// answers 400 for a malformed range and 404, saying what the window holds,
// for a range outside it. Low-latency endpoints serve the live edge only.
func (o *Origin) shifted(w http.ResponseWriter, r *http.Request, snap *cmaf.Snapshot, ep resource.OutputGroup) (*cmaf.Snapshot, bool) {
	rg, ok, err := cmaf.ParseRange(r.URL.RawQuery)
	switch {
	case err != nil:
		o.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	case !ok:
		return snap, true
	case ep.Type.IsLowLatency():
		o.fail(w, r, http.StatusBadRequest, "low-latency endpoints serve the live edge: start and end apply to HLS, HLS_TS and DASH endpoints")
		return nil, false
	}
	clipped, err := snap.Clip(rg)
	switch {
	case errors.Is(err, cmaf.ErrOutsideWindow):
		o.fail(w, r, http.StatusNotFound, err.Error())
		return nil, false
	case err != nil:
		o.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return clipped, true
}
