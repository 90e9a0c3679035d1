package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
)

// A cluster's archives are read where its nodes keep their index, the
// state database (its schema as the nodes create it): holes in the
// numbering are found and explained as on a single server, entries of
// several holders (epochs) make one archive, and a channel without an
// archive is an error.
func TestUnitClusterDVR(t *testing.T) {
	pg := pgserver.Start(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	meta := fmt.Sprintf(`{"availabilityStart":%q,"segmentDuration":2000000000,"renditions":[{"ID":"low","Timescale":90000},{"ID":"audio","Timescale":48000}]}`, start.Format(time.RFC3339Nano))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO dvr_archives (channel, meta, epoch) VALUES ($1, $2, 3)`, "soak-rtmp", meta)
	// 0-9 from the first holder, 13-20 from the next (the channel moved
	// during a node kill from 20 s to 26 s), and a torn entry.
	for n := uint64(0); n <= 20; n++ {
		if n >= 10 && n <= 12 {
			continue
		}
		epoch := map[bool]int{true: 2, false: 3}[n < 10]
		entry := fmt.Sprintf(`{"n":%d,"run":%d,"p":[{"s":%d,"d":180000,"z":1},{"s":%d,"d":96000,"z":1}],"e":%d}`, n, epoch, n*180000, n*96000, epoch)
		exec(`INSERT INTO dvr_segments (channel, number, epoch, entry) VALUES ($1, $2, $3, $4)`, "soak-rtmp", n, epoch, entry)
	}
	exec(`INSERT INTO dvr_segments (channel, number, epoch, entry) VALUES ($1, 21, 3, '{"n":21,"p":[{"s":1}]}')`, "soak-rtmp")

	faults := []faultRecord{{Kind: faultNodeKill, Start: start.Add(19 * time.Second)}}
	ws := []window{{from: start.Add(19 * time.Second), to: start.Add(40 * time.Second)}}
	gaps := &gapLog{}
	gaps.note("segment.gap", fmt.Sprintf(`{"at":%q,"detail":{"channel":"soak-rtmp"}}`, start.Add(27*time.Second).Format(time.RFC3339Nano)))
	res := checkDVR(sharedArchives(ctx, pg.URL), []string{"soak-rtmp"}, start, ws, faults, gaps)
	if res.Error != "" || res.Channels != 1 || res.Segments != 18 || len(res.Holes) != 1 {
		t.Fatalf("checkDVR: %+v", res)
	}
	h := res.Holes[0]
	if h.From != 10 || h.Missing != 3 || !h.Start.Equal(start.Add(20*time.Second)) || !h.End.Equal(start.Add(26*time.Second)) ||
		!strings.HasPrefix(h.Fault, faultNodeKill) || !h.Event {
		t.Errorf("hole %+v", h)
	}
	if out := (&results{DVR: res}).dvrFindings(); len(out) != 0 {
		t.Errorf("findings %q for an explained and reported hole", out)
	}

	res = checkDVR(sharedArchives(ctx, pg.URL), []string{"soak-srt"}, start, nil, nil, gaps)
	if !strings.Contains(res.Error, "soak-srt") {
		t.Errorf("a channel without an archive: %+v", res)
	}
}
