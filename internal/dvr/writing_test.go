package dvr

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of the test's own connection

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// TestReadersDoNotWaitForArchiveWrites: while the holder's archive writes
// new segments and the state database keeps its index entries waiting (a
// slow database; here another transaction holds the lease row), a request
// for a segment the archive does not have — a number far beyond the live
// edge — is answered at once, as is one for a segment it has, instead of
// waiting for the write to end.
func TestReadersDoNotWaitForArchiveWrites(t *testing.T) {
	pg := pgserver.Start(t)
	srv := s3server.Start(t)
	objects, err := storage.OpenS3(storage.S3Config{Endpoint: srv.Endpoint, Bucket: "dvr", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := objects.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	rec := store.ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}, State: resource.StateRunning}, Desired: resource.StateRunning}
	if err := db.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Each write may wait far longer than the test does.
	sh := Shared{Storage: objects, Index: db, Timeout: 5 * time.Minute}
	hold := takeLease(t, db, "a", time.Hour)
	a, err := OpenShared(sh, "news", hold, false, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := fragmented.SmallRenditions(t, "21")
	if _, errs := runOn(t, files, t0.Add(time.Minute), 0, a); len(errs) > 0 || a.Len() == 0 {
		t.Fatalf("the archive holds %d segments: %v", a.Len(), errs)
	}
	archived := a.entries[0].Number

	// Another session locks the lease row: the archive's next index
	// write waits for it.
	admin, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM channel_leases WHERE channel_id = 'ch-1' AND pipeline = 0 FOR UPDATE`).Scan(&one); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			_ = tx.Rollback()
		}
	}
	t.Cleanup(release)

	writes := make(chan []error, 1)
	next := a.last + 1
	go func() {
		_, errs := runOn(t, files, t0.Add(2*time.Minute), next, a)
		writes <- errs
	}()
	poll.Until(t, "the archive's index write to wait for the lease row", time.Minute, func() (bool, string) {
		var waiting int
		err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting)
		return err == nil && waiting > 0, fmt.Sprintf("%d waiting locks, %v", waiting, err)
	})

	type answer struct {
		n    uint64
		ok   bool
		data []byte
	}
	answers := make(chan answer, 2)
	for _, n := range []uint64{999999999999, archived} {
		go func() {
			data, ok := a.Segment("180p", n)
			answers <- answer{n: n, ok: ok, data: data}
		}()
	}
	got := map[uint64]answer{}
	poll.Until(t, "the archive to answer both segment requests while its write waits", 30*time.Second, func() (bool, string) {
		select {
		case an := <-answers:
			got[an.n] = an
		default:
		}
		return len(got) == 2, fmt.Sprintf("%d of 2 answered", len(got))
	})
	if an := got[999999999999]; an.ok {
		t.Errorf("segment 999999999999 is archived: %d bytes", len(an.data))
	}
	if an := got[archived]; !an.ok || len(an.data) == 0 {
		t.Errorf("archived segment %d is not served while the archive writes", archived)
	}

	// The write goes on once the lease row is free, and lists what it
	// stored.
	before := a.Len()
	release()
	var errs []error
	poll.Until(t, "the archive's writes to end", 2*time.Minute, func() (bool, string) {
		select {
		case errs = <-writes:
			return true, ""
		default:
			return false, "still writing"
		}
	})
	if len(errs) > 0 || a.Len() <= before {
		t.Fatalf("after the wait the archive holds %d segments (was %d): %v", a.Len(), before, errs)
	}
}
