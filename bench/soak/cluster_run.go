package main

import (
	"context"
	"database/sql"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver: connections sampled, the integrity check
)

// run drives the load and the faults on the cluster for the configured
// duration, then stops them and checks what must hold afterwards, node
// by node.
func (c *cluster) run(ctx context.Context) (*results, error) {
	r := c.r
	res := &results{Duration: r.cfg.duration, Cluster: &clusterResult{}}
	cr := res.Cluster
	smps := make([]*sampler, len(c.nodes))
	for i, n := range c.nodes {
		smps[i] = &sampler{node: n}
	}
	conns := &pgSampler{pg: c.pg.URL, db: databaseName(c.db)}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	sleep(ctx, 5*time.Second)
	held := c.heldChannels(ctx)
	for i, n := range c.nodes {
		b := smps[i].take(ctx)
		cr.Nodes = append(cr.Nodes, nodeResult{ID: n.id, Baseline: b, HeldBefore: held[n.id]})
		r.log.Printf("baseline of node %s: %d goroutines, %d descriptors, %d MiB resident, %d channels", n.id, b.goroutines, b.fds, b.rss>>20, held[n.id])
	}
	cr.PGBaseline = conns.take(ctx)
	for _, s := range smps {
		go s.run(sampleCtx, r.cfg.sample)
	}
	go conns.run(sampleCtx, r.cfg.sample)

	if err := r.load(ctx, res, " the cluster", func() string { return r.api().URL }, r.edgeURL, c.followHolders, c.followGaps); err != nil {
		return nil, err
	}
	r.log.Printf("load and faults stopped; waiting for the nodes to return to their baselines")
	for i, n := range c.nodes {
		cr.Nodes[i].Restarts = n.restarts()
		res.Restarts += n.restarts()
	}
	c.settle(ctx, smps, cr)
	r.log.Printf("waiting for the on-demand jobs to end")
	acc, err := r.feed.settle(ctx, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	res.Jobs = acc
	stopSampling()
	for i := range c.nodes {
		cr.Nodes[i].Samples = smps[i].all()
	}
	cr.PGConns = conns.all()
	c.afterwards(ctx, res)
	res.findings()
	return res, nil
}

// followGaps follows every node's event stream for segment.gap events,
// which the DVR check matches with the archives' holes: a node's events
// live in its memory, and a hole is told by the node that holds the
// channel.
func (c *cluster) followGaps(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		f := &eventFollower{base: func() string { return n.server().URL }, only: resource.EventSegmentGap, gaps: &c.r.gaps}
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx) }()
	}
	wg.Wait()
}

// settle waits until every node's goroutines and descriptors are back
// near its baseline. Channels move in a cluster: a node that holds more
// channels than at the baseline is measured in the cluster's sum, which
// holds the same channels as before.
func (c *cluster) settle(ctx context.Context, smps []*sampler, cr *clusterResult) {
	began := time.Now()
	for {
		held := c.heldChannels(ctx)
		all := true
		var sumBase, sumNow sample
		for i, n := range c.nodes {
			nr := &cr.Nodes[i]
			s := smps[i].read(ctx)
			nr.Settled, nr.HeldAfter = s, held[n.id]
			nr.SettledAfter = -1
			sumBase.goroutines += nr.Baseline.goroutines
			sumBase.fds += nr.Baseline.fds
			sumNow.goroutines += s.goroutines
			sumNow.fds += s.fds
			switch {
			case s.goroutines < 0:
				all = false
			case nearBaseline(nr.Baseline, s):
				nr.SettledAfter = time.Since(began)
			case nr.HeldAfter > nr.HeldBefore:
				nr.SettledAfter = time.Since(began)
				nr.MovedIn = true
			default:
				all = false
			}
		}
		n := int64(len(c.nodes))
		sumOK := float64(sumNow.goroutines) <= float64(sumBase.goroutines)*1.25+float64(50*n) && sumNow.fds <= sumBase.fds+30*n
		if all && sumOK {
			cr.SettledAfter = time.Since(began)
			return
		}
		if time.Since(began) > c.r.cfg.settle || ctx.Err() != nil {
			cr.SettledAfter = -1
			cr.SumBaseline, cr.SumSettled = sumBase, sumNow
			return
		}
		sleep(ctx, 5*time.Second)
	}
}

// afterwards stops the nodes as an operator would and checks what each
// left: encoders outliving it, the database's indexes, the channels' DVR
// archives, temporary files and what its log says.
func (c *cluster) afterwards(ctx context.Context, res *results) {
	r := c.r
	r.log.Printf("stopping the nodes and checking what they left")
	r.rtmpPub.stop()
	r.srtPub.stop()
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.stop() }()
	}
	wg.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res.Orphans = nil
		for _, n := range c.nodes {
			for _, o := range orphans(n.dataDir()) {
				res.Orphans = append(res.Orphans, "node "+n.id+": "+o)
			}
		}
		if len(res.Orphans) == 0 || time.Now().After(deadline) {
			break
		}
		sleep(ctx, 500*time.Millisecond)
	}
	res.Integrity = pgIntegrity(ctx, c.db)
	loaded := time.Now()
	if len(res.Cluster.Nodes) > 0 {
		loaded = res.Cluster.Nodes[0].Baseline.at
	}
	res.DVR = checkDVR(sharedArchives(ctx, c.db), r.channels, loaded, windows(res.Faults, time.Now()), res.Faults, &r.gaps)
	counts := map[string]int{}
	for _, n := range c.nodes {
		spool, temp := leftovers(n.dataDir())
		res.SpoolBytes += spool
		for _, t := range temp {
			res.LeftoverTemp = append(res.LeftoverTemp, n.id+"/"+t)
		}
		panics, kinds := scanLog(n.server().LogPath)
		for _, p := range panics {
			res.Panics = append(res.Panics, "node "+n.id+": "+p)
		}
		for _, k := range kinds {
			counts[n.id+" "+numbers.ReplaceAllString(k.Message, "N")] += k.Count
		}
	}
	for m, n := range counts {
		res.ErrorKinds = append(res.ErrorKinds, logKind{Message: m, Count: n})
	}
}

// numbers are the segment numbers, ports and process ids in log
// messages, which the count by kind leaves out.
var numbers = regexp.MustCompile(`[0-9]{4,}`)

// databaseName is the database a PostgreSQL URL names.
func databaseName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// pgIntegrity checks every B-tree index of the cluster's database
// against its table with PostgreSQL's amcheck: "ok", or what failed.
func pgIntegrity(ctx context.Context, dsn string) string {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "cannot open: " + err.Error()
	}
	defer db.Close()
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := db.ExecContext(qctx, "CREATE EXTENSION IF NOT EXISTS amcheck"); err != nil {
		return "cannot check (amcheck): " + err.Error()
	}
	rows, err := db.QueryContext(qctx, `SELECT c.relname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE a.amname = 'btree' AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`)
	if err != nil {
		return "cannot check: " + err.Error()
	}
	var indexes []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			indexes = append(indexes, name)
		}
	}
	_ = rows.Close()
	var bad []string
	for _, ix := range indexes {
		if _, err := db.ExecContext(qctx, "SELECT bt_index_check($1::regclass, true)", ix); err != nil {
			bad = append(bad, ix+": "+err.Error())
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, "; ")
	}
	return "ok"
}

// pgSampler counts the connections to the cluster's database.
type pgSampler struct {
	pg, db string

	mu      sync.Mutex
	samples []connSample
}

// connSample is the number of connections at one instant; -1 while
// PostgreSQL did not answer.
type connSample struct {
	at    time.Time
	conns int64
}

func (p *pgSampler) run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		p.take(ctx)
		sleep(ctx, every)
	}
}

func (p *pgSampler) take(ctx context.Context) connSample {
	s := connSample{at: time.Now(), conns: -1}
	if db, err := sql.Open("pgx", p.pg); err == nil {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var n int64
		// This sampler's own connection is to another database.
		if db.QueryRowContext(qctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", p.db).Scan(&n) == nil {
			s.conns = n
		}
		cancel()
		_ = db.Close()
	}
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
	return s
}

func (p *pgSampler) all() []connSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]connSample(nil), p.samples...)
}
