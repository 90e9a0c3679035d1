package server

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/lifecycle"
)

// TestComponentsStartAfterWhatTheyNeed pins the start order and checks
// that every need a part names is real: without it, the list is refused
// with the part and the need named.
func TestComponentsStartAfterWhatTheyNeed(t *testing.T) {
	c, err := build(context.Background(), Config{Data: t.TempDir(), FFmpeg: "ffmpeg", FFprobe: "ffprobe", RTMP: "127.0.0.1:0", SRT: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.discard)
	parts := c.parts()
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.Name
	}
	want := []string{
		partStore, partCluster, partMetrics, partBus, partHooks, partRTMP, partRTMPPort, partSRT, partIngest, partRelay,
		partDVR, partHarvest, partPoller, partVOD, partRules, partAlarms, partAutomation, partChannels, partDistributions,
		partRTC, partWHEP, partWHIP,
	}
	if !slices.Equal(names, want) {
		t.Fatalf("start order:\n got %q\nwant %q", names, want)
	}
	if _, err := lifecycle.NewGroup(nil, parts...); err != nil {
		t.Fatalf("the server's own order is refused: %v", err)
	}
	for _, p := range parts {
		for _, need := range p.Needs {
			without := slices.DeleteFunc(slices.Clone(parts), func(q lifecycle.Part) bool { return q.Name == need })
			_, err := lifecycle.NewGroup(nil, without...)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("needs %s, which is not in the list", need)) {
				t.Errorf("without %s: %v, want it named as missing", need, err)
			}
		}
	}
	// The channel manager shows push endpoints with the bound ports: it
	// starts after every media listener, and after the node registered
	// (it stops before the node gives its leases up).
	manager := parts[slices.Index(names, partChannels)]
	for _, l := range []string{partRTMPPort, partSRT, partCluster} {
		if !slices.Contains(manager.Needs, l) {
			t.Errorf("the channel manager does not need %s", l)
		}
	}
}

// TestAFailedStartNamesThePartAndClosesTheStartedOnes starts a server
// whose RTMP port is taken: the error names the listener, and the parts
// started before it are closed (the data directory opens again).
func TestAFailedStartNamesThePartAndClosesTheStartedOnes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	data := t.TempDir()
	cfg := Config{Data: data, FFmpeg: "ffmpeg", FFprobe: "ffprobe", RTMP: taken.Addr().String()}
	_, err = New(context.Background(), cfg)
	if err == nil || !strings.HasPrefix(err.Error(), "starting the RTMP listener: listening on "+taken.Addr().String()) ||
		!strings.Contains(err.Error(), "pass --rtmp") {
		t.Fatalf("a taken RTMP port: %v", err)
	}
	cfg.RTMP = ""
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("the data directory after a failed start: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
