package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// mediaSuite is the media side of a cluster, on both engines.
func mediaSuite() []suiteCase {
	return []suiteCase{
		{"input publishers", testInputPublishers},
		{"an input is claimed by one live node", testClaimInputPublisher},
		{"the DVR index is fenced by epoch", testDVRFenced},
	}
}

func TestMediaOnSQLite(t *testing.T) { runSuite(t, sqliteEngine(), mediaSuite()) }

func TestMediaOnPostgres(t *testing.T) { runSuite(t, postgresEngine(t), mediaSuite()) }

func testInputPublishers(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	if _, ok, err := s.InputPublisher(ctx, "in-1"); ok || err != nil {
		t.Fatalf("nothing recorded: %v %v", ok, err)
	}
	if err := s.SetInputPublisher(ctx, "in-1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetInputPublisher(ctx, "in-2", "b"); err != nil {
		t.Fatal(err)
	}
	if node, ok, err := s.InputPublisher(ctx, "in-1"); node != "b" || !ok || err != nil {
		t.Fatalf("recorded on b: %q %v %v", node, ok, err)
	}
	// The publisher reconnected to c: c's record replaces b's, and b
	// clearing what it thinks is its record does not clear c's.
	if err := s.SetInputPublisher(ctx, "in-1", "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearInputPublisher(ctx, "in-1", "b"); err != nil {
		t.Fatal(err)
	}
	if node, _, _ := s.InputPublisher(ctx, "in-1"); node != "c" {
		t.Fatalf("after b cleared: %q, want c", node)
	}
	got, err := s.NodeInputPublishers(ctx, "b")
	if err != nil || !slices.Equal(got, []string{"in-2"}) {
		t.Fatalf("b's records: %v %v", got, err)
	}
	if err := s.ClearInputPublisher(ctx, "in-1", "c"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.InputPublisher(ctx, "in-1"); ok {
		t.Fatal("cleared by c, still recorded")
	}
	// Each node's ingest ports, for the endpoints of push inputs.
	if err := s.SetNodeMedia(ctx, "b", MediaPorts{RTMP: 1935, SRT: 9000}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeMedia(ctx, "b", MediaPorts{RTMP: 1936}); err != nil {
		t.Fatal(err)
	}
	ports, err := s.ListNodeMedia(ctx)
	if err != nil || len(ports) != 1 || ports["b"] != (MediaPorts{RTMP: 1936}) {
		t.Fatalf("node ports: %v %v", ports, err)
	}
}

func testClaimInputPublisher(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	live := []string{"a", "b", "c"}
	claim := func(node, want string, wantOK bool) {
		t.Helper()
		got, ok, err := s.ClaimInputPublisher(ctx, "in-1", node, live)
		if err != nil || got != want || ok != wantOK {
			t.Fatalf("%s claims: %q %v %v, want %q %v", node, got, ok, err, want, wantOK)
		}
	}
	claim("b", "b", true) // nobody had it
	claim("b", "b", true) // b again
	claim("c", "b", false)
	if node, _, _ := s.InputPublisher(ctx, "in-1"); node != "b" {
		t.Fatalf("after c's refused claim: %q, want b", node)
	}
	// b is no longer live (it died with its record): c takes the input.
	live = []string{"a", "c"}
	claim("c", "c", true)
	claim("a", "c", false)
	// c's publisher left: a may claim.
	if err := s.ClearInputPublisher(ctx, "in-1", "c"); err != nil {
		t.Fatal(err)
	}
	claim("a", "a", true)
	// Nodes claiming one input at once: one wins.
	nodes := []string{"n0", "n1", "n2", "n3", "n4", "n5"}
	won := make(chan string, len(nodes))
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			if _, ok, err := s.ClaimInputPublisher(ctx, "in-race", n, nodes); err != nil {
				t.Error(err)
			} else if ok {
				won <- n
			}
		})
	}
	wg.Wait()
	close(won)
	if len(won) != 1 {
		t.Errorf("claims at once: %d won, want one", len(won))
	}
	// Without a list of live nodes, a claim always wins.
	if got, ok, err := s.ClaimInputPublisher(ctx, "in-1", "c", nil); got != "c" || !ok || err != nil {
		t.Fatalf("claim without live nodes: %q %v %v", got, ok, err)
	}
}

func testDVRFenced(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	ix, err := s.LoadDVR(ctx, "news")
	if err != nil || ix.Meta != "" || len(ix.Entries) != 0 {
		t.Fatalf("an archive never written: %+v %v", ix, err)
	}
	rec := ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}, State: resource.StateIdle}, Desired: resource.StateRunning}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Node a holds the channel.
	a, err := s.AcquireLease(ctx, "ch-1", "a", "a1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	epochA := a.Epoch
	fa := Fence{Holder: "a", Epoch: epochA}
	if err := s.ResetDVR(ctx, "ch-1", "news", `{"m":1}`, fa); err != nil {
		t.Fatal(err)
	}
	add := func(f Fence, numbers ...uint64) error {
		var es []DVREntry
		for _, n := range numbers {
			es = append(es, DVREntry{Number: n, Epoch: f.Epoch, Entry: fmt.Sprintf(`{"n":%d}`, n)})
		}
		return s.AddDVR(ctx, "ch-1", "news", f, es)
	}
	if err := add(fa, 100, 101, 102); err != nil {
		t.Fatal(err)
	}
	// Node a's lease ends (as when it stops renewing); node b takes the
	// channel over.
	if err := s.ReleaseLease(ctx, "ch-1", fa); err != nil {
		t.Fatal(err)
	}
	b, err := s.AcquireLease(ctx, "ch-1", "b", "b1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	epochB := b.Epoch
	fb := Fence{Holder: "b", Epoch: epochB}
	if epochB <= epochA {
		t.Fatalf("epoch %d after %d", epochB, epochA)
	}
	// Node a, cut off, does not know yet: what it adds stays invisible.
	if err := add(fa, 103); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale writer's entries: %v, want ErrFenced", err)
	}
	if err := s.TrimDVR(ctx, "ch-1", "news", fa, 102); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale writer's trim: %v", err)
	}
	if err := s.ResetDVR(ctx, "ch-1", "news", `{"m":2}`, fa); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale writer's reset: %v", err)
	}
	if err := add(fb, 105, 106); err != nil {
		t.Fatal(err)
	}
	if err := s.TrimDVR(ctx, "ch-1", "news", fb, 101); err != nil {
		t.Fatal(err)
	}
	ix, err = s.LoadDVR(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	var numbers, epochs []uint64
	for _, en := range ix.Entries {
		numbers, epochs = append(numbers, en.Number), append(epochs, en.Epoch)
	}
	if ix.Meta != `{"m":1}` || !slices.Equal(numbers, []uint64{101, 102, 105, 106}) || !slices.Equal(epochs, []uint64{epochA, epochA, epochB, epochB}) {
		t.Fatalf("index after the move: meta %s, numbers %v, epochs %v", ix.Meta, numbers, epochs)
	}
	// A single server (the zero fence) is not fenced.
	if err := s.AddDVR(ctx, "ch-2", "solo", Fence{}, []DVREntry{{Number: 1, Entry: "{}"}}); err != nil {
		t.Fatal(err)
	}
}
