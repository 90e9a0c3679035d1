package stack

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// withDistributions is a control plane that also runs distributions.
type withDistributions struct {
	controlPlane
	*distribution.Service
}

func (w withDistributions) table() kinds.Table {
	return controlplane.Plane{Channels: w.Manager, Automation: w.controlPlane.Service, Distributions: w.Service}.Kinds()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestStackDistributionsConverge(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "dist.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dists := distribution.New(distribution.Config{Store: st})
	defer dists.Close(ctx)
	m := withDistributions{newManager(t), dists}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer origin.Close()

	addr := freeAddr(t)
	stk := resource.Stack{Name: "cdn", Distributions: []resource.DistributionSpec{{Name: "eu", Listen: addr, Origins: []string{origin.URL}}}}
	plan, err := Apply(ctx, m.table(), stk)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(plan); !slices.Equal(got, []string{"create distribution eu"}) {
		t.Errorf("first apply: %v", got)
	}
	resp, err := http.Get("http://" + addr + "/live/x/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("through the edge: %s", resp.Status)
	}
	if plan, err = MakePlan(ctx, m.table(), stk); err != nil || !plan.Empty() {
		t.Errorf("second plan: %v %v", summary(plan), err)
	}
	stk.Distributions[0].StaleIfErrorSeconds = 5
	if plan, err = Apply(ctx, m.table(), stk); err != nil || !slices.Equal(summary(plan), []string{"update distribution eu (staleIfErrorSeconds)"}) {
		t.Errorf("update: %v %v", summary(plan), err)
	}
	stk.Distributions = nil
	if plan, err = Apply(ctx, m.table(), stk); err != nil || !slices.Equal(summary(plan), []string{"delete distribution eu"}) {
		t.Errorf("removal: %v %v", summary(plan), err)
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("the edge still serves after its distribution left the stack")
	}
}

func TestStackDistributionsNeedAManagerThatRunsThem(t *testing.T) {
	stk := resource.Stack{Name: "cdn", Distributions: []resource.DistributionSpec{{Name: "eu", Listen: "127.0.0.1:1", Origins: []string{"http://o:8080"}}}}
	if _, err := MakePlan(context.Background(), newManager(t).table(), stk); err == nil || !strings.Contains(err.Error(), "does not run distributions") {
		t.Errorf("%v", err)
	}
}

func TestStackDistributionsAreValidated(t *testing.T) {
	stk := resource.Stack{Name: "cdn", Distributions: []resource.DistributionSpec{
		{Name: "eu", Listen: ":8081", Origins: []string{"http://o:8080"}},
		{Name: "us", Listen: ":8081", Origins: []string{"ftp://o"}},
	}}
	err := stk.Validate(resource.Known{})
	for _, want := range []string{`distributions[1].listen: distribution "eu" already listens on :8081`, "distributions[1].origins[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %s", err, want)
		}
	}
}
