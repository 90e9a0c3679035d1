package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// A follower of one kind of event asks the stream for that kind only and
// keeps the segment.gap events it hears for the DVR check: one follower
// per node of a cluster puts every node's events in one log.
func TestUnitGapFollowers(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	node := func(channel string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/events/stream" || r.URL.Query().Get("type") != "segment.gap" {
				http.Error(w, "want the segment.gap stream", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "id: 1\nevent: segment.gap\ndata: {\"at\":%q,\"detail\":{\"channel\":%q}}\n\n", at.Format(time.RFC3339Nano), channel)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
	}
	a, b := node("soak-rtmp"), node("soak-srt")
	defer a.Close()
	defer b.Close()
	gaps := &gapLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, s := range []*httptest.Server{a, b} {
		f := &eventFollower{base: func() string { return s.URL }, only: "segment.gap", gaps: gaps}
		go func() { f.run(ctx); done <- struct{}{} }()
	}
	poll.Until(t, "both nodes' segment.gap events", 10*time.Second, func() (bool, string) {
		return gaps.near("soak-rtmp", at, at, 0) && gaps.near("soak-srt", at, at, 0), fmt.Sprintf("%d events", gaps.count())
	})
	cancel()
	a.CloseClientConnections()
	b.CloseClientConnections()
	<-done
	<-done
}
