package live

import (
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// hubStats are a hub's counters; guarded by hub.mu.
type hubStats struct {
	publisher     Publisher
	since         time.Time
	tracks        []*Track
	frames        uint64
	bytes         uint64
	lastMedia     time.Time
	refused       uint64
	lastPublisher Publisher
	lastEnd       time.Time
	lastReason    string
	lastError     string
	lastErrorAt   time.Time
	bytesWindow   rateWindow
}

// Status is what an input reports about its live side: the resource
// model's LiveStatus, as the API shows it.
type Status = resource.LiveStatus

// Status returns the hub's current figures.
func (h *Hub) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	st := h.stats
	out := Status{
		Connected:      h.session != nil,
		FramesReceived: st.frames,
		BytesReceived:  st.bytes,
		Refused:        st.refused,
		LastPublisher:  st.lastPublisher.Describe(),
		LastEndReason:  st.lastReason,
		LastError:      st.lastError,
		LastErrorAt:    st.lastErrorAt,
	}
	if h.session != nil {
		out.Publisher, out.Protocol, out.Since = st.publisher.Describe(), st.publisher.Protocol, st.since
		out.BitrateIn = st.bytesWindow.bitsPerSecond(now)
		for _, t := range st.tracks {
			switch t.Kind {
			case Video:
				out.Video, out.Width, out.Height = string(t.Codec), t.Width, t.Height
			case Audio:
				out.Audio = string(t.Codec)
			}
		}
	}
	if !st.lastMedia.IsZero() {
		out.SinceLastMedia = now.Sub(st.lastMedia).Seconds()
	}
	return out
}

// rateWindow measures a byte rate over the last whole seconds (one slot
// holds the second still filling).
type rateWindow struct {
	slots [windowSlots]struct {
		second int64
		bytes  int
	}
}

const windowSlots = 5

func (w *rateWindow) add(t time.Time, n int) {
	sec := t.Unix()
	slot := &w.slots[sec%windowSlots]
	if slot.second != sec {
		slot.second, slot.bytes = sec, 0
	}
	slot.bytes += n
}

func (w *rateWindow) bitsPerSecond(now time.Time) int64 {
	sec := now.Unix()
	total := 0
	for _, s := range w.slots {
		// Whole seconds only: the current second is still filling.
		if s.second < sec && s.second >= sec-(windowSlots-1) {
			total += s.bytes
		}
	}
	return int64(total) * 8 / (windowSlots - 1)
}
