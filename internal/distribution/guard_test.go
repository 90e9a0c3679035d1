package distribution

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// registry is the metrics registry as a server hands it to the service.
type registry struct{ m *metrics.Metrics }

func (r registry) EdgeObserver(name string) edge.Observer { return r.m.Edge(name) }
func (r registry) RemoveEdge(name string)                 { r.m.RemoveEdge(name) }
func (r registry) EdgeConnectionRefused(name string)      { r.m.EdgeConnectionRefused(name) }

// keptAlive opens a connection from 127.0.0.2 and asks for /healthz on it,
// leaving it open; it fails when the edge closed the connection instead.
func keptAlive(t *testing.T, addr string) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func TestEdgesBoundConnectionsPerClient(t *testing.T) {
	ctx := context.Background()
	origin, _ := testOrigin(t)
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	m := metrics.New(metrics.Config{})
	svc := New(Config{Store: st, Metrics: registry{m}, MaxConnsPerClient: 1})
	defer svc.Close(ctx)
	addr := freeAddr(t)
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "eu", Listen: addr, Origins: []string{origin.URL}}); err != nil {
		t.Fatal(err)
	}
	if err := keptAlive(t, addr); err != nil {
		t.Fatalf("the first connection of 127.0.0.2: %v", err)
	}
	if err := keptAlive(t, addr); err == nil {
		t.Fatal("a second connection of 127.0.0.2 was served")
	}
	// Another address is served.
	if code, _, _ := fetch(t, "http://"+addr+"/live/news/seg.m4s"); code != 200 {
		t.Errorf("a viewer on 127.0.0.1: %d", code)
	}
	series, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var refused float64
	for _, f := range series {
		if f.GetName() == "sluice_edge_refused_connections_total" {
			for _, s := range f.GetMetric() {
				refused += s.GetCounter().GetValue()
			}
		}
	}
	if refused != 1 {
		t.Errorf("sluice_edge_refused_connections_total = %v, want 1", refused)
	}
}
