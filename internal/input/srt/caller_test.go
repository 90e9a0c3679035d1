package srt

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// TestCallerReconnects: the caller reads from an SRT listener (ffmpeg),
// and connects again when that listener comes back after going away.
func TestCallerReconnects(t *testing.T) {
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "feed", Protocol: "pull"})
	w := livetest.Watch(t, hub)
	port := freeUDPPort(t)
	addr := "127.0.0.1:" + port
	source := func(t *testing.T) {
		livetest.FFmpegPublish(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
			"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "60",
			"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-g", "25", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-f", "mpegts", "srt://"+addr+"?mode=listener&passphrase="+passphrase+"&pbkeylen=16&streamid=feed")
	}

	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Call(ctx, CallerConfig{Input: "feed", Address: addr, StreamID: "feed", Passphrase: passphrase, Latency: 200 * time.Millisecond, ReadTimeout: 3 * time.Second}, reg, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Call returned %v", err)
		}
		t.Logf("caller logs:\n%s", logs.String())
	}()

	// The source is not there yet: the caller keeps trying.
	poll.UntilTrue(t, "a failed attempt", livetest.WaitLong, func() bool { return strings.Contains(logs.String(), "SRT caller could not publish") })
	t.Run("first connection", func(t *testing.T) {
		source(t)
		livetest.ExpectMedia(t, w, live.H265, live.AAC, 320, 180)
		if st := hub.Status(); !st.Connected || st.Protocol != "srt" || st.Publisher != addr {
			t.Errorf("status %+v", st)
		}
	}) // the subtest's cleanup stops the source: the caller notices the silence

	poll.UntilTrue(t, "the session to end with the source", livetest.WaitLong, func() bool { return !hub.Status().Connected })
	t.Run("after the source comes back", func(t *testing.T) {
		before := w.Count(live.Video)
		source(t)
		poll.UntilTrue(t, "frames after reconnecting", livetest.WaitLong, func() bool { return w.Count(live.Video) > before+20 })
	})
}

// TestCallerLogsFailures: every failed attempt is logged in words, and
// the caller stops when its context ends.
func TestCallerLogsFailures(t *testing.T) {
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "feed", Protocol: "pull"})
	// A listener that refuses every caller.
	ln, err := gosrt.Listen("srt", "127.0.0.1:0", gosrt.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			req, err := ln.Accept2()
			if err != nil {
				return
			}
			req.Reject(gosrt.REJX_FORBIDDEN)
		}
	}()
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Call(ctx, CallerConfig{Input: "feed", Address: ln.Addr().String(), StreamID: "feed"}, reg, logger)
	}()
	poll.UntilTrue(t, "two failed attempts", livetest.WaitLong, func() bool { return strings.Count(logs.String(), "SRT caller could not publish") >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Call returned %v", err)
	}
	if !strings.Contains(logs.String(), "connecting to") || !strings.Contains(logs.String(), "retry_in=2s") {
		t.Errorf("logs:\n%s", logs.String())
	}

	if err := Call(context.Background(), CallerConfig{Input: "feed", Address: "127.0.0.1:1", Passphrase: "short"}, reg, nil); err == nil {
		t.Error("a passphrase SRT cannot use was accepted")
	}
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	return port
}
