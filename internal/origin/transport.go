package origin

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/packager/ts"
	"github.com/sluice-video/sluice/internal/resource"
)

// tsPattern names an HLS_TS segment.
var tsPattern = regexp.MustCompile(`^([0-9]{1,19})\.ts$`)

// tsCacheSize bounds the remuxed segments kept: a few segments of every
// rung of a few channels, so that players fetching the same new segment
// share one remux.
const tsCacheSize = 64

// tsCache keeps recently remuxed MPEG-TS segments, keyed by channel,
// rendition, run and number, oldest evicted first.
type tsCache struct {
	mu    sync.Mutex
	items map[string][]byte
	order []string
}

func (c *tsCache) get(key string, make func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.items[key]; ok {
		return b, nil
	}
	b, err := make()
	if err != nil {
		return nil, err
	}
	if c.items == nil {
		c.items = map[string][]byte{}
	}
	c.items[key] = b
	c.order = append(c.order, key)
	for len(c.order) > tsCacheSize {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	return b, nil
}

// serveTransportStream answers the media playlists and segments of an
// HLS_TS endpoint. The segments of a video rendition carry the channel's
// first audio rendition.
func (o *Origin) serveTransportStream(w http.ResponseWriter, r *http.Request, tl *cmaf.Timeline, ep resource.OutputGroup, rendition, file string) {
	if file == "index.m3u8" {
		snap, ok := o.shifted(w, r, tl.Snapshot(time.Duration(ep.WindowSeconds)*time.Second), ep)
		if !ok {
			return
		}
		if rd := findVideo(snap, rendition); rd == nil {
			o.fail(w, r, http.StatusNotFound, "no such video rendition")
			return
		}
		body, err := hls.MediaWith(snap, rendition, hls.Options{TransportStream: true, Encryption: encryption(ep, r)})
		o.writeManifest(w, r, snap, "application/vnd.apple.mpegurl", body, err)
		return
	}
	m := tsPattern.FindStringSubmatch(file)
	if m == nil {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("endpoint %q has no file %q", ep.Name, rendition+"/"+file))
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	seg, ok := tl.Segment(rendition, n)
	snap := tl.Snapshot(0)
	if err != nil || !ok || findVideo(snap, rendition) == nil {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("segment %s of rendition %q is not in the window", m[1], rendition))
		return
	}
	channel := r.PathValue("channel")
	key := channel + "/" + rendition + "/" + strconv.FormatUint(seg.Run, 10) + "/" + m[1]
	data, err := o.ts.get(key, func() ([]byte, error) {
		init, _ := tl.Init(rendition, seg.Run)
		video := ts.Segment{Init: init, Data: seg.Data}
		var audio *ts.Segment
		if a := firstAudio(snap); a != "" {
			if as, ok := tl.Segment(a, n); ok {
				ai, _ := tl.Init(a, as.Run)
				audio = &ts.Segment{Init: ai, Data: as.Data}
			}
		}
		return ts.Remux(video, audio)
	})
	if err != nil {
		o.logger.Error("remuxing a segment to MPEG-TS failed", "channel", channel, "rendition", rendition, "segment", n, "error", err)
		o.fail(w, r, http.StatusInternalServerError, "the segment could not be remuxed to MPEG-TS")
		return
	}
	etag := `"ts-` + strings.Trim(etagOf(data), `"`) + `"`
	if e := ep.Encryption; e != nil {
		k := n / uint64(e.Rotation()) //nolint:gosec // validated positive
		data = encryptSegment(o.contentKey(channel, ep.Name, k), n, data)
	}
	o.writeMediaType(w, r, data, etag, "video/mp2t")
}

func findVideo(s *cmaf.Snapshot, id string) *cmaf.Rendition {
	for i := range s.Renditions {
		if s.Renditions[i].ID == id && s.Renditions[i].Kind == cmaf.Video {
			return &s.Renditions[i]
		}
	}
	return nil
}

func firstAudio(s *cmaf.Snapshot) string {
	for _, r := range s.Renditions {
		if r.Kind == cmaf.Audio {
			return r.ID
		}
	}
	return ""
}
