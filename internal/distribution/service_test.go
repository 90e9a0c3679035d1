package distribution

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/store"
)

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Cache"), string(b)
}

func testOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("object " + r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestDistributionLifecycle(t *testing.T) {
	ctx := context.Background()
	origin, originHits := testOrigin(t)
	dbPath := filepath.Join(t.TempDir(), "sluice.db")
	st := openStore(t, dbPath)
	svc := New(Config{Store: st})
	addr := freeAddr(t)
	spec := resource.DistributionSpec{Name: "eu", Listen: addr, Origins: []string{origin.URL}, MemoryMB: 8}
	d, err := svc.CreateDistribution(ctx, "", spec)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != resource.DistributionRunning {
		t.Fatalf("created: %+v", d)
	}
	for i, want := range []string{"MISS", "HIT"} {
		code, xc, body := fetch(t, "http://"+addr+"/live/news/seg.m4s")
		if code != 200 || xc != want || body != "object /live/news/seg.m4s" {
			t.Errorf("GET %d: %d %s %q", i, code, xc, body)
		}
	}
	stats, err := svc.Stats(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Requests != 2 || stats.Hits != 1 || stats.Misses != 1 || stats.OriginRequests != 1 || stats.Responses.Status2xx != 2 || stats.HitRatio != 0.5 || stats.BytesOut == 0 {
		t.Errorf("stats: %+v", stats)
	}

	// A second distribution cannot take the same address.
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "us", Listen: addr, Origins: []string{origin.URL}}); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("same address: %v, want a conflict", err)
	}
	// Nor one that requires signed URLs while the server has no keys.
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "us", Listen: freeAddr(t), Origins: []string{origin.URL}, RequireSignedURLs: true}); !errors.Is(err, resource.ErrInvalid) || !strings.Contains(err.Error(), "requireSignedURLs") {
		t.Errorf("signed without keys: %v", err)
	}

	// An update restarts the edge on its new address.
	addr2 := freeAddr(t)
	spec.Listen = addr2
	if _, err := svc.UpdateDistribution(ctx, "eu", "", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/live/news/seg.m4s"); err == nil {
		t.Error("the old address still serves after the update")
	}
	if code, _, _ := fetch(t, "http://"+addr2+"/live/news/seg.m4s"); code != 200 {
		t.Errorf("new address: %d", code)
	}

	// After a restart the edge is back.
	svc.Close(ctx)
	_ = st.Close()
	st = openStore(t, dbPath)
	defer st.Close()
	svc = New(Config{Store: st})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(ctx)
	if got, err := svc.GetDistribution(ctx, "eu"); err != nil || got.State != resource.DistributionRunning || got.Listen != addr2 {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	before := originHits.Load()
	if code, xc, _ := fetch(t, "http://"+addr2+"/live/news/seg.m4s"); code != 200 || xc != "MISS" || originHits.Load() != before+1 {
		t.Errorf("after restart: %d %s", code, xc)
	}

	if err := svc.DeleteDistribution(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr2 + "/"); err == nil {
		t.Error("the edge still serves after the delete")
	}
	if _, err := svc.Stats(ctx, "eu"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("stats after delete: %v", err)
	}
}

func TestDistributionWithTakenAddressFailsAtBoot(t *testing.T) {
	ctx := context.Background()
	origin, _ := testOrigin(t)
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	now := time.Now()
	if err := st.CreateDistribution(ctx, resource.Distribution{ID: "di-1", CreatedAt: now, UpdatedAt: now, DistributionSpec: resource.DistributionSpec{
		Name: "eu", Listen: ln.Addr().String(), Origins: []string{origin.URL},
	}}); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(ctx)
	d, err := svc.GetDistribution(ctx, "eu")
	if err != nil || d.State != resource.DistributionFailed || !strings.Contains(d.StateReason, "cannot listen on") {
		t.Errorf("%+v %v", d, err)
	}
}

func TestSignedDistributionRefusesUnsignedRequests(t *testing.T) {
	ctx := context.Background()
	origin, _ := testOrigin(t)
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st, Verifier: v})
	defer svc.Close(ctx)
	addr := freeAddr(t)
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "eu", Listen: addr, Origins: []string{origin.URL}, RequireSignedURLs: true}); err != nil {
		t.Fatal(err)
	}
	if code, _, body := fetch(t, "http://"+addr+"/live/news/seg.m4s"); code != 403 || !strings.Contains(body, "missing-signature") {
		t.Errorf("unsigned: %d %s", code, body)
	}
	u, err := signing.SignURL("http://"+addr+"/live/news/seg.m4s", signing.Policy{Path: "/live/news/*", Expires: time.Now().Add(time.Hour)}, key)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := fetch(t, u); code != 200 {
		t.Errorf("signed: %d", code)
	}
}

// TestDeleteLetsResponsesFinishWithoutBlocking: deleting a distribution
// frees its address at once, does not wait for a slow response, and that
// response still completes.
func TestDeleteLetsResponsesFinishWithoutBlocking(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("head,"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("tail"))
	}))
	defer origin.Close()
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	svc := New(Config{Store: st, Drain: time.Minute})
	addr := freeAddr(t)
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "eu", Listen: addr, Origins: []string{origin.URL}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/live/a/part.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != "head," {
		t.Fatalf("first bytes: %q %v", head, err)
	}
	if err := svc.DeleteDistribution(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	// The address is free for another distribution at once.
	if _, err := svc.CreateDistribution(ctx, "", resource.DistributionSpec{Name: "us", Listen: addr, Origins: []string{origin.URL}}); err != nil {
		t.Fatalf("reusing the address: %v", err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "tail" {
		t.Errorf("the response in progress was cut: %q %v", rest, err)
	}
	svc.Close(ctx)
}
