package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestDistributionsRoundTrip(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	d := resource.Distribution{ID: "di-1", Stack: "demo", CreatedAt: now, UpdatedAt: now, DistributionSpec: resource.DistributionSpec{
		Name: "eu", Listen: "127.0.0.1:8081", Origins: []string{"http://a:8080", "http://b:8080"}, MemoryMB: 64, RequireSignedURLs: true,
	}}
	if err := s.CreateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	dup := d
	dup.ID = "di-2"
	if err := s.CreateDistribution(ctx, dup); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("a second distribution named eu: %v, want a conflict", err)
	}
	d.Origins = []string{"http://c:8080"}
	d.UpdatedAt = now.Add(time.Minute)
	if err := s.UpdateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.GetDistribution(ctx, "eu")
	if err != nil || got.ID != "di-1" || len(got.Origins) != 1 || got.Origins[0] != "http://c:8080" || !got.RequireSignedURLs || !got.UpdatedAt.Equal(d.UpdatedAt) {
		t.Fatalf("after reopening: %+v %v", got, err)
	}
	if all, err := s2.ListDistributions(ctx); err != nil || len(all) != 1 {
		t.Errorf("list: %+v %v", all, err)
	}
	if err := s2.DeleteDistribution(ctx, "di-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.GetDistribution(ctx, "eu"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
