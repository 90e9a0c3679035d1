package cluster

import (
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

func key(id string, pipeline int) store.LeaseKey {
	return store.LeaseKey{ChannelID: id, Pipeline: pipeline}
}

func TestPlacementSpreadsByLoadThenID(t *testing.T) {
	nodes := []resource.Node{
		{ID: "c", State: resource.NodeLive, MaxChannels: 4},
		{ID: "a", State: resource.NodeLive, MaxChannels: 4, Load: 1},
		{ID: "b", State: resource.NodeLive, MaxChannels: 4},
		{ID: "d", State: resource.NodeLost, MaxChannels: 4},
		{ID: "e", State: resource.NodeStopped, MaxChannels: 4},
		{ID: "f", State: resource.NodeLive, MaxChannels: 1, Load: 1},
	}
	cands := []Candidate{{ChannelID: "ch-4", Channel: "w"}, {ChannelID: "ch-1", Channel: "x"}, {ChannelID: "ch-2", Channel: "y"}, {ChannelID: "ch-3", Channel: "z"}, {ChannelID: "ch-5", Channel: "v"}}
	got := placement(nodes, cands, nil)
	// In order of name: v → b (0, lower id than c), w → c (0), x → a
	// (all at 1, lowest id), y → b, z → c. Lost, stopped and full nodes
	// get nothing.
	want := map[string]string{"ch-5": "b", "ch-4": "c", "ch-1": "a", "ch-2": "b", "ch-3": "c"}
	for id, n := range want {
		if got[key(id, 0)] != n {
			t.Errorf("%s placed on %q, want %q (all: %v)", id, got[key(id, 0)], n, got)
		}
	}
	// Every node computes the same from the same reading, whatever the
	// order it lists candidates in.
	again := placement(nodes, []Candidate{cands[4], cands[2], cands[0], cands[3], cands[1]}, nil)
	for id := range want {
		if again[key(id, 0)] != got[key(id, 0)] {
			t.Errorf("the order of candidates changed the placement of %s: %q, then %q", id, got[key(id, 0)], again[key(id, 0)])
		}
	}
}

func TestPlacementLeavesWhatNoNodeHasRoomFor(t *testing.T) {
	nodes := []resource.Node{{ID: "a", State: resource.NodeLive, MaxChannels: 2, Load: 1}}
	got := placement(nodes, []Candidate{{ChannelID: "ch-1", Channel: "x"}, {ChannelID: "ch-2", Channel: "y"}}, nil)
	if len(got) != 1 || got[key("ch-1", 0)] != "a" {
		t.Errorf("with room for one: %v", got)
	}
}

// TestPlacementKeepsPipelinesApart places the two pipelines of STANDARD
// channels: on two nodes while two live nodes have room, even against
// the load; on the one node left when the other has none; never next to
// the node that holds the other pipeline already when another has room.
func TestPlacementKeepsPipelinesApart(t *testing.T) {
	two := []resource.Node{
		{ID: "a", State: resource.NodeLive, MaxChannels: 4},
		{ID: "b", State: resource.NodeLive, MaxChannels: 4, Load: 2},
	}
	got := placement(two, []Candidate{{ChannelID: "ch-1", Channel: "x", Pipeline: 1}, {ChannelID: "ch-1", Channel: "x"}}, nil)
	if got[key("ch-1", 0)] != "a" || got[key("ch-1", 1)] != "b" {
		t.Errorf("both pipelines of x on two nodes: %v, want 0 on a (least loaded) and 1 on b", got)
	}
	// Pipeline 0 runs on a: pipeline 1 goes to b, though a is less loaded.
	held := map[string]map[string]bool{"ch-1": {"a": true}}
	got = placement(two, []Candidate{{ChannelID: "ch-1", Channel: "x", Pipeline: 1}}, held)
	if got[key("ch-1", 1)] != "b" {
		t.Errorf("pipeline 1 beside pipeline 0 on a: %v, want b", got)
	}
	if !held["ch-1"]["a"] || held["ch-1"]["b"] {
		t.Errorf("placement changed what it was given: %v", held)
	}
	// b is full (or lost): pipeline 1 joins pipeline 0 on a.
	full := []resource.Node{two[0], {ID: "b", State: resource.NodeLive, MaxChannels: 2, Load: 2}}
	if got := placement(full, []Candidate{{ChannelID: "ch-1", Channel: "x", Pipeline: 1}}, held); got[key("ch-1", 1)] != "a" {
		t.Errorf("pipeline 1 with no other node with room: %v, want a", got)
	}
	one := []resource.Node{two[0], {ID: "b", State: resource.NodeLost, MaxChannels: 4}}
	got = placement(one, []Candidate{{ChannelID: "ch-1", Channel: "x"}, {ChannelID: "ch-1", Channel: "x", Pipeline: 1}}, nil)
	if got[key("ch-1", 0)] != "a" || got[key("ch-1", 1)] != "a" {
		t.Errorf("a one-node cluster: %v, want both on a", got)
	}
	// Three nodes, two STANDARD channels: each channel's pipelines apart,
	// the load spread.
	three := []resource.Node{
		{ID: "a", State: resource.NodeLive, MaxChannels: 4},
		{ID: "b", State: resource.NodeLive, MaxChannels: 4},
		{ID: "c", State: resource.NodeLive, MaxChannels: 4},
	}
	got = placement(three, []Candidate{
		{ChannelID: "ch-1", Channel: "x"}, {ChannelID: "ch-1", Channel: "x", Pipeline: 1},
		{ChannelID: "ch-2", Channel: "y"}, {ChannelID: "ch-2", Channel: "y", Pipeline: 1},
	}, nil)
	want := map[store.LeaseKey]string{key("ch-1", 0): "a", key("ch-1", 1): "b", key("ch-2", 0): "c", key("ch-2", 1): "a"}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v placed on %q, want %q (all: %v)", k, got[k], n, got)
		}
	}
}
