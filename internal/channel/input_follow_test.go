package channel

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// TestChannelStartsBeforeItsInputIsFollowed: on a node of a cluster, a
// channel can be placed before the node has followed the change that
// created its input. The channel reads the input from the store and runs,
// instead of failing with "input is not live".
func TestChannelStartsBeforeItsInputIsFollowed(t *testing.T) {
	ffmpeg := media.Tool(t, "ffmpeg")
	m, g := newLiveManager(t, t.TempDir(), ffmpeg, nil)
	ctx := context.Background()
	if _, err := m.CreateSecurityGroup(ctx, "", resource.SecurityGroupSpec{Name: "studio", Allow: []string{"127.0.0.1/32"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush, SecurityGroups: []string{"studio"}}); err != nil {
		t.Fatal(err)
	}
	// The node has not followed the input yet: its ingest does not know it.
	g.Remove("cam")
	if _, ok := g.Hub("cam"); ok {
		t.Fatal("the ingest still knows the removed input")
	}
	spec := channelSpec("news", "cam")
	spec.AutoStart = true
	if _, err := m.CreateChannel(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "news", resource.StateRunning)
	if _, ok := g.Hub("cam"); !ok {
		t.Error("the channel's start did not hand its input to the ingest")
	}
}

// newLiveManager returns a manager on a new store in dir, with a real
// ingest of live inputs; workers, given the ingest's registry, says how
// the ingest runs the inputs it fetches itself (nil: none).
func newLiveManager(t *testing.T, dir, ffmpeg string, workers func(*live.Registry) ingest.Workers) (*Manager, *ingest.Ingest) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := live.NewRegistry(nil)
	cfg := ingest.Config{Registry: reg}
	if workers != nil {
		cfg.Workers = workers(reg)
	}
	g := ingest.New(cfg)
	m := New(Config{
		Store: st, Resolver: input.Resolver{MediaRoot: dir}, FFmpeg: ffmpeg,
		Live: g, Fills: &switcher.FillMaker{FFmpeg: ffmpeg, Dir: dir},
		Backoff: []time.Duration{100 * time.Millisecond},
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Close(ctx)
		_ = g.Close(ctx)
		_ = st.Close()
	})
	return m, g
}
