package ingest

import (
	"slices"
	"testing"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/resource"
)

type port int

func (p port) Number() int { return int(p) }

func TestEndpointsNameEveryNode(t *testing.T) {
	in := resource.Input{StreamKey: "k1", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush}}
	nodes := func() []NodeIngest {
		return []NodeIngest{{Node: "a", Host: "10.0.0.1", RTMP: 1935}, {Node: "b", Host: "10.0.0.2", RTMP: 1936, RTMPS: 1937}, {Node: "c", Host: "10.0.0.3"}}
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"a single server", Config{RTMP: port(1935)}, []string{"rtmp://127.0.0.1:1935/live/k1"}},
		{"a cluster: each live node that takes RTMP", Config{RTMP: port(1935), Nodes: nodes},
			[]string{"rtmp://10.0.0.1:1935/live/k1", "rtmp://10.0.0.2:1936/live/k1", "rtmps://10.0.0.2:1937/live/k1"}},
		{"a cluster behind one name", Config{RTMP: port(1935), PublicHost: "ingest.example", OneHost: true, Nodes: nodes},
			[]string{"rtmp://ingest.example:1935/live/k1"}},
		{"a cluster whose nodes are not known yet", Config{RTMP: port(1935), Nodes: func() []NodeIngest { return nil }},
			[]string{"rtmp://127.0.0.1:1935/live/k1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Registry = live.NewRegistry(nil)
			if got := New(tt.cfg).Endpoints(in); !slices.Equal(got, tt.want) {
				t.Errorf("endpoints %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWHIPEndpointsNameEveryNode(t *testing.T) {
	in := resource.Input{StreamKey: "k1", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputWHIPPush}}
	nodes := func() []NodeIngest {
		return []NodeIngest{{Node: "a", Host: "10.0.0.1", HTTP: "http://10.0.0.1:8080"}, {Node: "b", Host: "10.0.0.2", HTTP: "http://10.0.0.2:8080/"}, {Node: "c", Host: "10.0.0.3"}}
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"a single server", Config{HTTPBase: "http://127.0.0.1:8080"}, []string{"http://127.0.0.1:8080/ingest/whip/cam"}},
		{"a single server without a known HTTP base", Config{}, nil},
		{"a cluster: each live node with an HTTP base", Config{HTTPBase: "http://127.0.0.1:8080", Nodes: nodes},
			[]string{"http://10.0.0.1:8080/ingest/whip/cam", "http://10.0.0.2:8080/ingest/whip/cam"}},
		{"a cluster behind one name", Config{HTTPBase: "http://media.example:8080", PublicHost: "media.example", OneHost: true, Nodes: nodes},
			[]string{"http://media.example:8080/ingest/whip/cam"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Registry = live.NewRegistry(nil)
			if got := New(tt.cfg).Endpoints(in); !slices.Equal(got, tt.want) {
				t.Errorf("endpoints %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNodeEndpointsNameOneNode gives the endpoints of one pipeline of a
// STANDARD channel: those of its node, or the one name in front of every
// node.
func TestNodeEndpointsNameOneNode(t *testing.T) {
	in := resource.Input{StreamKey: "k1", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush}}
	nodes := func() []NodeIngest {
		return []NodeIngest{{Node: "a", Host: "10.0.0.1", RTMP: 1935}, {Node: "b", Host: "10.0.0.2", RTMP: 1936, RTMPS: 1937}}
	}
	g := New(Config{Registry: live.NewRegistry(nil), RTMP: port(1935), Nodes: nodes})
	if got, want := g.NodeEndpoints(in, "b"), []string{"rtmp://10.0.0.2:1936/live/k1", "rtmps://10.0.0.2:1937/live/k1"}; !slices.Equal(got, want) {
		t.Errorf("node b: %v, want %v", got, want)
	}
	if got := g.NodeEndpoints(in, "gone"); len(got) != 0 {
		t.Errorf("a node that is not live: %v", got)
	}
	one := New(Config{Registry: live.NewRegistry(nil), RTMP: port(1935), PublicHost: "ingest.example", OneHost: true, Nodes: nodes})
	if got, want := one.NodeEndpoints(in, "a"), []string{"rtmp://ingest.example:1935/live/k1"}; !slices.Equal(got, want) {
		t.Errorf("behind one name: %v, want %v", got, want)
	}
}
