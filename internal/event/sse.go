package event

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// SSEConfig configures an SSE handler.
type SSEConfig struct {
	// Heartbeat is how often an idle stream gets a comment line, so that
	// proxies keep it open (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to the client (default 10 s): a
	// client that stops reading is dropped.
	WriteTimeout time.Duration
	// Retry is the reconnection delay suggested to clients (default 2 s).
	Retry time.Duration
}

// SSE streams the bus as Server-Sent Events: "id:" is the event's Seq,
// "event:" its type and "data:" its JSON. A reconnecting client's
// Last-Event-ID (or ?after=) resumes after that event; without either the
// stream starts with the next event. ?type= filters by type ("channel.*"
// for a prefix).
type SSE struct {
	bus *Bus
	cfg SSEConfig
}

// NewSSE returns an SSE handler for the bus.
func NewSSE(bus *Bus, cfg SSEConfig) *SSE {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	return &SSE{bus: bus, cfg: cfg}
}

// ServeHTTP streams events until the client goes away or the bus closes.
func (s *SSE) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Serve(w, r, nil) }

// View turns an event into what one client may read of it; false leaves
// the event out of that client's stream.
type View func(resource.Event) (resource.Event, bool)

// Serve streams events as ServeHTTP does, each passed through view (nil
// sends them as they are): a client that may not read secrets gets them
// redacted.
func (s *SSE) Serve(w http.ResponseWriter, r *http.Request, view View) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	from := s.bus.Last()
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			http.Error(w, "Last-Event-ID and after must be an event sequence number", http.StatusBadRequest)
			return
		}
		from = n
		break
	}
	typ := r.URL.Query().Get("type")

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	events, sub := s.bus.Subscribe(ctx, from)
	defer sub.Close()
	var buf []byte
	send := func() bool {
		if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		if err != nil {
			return false
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		return true
	}
	buf = append(buf, "retry: "+strconv.FormatInt(s.cfg.Retry.Milliseconds(), 10)+"\n\n"...)
	if !send() {
		return
	}
	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			buf = append(buf, ": heartbeat\n\n"...)
			if !send() {
				return
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			// Write what is waiting, then flush once.
			for {
				if TypeMatches(typ, e.Type) {
					if v, show := viewOf(view, e); show {
						buf = appendEvent(buf, v)
					}
				}
				select {
				case e, ok = <-events:
					if ok {
						continue
					}
				default:
				}
				break
			}
			if len(buf) > 0 {
				if !send() {
					return
				}
				heartbeat.Reset(s.cfg.Heartbeat)
			}
			if !ok {
				return
			}
		}
	}
}

// viewOf applies view to e, if there is one.
func viewOf(view View, e resource.Event) (resource.Event, bool) {
	if view == nil {
		return e, true
	}
	return view(e)
}

// appendEvent appends one event in the text/event-stream format.
func appendEvent(buf []byte, e resource.Event) []byte {
	data, err := json.Marshal(e)
	if err != nil {
		return buf
	}
	buf = append(buf, "id: "...)
	buf = strconv.AppendUint(buf, e.Seq, 10)
	buf = append(buf, "\nevent: "...)
	buf = append(buf, sanitizeField(e.Type)...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...) // JSON has no raw newlines
	return append(buf, "\n\n"...)
}

// sanitizeField keeps a field on one line.
func sanitizeField(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
