package dvr

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// sharedArchives is what the nodes of a test cluster share: a bucket and
// a state database.
func sharedArchives(t *testing.T) (Shared, *store.Store) {
	t.Helper()
	srv := s3server.Start(t)
	st, err := storage.OpenS3(storage.S3Config{Endpoint: srv.Endpoint, Bucket: "dvr", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	rec := store.ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}, State: resource.StateRunning}, Desired: resource.StateRunning}
	if err := db.CreateChannel(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return Shared{Storage: st, Index: db}, db
}

// takeLease gives the channel's lease to node once no live lease holds it.
func takeLease(t *testing.T, db *store.Store, node string, ttl time.Duration) Hold {
	t.Helper()
	var epoch uint64
	poll.Until(t, "node "+node+" takes the lease", 30*time.Second, func() (bool, string) {
		got, err := db.AcquireLease(context.Background(), "ch-1", node, node+"-1", ttl)
		epoch = got.Epoch
		return err == nil, fmt.Sprint(err)
	})
	return Hold{ChannelID: "ch-1", Fence: store.Fence{Holder: node, Epoch: epoch}}
}

// runOn feeds 21 s of media into a timeline whose clock says now, with
// numbers from minNumber, and archives each new segment into a as it
// comes; it returns the timeline and the errors of the syncs.
func runOn(t *testing.T, files map[string]string, now time.Time, minNumber uint64, a *Archive) (*cmaf.Timeline, []error) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	var tl *cmaf.Timeline
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: 2 * time.Second, Window: 6 * time.Second, AvailabilityStart: t0, MinNumber: minNumber,
		Renditions: []cmaf.RenditionConfig{{ID: "180p", Kind: cmaf.Video, FrameRate: 25}, {ID: "audio", Kind: cmaf.Audio}},
		Now:        func() time.Time { return now },
		OnSegment: func(string, time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if _, err := a.Sync(tl); err != nil {
				errs = append(errs, err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fragmented.Ingest(t, tl.StartRun(), files)
	return tl, errs
}

// TestSharedArchiveSurvivesAMove: node a archives under its lease; node b
// takes the channel over and continues the same archive; what a stores
// after that (it does not know it lost the channel) never becomes
// visible, and b's sweep deletes it.
func TestSharedArchiveSurvivesAMove(t *testing.T) {
	sh, db := sharedArchives(t)
	files := fragmented.SmallRenditions(t, "21")
	ctx := context.Background()

	holdA := takeLease(t, db, "a", time.Hour)
	a, err := OpenShared(sh, "news", holdA, false, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := runOn(t, files, t0.Add(time.Minute), 0, a)
	if len(errs) > 0 || a.Len() != 10 {
		t.Fatalf("node a archived %d segments: %v", a.Len(), errs)
	}
	lastA := a.entries[len(a.entries)-1].Number

	// Node a's lease lapses (as if it stopped renewing it); node b holds
	// the channel now.
	if err := db.ReleaseLease(ctx, "ch-1", holdA.Fence); err != nil {
		t.Fatal(err)
	}
	holdB := takeLease(t, db, "b", time.Hour)
	b, err := OpenShared(sh, "news", holdB, false, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 10 {
		t.Fatalf("node b reads %d of node a's segments, want 10", b.Len())
	}
	if data, ok := b.Segment("180p", a.entries[0].Number); !ok || len(data) != a.entries[0].Pieces[0].Size {
		t.Fatalf("node b serves node a's first segment: %d bytes, %v", len(data), ok)
	}
	if _, ok := b.Init("audio", a.entries[0].Run); !ok {
		t.Fatal("node b has not node a's init segment")
	}
	// Node b starts the channel a minute of the grid later: the numbers
	// between are a hole in the archive, reported once.
	gaps := &gapRecorder{}
	b.OnGap(gaps.hear)
	tlB, errs := runOn(t, files, t0.Add(2*time.Minute), lastA+1, b)
	if len(errs) > 0 || b.Len() != 20 {
		t.Fatalf("node b archived up to %d segments: %v", b.Len(), errs)
	}
	firstB := tlB.FirstNumber()
	want := fmt.Sprintf("%d segments are missing (numbers %d to %d): no node was running the channel", firstB-lastA-1, lastA+1, firstB-1)
	if got := gaps.heard(); firstB <= lastA+1 || len(got) != 1 || got[0] != want {
		t.Errorf("node b starts at %d after node a's %d; gaps reported %q, want once %q", firstB, lastA, got, want)
	}

	// Node a, cut off, keeps running a channel it lost: its archive stops.
	_, errs = runOn(t, files, t0.Add(3*time.Minute), b.last+1, a)
	if len(errs) == 0 || !errors.Is(errs[0], ErrLost) {
		t.Fatalf("node a's writes after the move: %v, want ErrLost", errs)
	}
	objs, _ := sh.Storage.List(ctx, fmt.Sprintf("news/%d/", holdA.Fence.Epoch))
	staleObjects := len(objs)

	// Any node reads the archive of both holders, in order, and none of
	// what node a stored after the move.
	c, err := OpenShared(sh, "news", Hold{}, true, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 20 || c.last != b.last {
		t.Fatalf("a reader sees %d segments up to %d, want 20 up to %d", c.Len(), c.last, b.last)
	}
	first, last, _ := c.Available()
	snap, err := c.Cut(Range{Start: first, End: last}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Runs) != 2 || snap.Runs[1].ID == snap.Runs[0].ID {
		t.Errorf("runs of the archive across the move: %+v, want node a's and node b's", snap.Runs)
	}
	for i := 1; i < len(snap.Renditions[0].Segments); i++ {
		if p, n := snap.Renditions[0].Segments[i-1].Number, snap.Renditions[0].Segments[i].Number; n <= p {
			t.Fatalf("numbers go back across the move: %d then %d", p, n)
		}
	}
	if _, err := c.Sync(nil); err != nil {
		t.Errorf("a reader syncs nothing: %v", err)
	}

	// Node b's sweep deletes what node a stored and could not list.
	if n := b.Sweep(ctx); n == 0 {
		t.Errorf("the sweep deleted nothing; node a left %d objects under its epoch", staleObjects)
	}
	for _, e := range c.entries {
		if _, ok := c.Segment("180p", e.Number); !ok {
			t.Fatalf("listed segment %d (epoch %d) is gone after the sweep", e.Number, e.Epoch)
		}
	}

	// Retention on the new holder deletes objects of both epochs.
	n, err := b.Trim(t0.Add(24 * time.Hour))
	if err != nil || n != 20 {
		t.Fatalf("trimmed %d: %v", n, err)
	}
	objs, _ = sh.Storage.List(ctx, "news/")
	if len(objs) != 0 {
		t.Errorf("%d objects left after full retention: %v", len(objs), objs)
	}
}
