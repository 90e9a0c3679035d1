package origin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serveMedia answers a segment or an init segment of the in-memory window,
// and 404 for any other file; encrypt seals segments with the endpoint's
// keys.
func (o *Origin) serveMedia(w http.ResponseWriter, r *http.Request, q request, encrypt bool) {
	m := segmentPattern.FindStringSubmatch(q.file)
	if m == nil {
		o.serveInit(w, r, q)
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	seg, ok := q.ch.Timeline.Segment(q.rendition, n)
	if err != nil || !ok {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("segment %s of rendition %q is not in the window", m[1], q.rendition))
		return
	}
	if encrypt {
		key := q.channel + "/" + q.rendition + "/" + strconv.FormatUint(seg.Run, 10) + "/" + m[1] + "/" + seg.ETag
		o.writeMedia(w, r, o.encrypted(q.channel, q.ep, seg.Number, key, seg.Data), strings.TrimSuffix(seg.ETag, `"`)+`-aes"`)
		return
	}
	o.writeMedia(w, r, seg.Data, seg.ETag)
}

// serveInit answers an init segment of the in-memory window, and 404 for
// any other file.
func (o *Origin) serveInit(w http.ResponseWriter, r *http.Request, q request) {
	m := initPattern.FindStringSubmatch(q.file)
	if m == nil {
		o.noFile(w, r, q)
		return
	}
	run, err := strconv.ParseUint(m[1], 10, 64)
	data, ok := q.ch.Timeline.Init(q.rendition, run)
	if err != nil || !ok {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("init segment %s of rendition %q is not in the window", m[1], q.rendition))
		return
	}
	o.writeMedia(w, r, data, etagOf(data))
}
