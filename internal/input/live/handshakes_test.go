package live

import (
	"fmt"
	"testing"
)

func TestHandshakesPerAddressBeforeTotal(t *testing.T) {
	h := NewHandshakes(HandshakeLimits{PerAddress: 2, Total: 5})
	var releases []func()
	begin := func(remote string, want Refusal) {
		t.Helper()
		release, refused := h.Begin(remote)
		if refused != want {
			t.Fatalf("Begin(%s) refused %q, want %q", remote, refused, want)
		}
		if release != nil {
			releases = append(releases, release)
		}
	}
	begin("192.0.2.1:1000", "")
	begin("192.0.2.1:1001", "")
	begin("192.0.2.1:1002", RefusedAddressLimit)
	// One IPv6 host is its /64: other addresses in it share the limit.
	begin("[2001:db8:0:1::1]:1000", "")
	begin("[2001:db8:0:1:ffff::2]:1000", "")
	begin("[2001:db8:0:1::3]:1000", RefusedAddressLimit)
	begin("[2001:db8:0:2::1]:1000", "")
	// The server is full: even a new address waits.
	begin("192.0.2.9:1000", RefusedServerLimit)
	if total, from := h.InProgress("192.0.2.1:1"); total != 5 || from != 2 {
		t.Errorf("in progress %d, %d from 192.0.2.1", total, from)
	}

	releases[0]()
	releases[0]() // a second release is a no-op
	if total, from := h.InProgress("192.0.2.1:1"); total != 4 || from != 1 {
		t.Errorf("after a release: %d, %d from 192.0.2.1", total, from)
	}
	begin("192.0.2.9:1000", "")
	for _, r := range releases {
		r()
	}
	if total, _ := h.InProgress("192.0.2.1:1"); total != 0 || len(h.byAddr) != 0 {
		t.Errorf("after every release: %d in progress, %d addresses remembered", total, len(h.byAddr))
	}
}

func TestHandshakesDefaults(t *testing.T) {
	h := NewHandshakes(HandshakeLimits{})
	if l := h.Limits(); l.PerAddress != DefaultHandshakesPerAddress || l.Total != DefaultHandshakes {
		t.Fatalf("limits %+v", l)
	}
	for i := range DefaultHandshakes {
		remote := fmt.Sprintf("198.51.100.%d:5000", i/DefaultHandshakesPerAddress)
		if _, refused := h.Begin(remote); refused != "" {
			t.Fatalf("handshake %d from %s refused: %s", i, remote, refused)
		}
	}
	if _, refused := h.Begin("198.51.100.200:5000"); refused != RefusedServerLimit {
		t.Errorf("past the total: %q", refused)
	}
}
