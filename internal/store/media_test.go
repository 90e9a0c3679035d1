package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// mediaSuite is the media side of a cluster, on both engines.
func mediaSuite() []suiteCase {
	return []suiteCase{
		{"input publishers", testInputPublishers},
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
}

func testDVRFenced(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	ix, err := s.LoadDVR(ctx, "news")
	if err != nil || ix.Meta != "" || len(ix.Entries) != 0 {
		t.Fatalf("an archive never written: %+v %v", ix, err)
	}
	// Node a holds the channel at epoch 3.
	if err := s.ClaimDVR(ctx, "news", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetDVR(ctx, "news", `{"m":1}`, 3); err != nil {
		t.Fatal(err)
	}
	add := func(epoch uint64, numbers ...uint64) error {
		var es []DVREntry
		for _, n := range numbers {
			es = append(es, DVREntry{Number: n, Epoch: epoch, Entry: `{"n":` + string(rune('0'+n%10)) + `}`})
		}
		return s.AddDVR(ctx, "news", epoch, es)
	}
	if err := add(3, 100, 101, 102); err != nil {
		t.Fatal(err)
	}
	// Node b takes the channel over at epoch 4 and claims the archive.
	if err := s.ClaimDVR(ctx, "news", 4); err != nil {
		t.Fatal(err)
	}
	// Node a, cut off, does not know yet: what it adds stays invisible.
	if err := add(3, 103); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a stale writer's entries: %v, want ErrStaleEpoch", err)
	}
	if err := s.TrimDVR(ctx, "news", 3, 102); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a stale writer's trim: %v", err)
	}
	if err := s.ResetDVR(ctx, "news", `{"m":2}`, 3); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a stale writer's reset: %v", err)
	}
	// Nor may it claim the archive back.
	if err := s.ClaimDVR(ctx, "news", 3); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("claiming an older epoch: %v", err)
	}
	if err := add(4, 105, 106); err != nil {
		t.Fatal(err)
	}
	if err := s.TrimDVR(ctx, "news", 4, 101); err != nil {
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
	if ix.Meta != `{"m":1}` || !slices.Equal(numbers, []uint64{101, 102, 105, 106}) || !slices.Equal(epochs, []uint64{3, 3, 4, 4}) {
		t.Fatalf("index after the move: meta %s, numbers %v, epochs %v", ix.Meta, numbers, epochs)
	}
	// A single server (epoch 0) is not fenced.
	if err := s.AddDVR(ctx, "solo", 0, []DVREntry{{Number: 1, Entry: "{}"}}); err != nil {
		t.Fatal(err)
	}
}
