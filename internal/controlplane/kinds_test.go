package controlplane

import (
	"slices"
	"testing"

	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/kinds"
)

// TestKindsLeaveOutTheServicesAPlaneLacks: a plane without a service has
// none of that service's kinds in its table, rather than kinds bound to
// nothing.
func TestKindsLeaveOutTheServicesAPlaneLacks(t *testing.T) {
	if ks := (Plane{}).Kinds().Kinds(); len(ks) != 0 {
		t.Fatalf("a plane without services has %d kinds", len(ks))
	}
	var names []string
	for _, k := range (Plane{Automation: &automation.Service{}}).Kinds().Kinds() {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	want := []string{kinds.Alarms().Info.Name, kinds.Rules().Info.Name}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("a plane with automation only has the kinds %q, want %q", names, want)
	}
}
