package event

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// sseEvent is one event as a client parses it off the stream.
type sseEvent struct {
	id, typ, data string
}

// sseClient reads a text/event-stream response.
type sseClient struct {
	resp   *http.Response
	lines  chan string
	cancel context.CancelFunc
}

func dialSSE(t *testing.T, url, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, lines: make(chan string, 1024), cancel: cancel}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next event (skipping comments and retry lines).
func (c *sseClient) next(t *testing.T) sseEvent {
	t.Helper()
	var e sseEvent
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatal("stream ended")
			}
			switch {
			case line == "":
				if e.data != "" {
					return e
				}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		case <-timeout:
			t.Fatal("no event within the deadline")
		}
	}
}

func TestSSEDeliversInOrderAndResumes(t *testing.T) {
	bus := NewBus(BusConfig{})
	srv := httptest.NewServer(NewSSE(bus, SSEConfig{}))
	t.Cleanup(srv.Close) // after the clients' cleanups: Close waits for open streams

	for i := range 3 {
		bus.Publish(ev(resource.EventChannelStateChanged, i))
	}
	c := dialSSE(t, srv.URL+"?after=0", "")
	for i := 3; i < 50; i++ {
		bus.Publish(ev(resource.EventChannelStateChanged, i))
	}
	var last string
	for i := range 50 {
		e := c.next(t)
		if e.id != strconv.Itoa(i+1) || e.typ != resource.EventChannelStateChanged {
			t.Fatalf("event %d: id %s type %s", i, e.id, e.typ)
		}
		var got resource.Event
		if err := json.Unmarshal([]byte(e.data), &got); err != nil {
			t.Fatal(err)
		}
		if got.Seq != uint64(i+1) || got.Detail["i"] != strconv.Itoa(i) {
			t.Fatalf("data %s", e.data)
		}
		last = e.id
		if i == 29 {
			c.close() // the client goes away after 30 events
			break
		}
	}
	poll.UntilTrue(t, "the handler to notice the disconnect", 20*time.Second, func() bool { return bus.Subscribers() == 0 })

	// It reconnects with Last-Event-ID and gets the rest, then new ones.
	c2 := dialSSE(t, srv.URL, last)
	for i := 30; i < 50; i++ {
		if e := c2.next(t); e.id != strconv.Itoa(i+1) {
			t.Fatalf("after resuming: id %s, want %d", e.id, i+1)
		}
	}
	bus.Publish(ev(resource.EventInputLost, 50))
	if e := c2.next(t); e.id != "51" || e.typ != resource.EventInputLost {
		t.Fatalf("live event after resuming: %+v", e)
	}
}

func TestSSEFiltersByTypeAndStartsWithNewEvents(t *testing.T) {
	bus := NewBus(BusConfig{})
	srv := httptest.NewServer(NewSSE(bus, SSEConfig{}))
	t.Cleanup(srv.Close)
	bus.Publish(ev(resource.EventInputLost, 0)) // before the client: not sent
	c := dialSSE(t, srv.URL+"?type=input.*", "")
	poll.UntilTrue(t, "the subscription", 20*time.Second, func() bool { return bus.Subscribers() == 1 })
	bus.Publish(ev(resource.EventChannelCreated, 1))
	bus.Publish(ev(resource.EventInputRestored, 2))
	if e := c.next(t); e.id != "3" || e.typ != resource.EventInputRestored {
		t.Fatalf("first event %+v", e)
	}
}

func TestSSEHeartbeats(t *testing.T) {
	bus := NewBus(BusConfig{})
	srv := httptest.NewServer(NewSSE(bus, SSEConfig{Heartbeat: 10 * time.Millisecond}))
	t.Cleanup(srv.Close)
	c := dialSSE(t, srv.URL, "")
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line := <-c.lines:
			if strings.HasPrefix(line, ":") {
				return
			}
		case <-timeout:
			t.Fatal("no heartbeat")
		}
	}
}

func TestSSEEndsWhenTheBusCloses(t *testing.T) {
	bus := NewBus(BusConfig{})
	srv := httptest.NewServer(NewSSE(bus, SSEConfig{}))
	t.Cleanup(srv.Close) // after the clients' cleanups: Close waits for open streams
	c := dialSSE(t, srv.URL, "")
	poll.UntilTrue(t, "the subscription", 20*time.Second, func() bool { return bus.Subscribers() == 1 })
	bus.Close(context.Background())
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-c.lines:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("stream still open after the bus closed")
		}
	}
}

func TestSSERejects(t *testing.T) {
	bus := NewBus(BusConfig{})
	srv := httptest.NewServer(NewSSE(bus, SSEConfig{}))
	t.Cleanup(srv.Close) // after the clients' cleanups: Close waits for open streams
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %s", resp.Status)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, http.NoBody)
	req.Header.Set("Last-Event-ID", "yesterday")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad Last-Event-ID: %s", resp.Status)
	}
}
