package cli

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestNodeListShowsEachNode(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	nodes := []resource.Node{
		{ID: "a", Advertise: "http://10.0.0.11:8080", MaxChannels: 4, Version: "v1", State: resource.NodeLive, LastHeartbeat: at,
			HeartbeatAgeSeconds: 0.4, Channels: []string{"news", "sport"}, Load: 2, Self: true},
		{ID: "b", Advertise: "http://10.0.0.12:8080", MaxChannels: 4, State: resource.NodeLive, LastHeartbeat: at, HeartbeatAgeSeconds: 1.2,
			Channels: []string{}, Reachability: &resource.Reachability{Error: "connection refused", CheckedAt: at}},
		{ID: "c", Advertise: "http://10.0.0.13:8080", MaxChannels: 4, State: resource.NodeLost, LastHeartbeat: at, HeartbeatAgeSeconds: 42, Channels: []string{}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(nodes)
	}))
	defer srv.Close()
	code, out, errs := run("node", "list", "--server", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"a (this)  LIVE   http://10.0.0.11:8080  2/4   400ms ago  -",
		"news, sport",
		"no: connection refused",
		"c         LOST   http://10.0.0.13:8080  0/4   42s ago    not checked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the list lacks %q:\n%s", want, out)
		}
	}
}

func TestTheNodeIDIsKeptInTheDataDirectory(t *testing.T) {
	data := t.TempDir()
	first, err := resolveNodeID("", data, slog.New(slog.DiscardHandler))
	if err != nil || first == "" {
		t.Fatalf("a new node id: %q %v", first, err)
	}
	again, err := resolveNodeID("", data, slog.New(slog.DiscardHandler))
	if err != nil || again != first {
		t.Errorf("the node id at the next start: %q %v, want %q", again, err, first)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "node-id")); strings.TrimSpace(string(b)) != first {
		t.Errorf("node-id holds %q", b)
	}
	if id, err := resolveNodeID("edge-1", data, slog.New(slog.DiscardHandler)); err != nil || id != "edge-1" {
		t.Errorf("--node-id edge-1: %q %v", id, err)
	}
	if _, err := resolveNodeID("no spaces", data, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--node-id") {
		t.Errorf("--node-id with a space: %v", err)
	}
}

func TestTheAdvertisedURL(t *testing.T) {
	listener := &net.TCPAddr{IP: net.ParseIP("10.0.0.11"), Port: 8080}
	unspecified := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	for _, c := range []struct {
		o    serveOptions
		addr net.Addr
		want string
	}{
		{serveOptions{}, listener, "http://10.0.0.11:8080"},
		{serveOptions{publicHost: "media.example"}, unspecified, "http://media.example:8080"},
		{serveOptions{advertise: "https://node-a.example:8443/"}, listener, "https://node-a.example:8443"},
	} {
		if got, err := advertiseURL(c.o, c.addr); err != nil || got != c.want {
			t.Errorf("%+v on %s: %q %v, want %q", c.o, c.addr, got, err, c.want)
		}
	}
	for _, bad := range []string{"node-a:8080", "http://node-a", "http://node-a:8080/sluice", "ftp://node-a:21"} {
		if _, err := advertiseURL(serveOptions{advertise: bad}, listener); err == nil || !strings.Contains(err.Error(), "--advertise") {
			t.Errorf("--advertise %s: %v", bad, err)
		}
	}
}
