package channel

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/pull"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// source is a TCP listener standing in for a pulled source: it counts the
// connections it gets and holds them open, silent, until they close.
type source struct {
	ln net.Listener

	mu     sync.Mutex
	opened int
	open   int
}

func newSource(t *testing.T) *source {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &source{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.opened++
			s.open++
			s.mu.Unlock()
			go func() {
				_, _ = io.Copy(io.Discard, c) // until the puller hangs up
				_ = c.Close()
				s.mu.Lock()
				s.open--
				s.mu.Unlock()
			}()
		}
	}()
	return s
}

func (s *source) counts() (opened, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.open
}

func (s *source) url() string { return "http://" + s.ln.Addr().String() + "/live.ts" }

// TestURLPullConnectsOnlyForARunningChannel: a URL_PULL input makes no
// connection while it is detached, nor while its channel is idle; it
// connects once the channel starts and hangs up when it stops. One aimed
// at the metadata address is refused, and its status says why.
func TestURLPullConnectsOnlyForARunningChannel(t *testing.T) {
	ffmpeg := media.Tool(t, "ffmpeg")
	policy, err := outbound.New(outbound.Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newLiveManager(t, t.TempDir(), ffmpeg, func(reg *live.Registry) ingest.Workers {
		return ingest.Workers{
			Pull: func(ctx context.Context, in, rawURL string) error { return pull.Run(ctx, reg, in, rawURL, policy, nil) },
		}
	})
	ctx := context.Background()
	detached, attached, control := newSource(t), newSource(t), newSource(t)
	for name, s := range map[string]*source{"detached": detached, "attached": attached, "control": control} {
		if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: name, Type: resource.InputURLPull, URL: s.url()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: "metadata", Type: resource.InputURLPull, URL: "http://169.254.169.254/latest/live.ts"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateChannel(ctx, "", channelSpec("idle", "attached")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "idle", resource.StateIdle)
	// The control input's channel runs: once its source has been
	// connected to, the others would have been too, had they been pulled.
	running := channelSpec("running", "control")
	running.InputAttachments[0].SecondaryInput = "metadata"
	running.AutoStart = true
	if _, err := m.CreateChannel(ctx, "", running); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the running channel's pull", 90*time.Second, func() bool { n, _ := control.counts(); return n > 0 })
	for name, s := range map[string]*source{"detached": detached, "attached to an idle channel": attached} {
		if n, _ := s.counts(); n != 0 {
			t.Errorf("the %s input connected %d times", name, n)
		}
	}

	poll.UntilTrue(t, "the refusal in the input's status", 90*time.Second, func() bool {
		in, err := m.GetInput(ctx, "metadata")
		return err == nil && in.Live != nil && in.Live.LastError != ""
	})
	in, _ := m.GetInput(ctx, "metadata")
	if e := in.Live.LastError; !strings.Contains(e, "outbound policy") || !strings.Contains(e, "169.254.169.254:80") || !strings.Contains(e, "link-local") {
		t.Errorf("the refused input's status says %q", e)
	}

	if _, err := m.StartChannel(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the started channel's pull", 90*time.Second, func() bool { _, open := attached.counts(); return open > 0 })
	if _, err := m.StopChannel(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "idle", resource.StateIdle)
	poll.UntilTrue(t, "the stopped channel's pull to hang up", 90*time.Second, func() bool { _, open := attached.counts(); return open == 0 })
	if n, _ := detached.counts(); n != 0 {
		t.Errorf("the detached input connected %d times", n)
	}
}
