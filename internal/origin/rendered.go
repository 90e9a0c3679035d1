package origin

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// maxRendered bounds the rendered manifests kept; past it the cache starts
// over (channels restarted or removed leave entries nobody asks for).
const maxRendered = 4096

// renderKey names one manifest of one endpoint configuration. Everything a
// query-free rendering depends on besides the timeline is in it.
type renderKey struct {
	tl       *cmaf.Timeline
	endpoint string
	typ      resource.OutputType
	window   time.Duration
	rotation int // 0 without encryption
	file     string
}

func keyOf(tl *cmaf.Timeline, ep resource.OutputGroup, file string) renderKey {
	k := renderKey{tl: tl, endpoint: ep.Name, typ: ep.Type, window: ep.Window(), file: file}
	if ep.Encryption != nil {
		k.rotation = ep.Encryption.Rotation()
	}
	return k
}

// rendered is a manifest rendered once for a timeline version, with the
// header values its answers carry.
type rendered struct {
	version      uint64
	body         []byte
	ctype        []string
	etag         []string
	cacheControl []string
}

// renderCache keeps the latest rendering of each manifest, so that a
// manifest is rendered once per timeline change rather than per request.
type renderCache struct {
	mu sync.RWMutex
	m  map[renderKey]*rendered
}

func (c *renderCache) get(k renderKey, version uint64) *rendered {
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e == nil || e.version != version {
		return nil
	}
	return e
}

func (c *renderCache) put(k renderKey, e *rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[k]; old != nil && old.version > e.version {
		return // a newer rendering won the race
	}
	if c.m == nil || len(c.m) >= maxRendered {
		c.m = make(map[renderKey]*rendered)
	}
	c.m[k] = e
}

// manifestMaxAge is the Cache-Control of a manifest: fresh for half a
// segment, and servable by a cache whose refresh fails for one segment
// more (stale-if-error), not for the cache's general window: an older
// live manifest sends players back in the stream.
func manifestMaxAge(snap *cmaf.Snapshot) string {
	seg := int(snap.SegmentDuration / time.Second)
	return "public, max-age=" + strconv.Itoa(max(1, seg/2)) + ", stale-if-error=" + strconv.Itoa(max(1, seg))
}

// serveRendered answers a query-free manifest request from the rendering
// of the timeline's current version, rendering it when the timeline has
// changed since. Errors (no segments yet, no such rendition) are answered
// as writeManifest does and not kept.
func (o *Origin) serveRendered(w http.ResponseWriter, r *http.Request, tl *cmaf.Timeline, ep resource.OutputGroup, file, ctype string, render func(*cmaf.Snapshot) ([]byte, error)) {
	k := keyOf(tl, ep, file)
	e := o.rendered.get(k, tl.Version())
	if e == nil {
		snap := tl.Snapshot(ep.Window())
		body, err := render(snap)
		if err != nil {
			o.writeManifest(w, r, snap, ctype, body, err)
			return
		}
		e = &rendered{
			version: snap.Version, body: body, ctype: []string{ctype},
			etag: []string{etagOf(body)}, cacheControl: []string{manifestMaxAge(snap)},
		}
		o.rendered.put(k, e)
	}
	h := w.Header()
	o.hdr.cors(h)
	h["Content-Type"] = e.ctype
	h["Cache-Control"] = e.cacheControl
	h["Etag"] = e.etag
	o.writeBody(w, r, e.body)
}
