package pull

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestOutboundPolicyRefusesSources: with loopback denied (a server
// listening beyond it), a pull of every protocol aimed at a real loopback
// listener never reaches it, and the input's status says which address
// and rule refused it; the metadata address is refused the same way.
func TestOutboundPolicyRefusesSources(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	addr := ln.Addr().String()
	policy, err := outbound.New(outbound.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"http://" + addr + "/live.ts":             {addr, "127.0.0.0/8 (loopback)"},
		"http://" + addr + "/live.m3u8":           {addr, "127.0.0.0/8 (loopback)"},
		"rtmp://" + addr + "/live/key":            {addr, "127.0.0.0/8 (loopback)"},
		"rtsp://" + addr + "/cam":                 {addr, "127.0.0.0/8 (loopback)"},
		"http://169.254.169.254/latest/meta-data": {"169.254.169.254:80", "169.254.0.0/16 (link-local)"},
	}
	reg := live.NewRegistry(nil)
	i := 0
	for url, want := range cases {
		i++
		name := "in" + string(rune('a'+i))
		hub := reg.Set(live.InputConfig{Name: name, Protocol: "pull"})
		o := testOptions()
		o.policy = policy
		p := startRun(t, reg, name, url, o)
		poll.UntilTrue(t, "the refusal of "+url, waitLong, func() bool { return hub.Status().LastError != "" })
		st := hub.Status()
		for _, w := range append(want, "outbound policy") {
			if !strings.Contains(st.LastError, w) {
				t.Errorf("%s: status error %q does not say %q", url, st.LastError, w)
			}
		}
		if st.LastErrorAt.IsZero() || st.Connected {
			t.Errorf("%s: status %+v", url, st)
		}
		logsContain(t, p, "outbound policy refuses to connect to")
	}
	// The refusals came before any connection.
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the listener saw %d connections", n)
	}
}
