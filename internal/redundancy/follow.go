package redundancy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// followLocal merges a timeline of this node until ctx ends.
func (m *Merged) followLocal(ctx context.Context, index int, gen uint64, tl *cmaf.Timeline, live func() bool) {
	backoff := m.cfg.MinBackoff
	for ctx.Err() == nil {
		m.setUp(index, gen, true)
		t := newTap(tl, live, m.resumeFrom(index, gen))
		err := t.follow(ctx, func(msg message) error { return m.apply(index, gen, msg) }, nil, 0)
		if ctx.Err() != nil || errors.Is(err, errDetached) {
			return
		}
		m.setUp(index, gen, false)
		m.logger.Error(fmt.Sprintf("channel %s: merging pipeline %d failed: %v", m.cfg.Channel, index, err), "pipeline", index)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
	}
}

// followRemote merges the pipeline of another node, read from its feed,
// until ctx ends: a feed that fails is read again after a backoff, from
// the segment after the last one it brought.
func (m *Merged) followRemote(ctx context.Context, index int, gen uint64, base string) {
	backoff := m.cfg.MinBackoff
	var lastErr string
	for ctx.Err() == nil {
		segments, err := m.readFeed(ctx, index, gen, base)
		m.setUp(index, gen, false)
		if ctx.Err() != nil || errors.Is(err, errDetached) {
			return
		}
		if segments > 0 {
			backoff = m.cfg.MinBackoff
		}
		msg := fmt.Sprintf("channel %s: the feed of pipeline %d from %s ended: %v", m.cfg.Channel, index, base, err)
		if msg != lastErr {
			m.logger.Warn(msg, "pipeline", index, "node", base)
			lastErr = msg
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
	}
}

// errIdle ends a feed that fell silent: the other node was paused or cut
// off.
var errIdle = errors.New("the feed brought nothing for too long")

// readFeed reads a peer's feed of pipeline index once, merging what it
// brings, and says how many complete segments it brought.
func (m *Merged) readFeed(ctx context.Context, index int, gen uint64, base string) (int, error) {
	from := m.resumeFrom(index, gen)
	u := strings.TrimSuffix(base, "/") + "/internal/v1/channels/" + url.PathEscape(m.cfg.ChannelID) +
		"/pipelines/" + strconv.Itoa(index) + "/feed?from=" + strconv.FormatUint(from, 10)
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if m.cfg.Key != nil {
		m.cfg.Key.Sign(req, m.cfg.Self)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("the node answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	idle := newIdleReader(resp.Body, m.cfg.IdleTimeout, func() { cancel(errIdle) })
	defer idle.stop()
	br := bufio.NewReaderSize(idle, 256<<10)
	segments := 0
	fail := func(err error) (int, error) {
		if c := context.Cause(rctx); c != nil && ctx.Err() == nil {
			err = c
		}
		return segments, err
	}
	first, err := readFrame(br)
	if err != nil {
		return fail(err)
	}
	if first.kind != kindHello {
		return fail(fmt.Errorf("%w: the feed starts with a %s, not a hello", ErrFeed, first.kind))
	}
	h := first.hello
	if err := m.compatible(helloRenditions(h), h.SegmentDuration, h.PartDuration, h.AvailabilityStart); err != nil {
		return fail(fmt.Errorf("the peer's pipeline does not fit the channel: %w", err))
	}
	m.setUp(index, gen, true)
	for {
		msg, err := readFrame(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the node closed the feed")
			}
			return fail(err)
		}
		if err := m.apply(index, gen, msg); err != nil {
			return fail(err)
		}
		if msg.kind == kindSegment {
			segments++
		}
	}
}

func helloRenditions(h *hello) []cmaf.RenditionConfig {
	out := make([]cmaf.RenditionConfig, len(h.Renditions))
	for i, id := range h.Renditions {
		out[i] = cmaf.RenditionConfig{ID: id}
	}
	return out
}

// sleep waits d, or less when ctx ends; it reports whether ctx lasts.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// idleReader calls onIdle when no read returned bytes for its timeout.
type idleReader struct {
	r     io.Reader
	d     time.Duration
	mu    sync.Mutex
	timer *time.Timer
}

func newIdleReader(r io.Reader, d time.Duration, onIdle func()) *idleReader {
	return &idleReader{r: r, d: d, timer: time.AfterFunc(d, onIdle)}
}

func (i *idleReader) Read(b []byte) (int, error) {
	n, err := i.r.Read(b)
	if n > 0 {
		i.mu.Lock()
		i.timer.Reset(i.d)
		i.mu.Unlock()
	}
	return n, err
}

func (i *idleReader) stop() {
	i.mu.Lock()
	i.timer.Stop()
	i.mu.Unlock()
}
