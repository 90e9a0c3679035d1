package channel

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// createdWatcher looks the channel up at the moment channel.created is
// published, as a rule that starts it does.
type createdWatcher struct {
	nopObserver
	m *Manager

	mu    sync.Mutex
	found []error
}

func (w *createdWatcher) Event(e resource.Event) {
	if e.Type != resource.EventChannelCreated {
		return
	}
	_, err := w.m.GetChannel(context.Background(), e.Detail["channel"])
	w.mu.Lock()
	w.found = append(w.found, err)
	w.mu.Unlock()
}

// TestChannelCreatedIsPublishedOnceTheChannelTakesCommands: the demo's
// autostart rule failed with "channel not found" because channel.created
// was published before the channel was registered.
func TestChannelCreatedIsPublishedOnceTheChannelTakesCommands(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	w := &createdWatcher{}
	m := New(Config{Store: st, Resolver: input.Resolver{MediaRoot: dir}, FFmpeg: media.Tool(t, "ffmpeg"), Observer: w})
	w.m = m
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Close(ctx)
		_ = st.Close()
	})
	smallPattern(t, m, "bars")
	if _, err := m.CreateChannel(context.Background(), "", resource.ChannelSpec{Name: "news",
		InputAttachments: []resource.InputAttachment{{Input: "bars"}}, Encoder: resource.EncoderSettings{Ladder: "test-360p"}}); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.found) != 1 || w.found[0] != nil {
		t.Fatalf("looking the channel up at its channel.created: %v", w.found)
	}
}
