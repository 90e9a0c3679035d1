package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{Origins: []string{"http://origin:8080"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryBytes != DefaultMemoryBytes || c.StaleIfError != DefaultStaleIfError || c.MaxOriginRequests != DefaultMaxOriginRequests ||
		c.HealthPath != DefaultHealthPath || c.HealthInterval != DefaultHealthInterval || c.OriginTimeout != DefaultOriginTimeout ||
		c.MaxObjectBytes != DefaultMaxObjectBytes || c.Name != DefaultName || len(c.AllowedQuery) != len(DefaultAllowedQuery) ||
		c.Client == nil || c.Now == nil || c.Logger == nil {
		t.Fatalf("defaults %+v", c)
	}
	if c, _ := (Config{Origins: []string{"http://o"}, StaleIfError: -1}).withDefaults(); c.StaleIfError != 0 {
		t.Fatal("a negative StaleIfError does not disable stale serving")
	}
	for name, bad := range map[string]Config{
		"no origins":       {},
		"origin path":      {Origins: []string{"http://origin:8080/live"}},
		"origin scheme":    {Origins: []string{"ftp://origin"}},
		"origin query":     {Origins: []string{"http://origin?x=1"}},
		"disk without dir": {Origins: []string{"http://o"}, DiskBytes: 1},
		"negative memory":  {Origins: []string{"http://o"}, MemoryBytes: -1},
		"health path":      {Origins: []string{"http://o"}, HealthPath: "healthz"},
		"name":             {Origins: []string{"http://o"}, Name: "two words"},
		"signature param":  {Origins: []string{"http://o"}, AllowedQuery: []string{"sluice-policy"}},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigFromSpec(t *testing.T) {
	spec := resource.DistributionSpec{Name: "eu", Listen: ":8081", Origins: []string{"http://a:8080", "http://b:8080"}, MemoryMB: 64, DiskMB: 1024, DiskDir: "/var/cache/sluice", MaxOriginRequests: 8}
	c := ConfigFromSpec(spec)
	if len(c.Origins) != 2 || c.MemoryBytes != 64<<20 || c.DiskBytes != 1<<30 || c.DiskDir != "/var/cache/sluice" ||
		c.StaleIfError != DefaultStaleIfError || c.MaxOriginRequests != 8 || c.Name != "sluice-edge-eu" {
		t.Fatalf("%+v", c)
	}
	spec.StaleIfErrorSeconds = 5
	if c := ConfigFromSpec(spec); c.StaleIfError != 5*time.Second {
		t.Fatalf("stale %s", c.StaleIfError)
	}
}

func TestClosedEdgeRefusesNewFetches(t *testing.T) {
	o := newOrigin(t, serveWith(segmentCC, "x"))
	e, err := New(Config{Origins: []string{o.URL}, HealthInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	expect(t, get(t, srv.URL+"/a.m4s"), http.StatusOK, labelMiss, "x")
	e.Close()
	e.Close() // twice is fine
	expect(t, get(t, srv.URL+"/a.m4s"), http.StatusOK, labelHit, "x")
	if r := get(t, srv.URL+"/b.m4s"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d", r.status)
	}
}
