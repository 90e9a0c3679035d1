package cluster

import (
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestPlacementSpreadsByLoadThenID(t *testing.T) {
	nodes := []resource.Node{
		{ID: "c", State: resource.NodeLive, MaxChannels: 4},
		{ID: "a", State: resource.NodeLive, MaxChannels: 4, Load: 1},
		{ID: "b", State: resource.NodeLive, MaxChannels: 4},
		{ID: "d", State: resource.NodeLost, MaxChannels: 4},
		{ID: "e", State: resource.NodeStopped, MaxChannels: 4},
		{ID: "f", State: resource.NodeLive, MaxChannels: 1, Load: 1},
	}
	cands := []Candidate{{"ch-4", "w"}, {"ch-1", "x"}, {"ch-2", "y"}, {"ch-3", "z"}, {"ch-5", "v"}}
	got := placement(nodes, cands)
	// In order of name: v → b (0, lower id than c), w → c (0), x → a
	// (all at 1, lowest id), y → b, z → c. Lost, stopped and full nodes
	// get nothing.
	want := map[string]string{"ch-5": "b", "ch-4": "c", "ch-1": "a", "ch-2": "b", "ch-3": "c"}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s placed on %q, want %q (all: %v)", id, got[id], n, got)
		}
	}
	// Every node computes the same from the same reading, whatever the
	// order it lists candidates in.
	again := placement(nodes, []Candidate{cands[4], cands[2], cands[0], cands[3], cands[1]})
	for id := range want {
		if again[id] != got[id] {
			t.Errorf("the order of candidates changed the placement of %s: %q, then %q", id, got[id], again[id])
		}
	}
}

func TestPlacementLeavesWhatNoNodeHasRoomFor(t *testing.T) {
	nodes := []resource.Node{{ID: "a", State: resource.NodeLive, MaxChannels: 2, Load: 1}}
	got := placement(nodes, []Candidate{{"ch-1", "x"}, {"ch-2", "y"}})
	if len(got) != 1 || got["ch-1"] != "a" {
		t.Errorf("with room for one: %v", got)
	}
}
