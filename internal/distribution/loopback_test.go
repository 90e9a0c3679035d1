package distribution

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// freeWildcardAddr returns an address on every interface nothing listens on.
func freeWildcardAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return "0.0.0.0:" + port
}

func TestEdgesStayOnLoopbackWithoutAToken(t *testing.T) {
	ctx := context.Background()
	origin, _ := testOrigin(t)
	dbPath := filepath.Join(t.TempDir(), "sluice.db")
	st := openStore(t, dbPath)
	defer st.Close()

	// A server with a token lets an edge listen anywhere.
	open := New(Config{Store: st})
	wide := freeWildcardAddr(t)
	if d, err := open.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "wide", Listen: wide, Origins: []string{origin.URL}}); err != nil || d.State != resource.DistributionRunning {
		t.Fatalf("listen %s with a token: %+v %v", wide, d, err)
	}
	open.Close(ctx)

	confined := New(Config{Store: st, LoopbackOnly: true})
	if err := confined.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer confined.Close(ctx)
	// The stored one beyond loopback does not start again.
	if d, err := confined.GetDistribution(ctx, "wide"); err != nil || d.State != resource.DistributionFailed || !strings.Contains(d.StateReason, "listen") {
		t.Errorf("stored edge on %s without a token: %+v %v", wide, d, err)
	}
	if c, err := net.Dial("tcp", strings.Replace(wide, "0.0.0.0", "127.0.0.1", 1)); err == nil {
		_ = c.Close()
		t.Errorf("the stored edge on %s listens", wide)
	}
	for _, listen := range []string{freeWildcardAddr(t), ":8081", "[::]:8081", "192.0.2.1:8081", "example.com:8081"} {
		_, err := confined.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "eu", Listen: listen, Origins: []string{origin.URL}})
		var fields resource.FieldErrors
		if !errors.As(err, &fields) || len(fields) != 1 || fields[0].Path != "listen" || !strings.Contains(fields[0].Message, "--token") {
			t.Errorf("listen %s without a token: %v, want a field error naming listen", listen, err)
		}
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	for i, listen := range []string{freeAddr(t), "localhost:" + port} {
		name := []string{"eu", "us"}[i]
		if d, err := confined.CreateDistribution(ctx, "", resource.DistributionSpec{Name: name, Listen: listen, Origins: []string{origin.URL}}); err != nil || d.State != resource.DistributionRunning {
			t.Errorf("listen %s without a token: %+v %v", listen, d, err)
		}
	}
	// Nor may an update move an edge beyond loopback.
	if _, err := confined.UpdateDistribution(ctx, "eu", "", resource.DistributionSpec{Name: "eu", Listen: freeWildcardAddr(t), Origins: []string{origin.URL}}); !errors.Is(err, resource.ErrInvalid) {
		t.Errorf("update beyond loopback: %v", err)
	}
}
