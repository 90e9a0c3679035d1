package httpguard

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestConnectionsPerClientAreBounded(t *testing.T) {
	var refused atomic.Int64
	addr := serve(t, Config{MaxConnsPerClient: 2, Refused: func() { refused.Add(1) }}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	// Two kept-alive connections of 127.0.0.1 are served and held.
	var held [2]net.Conn
	for i := range held {
		c, resp, err := getFrom(t, "127.0.0.1", addr)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d of the client: %v", i+1, err)
		}
		held[i] = c
	}
	// A third is closed unanswered.
	if _, resp, err := getFrom(t, "127.0.0.1", addr); !closedByPeer(err) {
		t.Fatalf("a third connection of the client: %v %v, want it closed", resp, err)
	}
	if refused.Load() != 1 {
		t.Errorf("%d refusals counted, want 1", refused.Load())
	}
	// Another client address is served meanwhile.
	if _, resp, err := getFrom(t, "127.0.0.2", addr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a connection of 127.0.0.2: %v", err)
	}
	// Once the client closes one, it may open another.
	_ = held[0].Close()
	poll.Until(t, "a new connection of the client served after it closed one", 30*time.Second, func() (bool, string) {
		_, resp, err := getFrom(t, "127.0.0.1", addr)
		if err != nil {
			return false, err.Error()
		}
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}
