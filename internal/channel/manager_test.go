package channel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// newManager runs a real manager on a real store; channels use real ffmpeg.
func newManager(t *testing.T) (*Manager, *store.Store) {
	t.Helper()
	ffmpeg := media.Tool(t, "ffmpeg")
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{
		Store:    st,
		Resolver: input.Resolver{MediaRoot: dir},
		FFmpeg:   ffmpeg,
		Backoff:  []time.Duration{100 * time.Millisecond},
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Close(ctx)
		_ = st.Close()
	})
	return m, st
}

func smallPattern(t *testing.T, m *Manager, name string) {
	t.Helper()
	_, err := m.CreateInput(context.Background(), "", resource.InputSpec{
		Name: name, Type: resource.InputTestPattern,
		TestPattern: &resource.TestPattern{Width: 320, Height: 180, FPS: 25},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func channelSpec(name, in string) resource.ChannelSpec {
	return resource.ChannelSpec{
		Name:             name,
		InputAttachments: []resource.InputAttachment{{Input: in}},
		Encoder:          resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1},
	}
}

func waitFor(t *testing.T, m *Manager, name string, want resource.ChannelState) resource.Channel {
	t.Helper()
	var ch resource.Channel
	poll.Until(t, fmt.Sprintf("channel %s to be %s", name, want), 60*time.Second, func() (bool, string) {
		var err error
		ch, err = m.GetChannel(context.Background(), name)
		return err == nil && ch.State == want, fmt.Sprintf("%s (err %v)", ch.State, err)
	})
	return ch
}

// runningChannel creates a test pattern input and an autoStart channel on
// it, waits until the channel runs and returns its spec.
func runningChannel(t *testing.T, m *Manager, name string) resource.ChannelSpec {
	t.Helper()
	smallPattern(t, m, "bars")
	spec := channelSpec(name, "bars")
	spec.AutoStart = true
	if _, err := m.CreateChannel(context.Background(), "", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, name, resource.StateRunning)
	return spec
}

// waitGone waits until a deleted channel no longer exists.
func waitGone(t *testing.T, m *Manager, name string) {
	t.Helper()
	poll.UntilTrue(t, "channel "+name+" to be deleted", 30*time.Second, func() bool {
		_, err := m.GetChannel(context.Background(), name)
		return errors.Is(err, resource.ErrNotFound)
	})
}

func history(t *testing.T, m *Manager, name string) []resource.ChannelState {
	t.Helper()
	h, err := m.History(context.Background(), name, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []resource.ChannelState
	for _, c := range h {
		if len(out) == 0 || out[len(out)-1] != c.To {
			out = append(out, c.To)
		}
	}
	return out
}

func TestStartWhileCreatingIsQueued(t *testing.T) {
	m, _ := newManager(t)
	smallPattern(t, m, "bars")
	ctx := context.Background()
	ch, err := m.CreateChannel(ctx, "", channelSpec("queued", "bars"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.State != resource.StateCreating {
		t.Fatalf("a new channel is CREATING, got %s", ch.State)
	}
	if _, err := m.StartChannel(ctx, "queued"); err != nil {
		t.Fatalf("start while creating must be queued, not refused: %v", err)
	}
	waitFor(t, m, "queued", resource.StateRunning)
	got := history(t, m, "queued")
	want := []resource.ChannelState{resource.StateCreating, resource.StateIdle, resource.StateStarting, resource.StateRunning}
	if !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

func TestDeleteRunningChannelStopsItFirst(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	runningChannel(t, m, "doomed")
	served, ok := m.Lookup("doomed")
	if !ok || served.Timeline == nil || served.Timeline.Produced() == 0 {
		t.Fatal("a running channel is served with segments")
	}
	if _, err := m.DeleteChannel(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, m, "doomed")
	if _, ok := m.Lookup("doomed"); ok {
		t.Error("a deleted channel is still served")
	}
	if err := m.DeleteInput(ctx, "bars"); err != nil {
		t.Errorf("its input is free once the channel is gone: %v", err)
	}
}

func TestUpdateRunningChannelRestartsWithADiscontinuity(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	spec := runningChannel(t, m, "live")
	served, _ := m.Lookup("live")
	before := served.Timeline.NextNumber()

	spec.Encoder.Video = []resource.VideoDescription{{Name: "small", Width: 256, Height: 144, Bitrate: 150000, FPS: 25, Profile: "baseline", Preset: "ultrafast"}}
	spec.Encoder.Ladder = ""
	if _, err := m.UpdateChannel(ctx, "live", "", spec); err != nil {
		t.Fatal(err)
	}
	ch := waitFor(t, m, "live", resource.StateRunning)
	if ch.Encoder.Video[0].Name != "small" {
		t.Errorf("spec not updated: %+v", ch.Encoder)
	}
	served, _ = m.Lookup("live")
	snap := served.Timeline.Snapshot(time.Minute)
	if len(snap.Renditions) != 2 || snap.Renditions[0].ID != "small" {
		t.Fatalf("renditions after the update: %+v", snap.Renditions)
	}
	segs := snap.Renditions[0].Segments
	if len(segs) == 0 || segs[0].Number < before || segs[0].Discontinuity == 0 {
		t.Errorf("the new ladder continues the numbering after a discontinuity: %+v (numbers were at %d)", segs, before)
	}
	got := history(t, m, "live")
	if !slices.Contains(got, resource.StateUpdating) {
		t.Errorf("states %v should pass through UPDATING", got)
	}
}

func TestEncoderFailureBeforeAnySegmentFails(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	smallPattern(t, m, "bars")
	// An encoder that exits at once, three times in a row before any
	// segment, ends in FAILED with the reason.
	m.cfg.FFmpeg = "/bin/false"
	spec := channelSpec("broken", "bars")
	spec.AutoStart = true
	if _, err := m.CreateChannel(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	ch := waitFor(t, m, "broken", resource.StateFailed)
	if ch.LastError == "" {
		t.Error("a failed channel says why")
	}
	n := 0
	h, _ := m.History(ctx, "broken", 100)
	for _, c := range h {
		if c.To == resource.StateStarting {
			n++
		}
	}
	if n < maxStartFailures {
		t.Errorf("%d start attempts recorded, want %d: %v", n, maxStartFailures, fmt.Sprint(h))
	}
	// A failed channel can be started again once the cause is fixed.
	m.cfg.FFmpeg = media.Tool(t, "ffmpeg")
	if _, err := m.StartChannel(ctx, "broken"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "broken", resource.StateRunning)
}

func TestBootResumesRunningChannels(t *testing.T) {
	m, st := newManager(t)
	smallPattern(t, m, "bars")
	ctx := context.Background()
	spec := channelSpec("persist", "bars")
	spec.AutoStart = true
	if _, err := m.CreateChannel(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateChannel(ctx, "", channelSpec("idle", "bars")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "persist", resource.StateRunning)
	waitFor(t, m, "idle", resource.StateIdle)
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	m.Close(closeCtx)
	cancel()

	m2 := New(Config{Store: st, Resolver: m.cfg.Resolver, FFmpeg: m.cfg.FFmpeg})
	t.Cleanup(func() { m2.Close(context.Background()) })
	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m2, "persist", resource.StateRunning)
	if ch, _ := m2.GetChannel(ctx, "idle"); ch.State != resource.StateIdle {
		t.Errorf("an idle channel stays idle after a restart, got %s", ch.State)
	}
}

func TestRemoteFileInputLoops(t *testing.T) {
	m, _ := newManager(t)
	dir := t.TempDir()
	media.Sample(t, dir, 320, 180, 3)
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(files.Close)
	ctx := context.Background()
	if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: "web", Type: resource.InputFile, URL: files.URL + "/sample-320x180-3s.mp4"}); err != nil {
		t.Fatal(err)
	}
	spec := channelSpec("remote", "web")
	spec.AutoStart = true
	if _, err := m.CreateChannel(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "remote", resource.StateRunning)
	served, _ := m.Lookup("remote")
	// Three seconds of file in one-second segments: six segments mean it looped.
	poll.Until(t, "six segments from the looped URL", 60*time.Second, func() (bool, string) {
		ch, _ := m.GetChannel(ctx, "remote")
		return served.Timeline.Produced() >= 6, fmt.Sprintf("%d segments; channel %s %s", served.Timeline.Produced(), ch.State, ch.LastError)
	})
	if ch, _ := m.GetChannel(ctx, "remote"); ch.State != resource.StateRunning || ch.Pipeline.Restarts != 0 {
		t.Errorf("looping a URL must not restart the encoder: %+v", ch)
	}
}

func TestNothingUndoesADelete(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	runningChannel(t, m, "going")
	if _, err := m.DeleteChannel(ctx, "going"); err != nil {
		t.Fatal(err)
	}
	// The channel is stopping before it goes: a start or stop now must not
	// cancel the delete, and a second delete is fine.
	if _, err := m.StartChannel(ctx, "going"); err != nil && !errors.Is(err, resource.ErrConflict) && !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("start during a delete: %v", err)
	}
	if _, err := m.DeleteChannel(ctx, "going"); err != nil && !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a second delete: %v", err)
	}
	waitGone(t, m, "going")
}

// TestFileInputOutsideTheFoldersIsRefused: an absolute path outside the
// media directory and the allowed folders is refused at creation, naming
// the field, and the answer is the same whether the file exists or not;
// a path in an allowed folder is taken.
func TestFileInputOutsideTheFoldersIsRefused(t *testing.T) {
	m, _ := newManager(t)
	allowed, outside := t.TempDir(), t.TempDir()
	m.cfg.Resolver.MediaAllow = []string{allowed}
	if err := os.WriteFile(filepath.Join(outside, "there.mp4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var msgs []string
	for i, p := range []string{filepath.Join(outside, "there.mp4"), filepath.Join(outside, "gone.mp4")} {
		_, err := m.CreateInput(ctx, "", resource.InputSpec{Name: fmt.Sprintf("out%d", i), Type: resource.InputFile, URL: p})
		var fe resource.FieldErrors
		if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Path != "url" {
			t.Fatalf("%s: %v, want a field error on url", p, err)
		}
		msgs = append(msgs, fe[0].Message)
	}
	if msgs[0] != msgs[1] || !strings.Contains(msgs[0], "--media-allow") {
		t.Errorf("answers %q", msgs)
	}
	if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: "ok", Type: resource.InputFile, URL: filepath.Join(allowed, "show.mp4")}); err != nil {
		t.Errorf("a path in an allowed folder: %v", err)
	}
}
