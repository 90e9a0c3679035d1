package server

import (
	"context"
	"sync"
	"testing"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/liveproxy"
)

// TestHoldersReadWhileUnansweredWrites asks the directory of the origin's
// proxy for a holder while other requests mark that holder silent, as the
// requests of a node do when a holder dies: the passing-over must never
// read a map being written.
func TestHoldersReadWhileUnansweredWrites(t *testing.T) {
	cl := cluster.Solo(cluster.Config{NodeID: "a", Advertise: "http://a"})
	h := newHolders(cl)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 500 {
				h.unanswered("ch", liveproxy.Holder{Node: "a"})
			}
		}()
		go func() {
			defer wg.Done()
			for range 500 {
				if _, ok, err := h.Holder(context.Background(), "ch"); !ok || err != nil {
					t.Errorf("holder: %v %v", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
