package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
)

const usage = `Usage: go run ./bench/soak [flags]

Runs a real sluice serve with live channels of every input kind (the RTMP
publisher behind a TCP fault proxy, Shopify's toxiproxy used as a Go
library, the SRT and RTP publishers behind UDP fault relays), a sluice
edge in front of it (through a TCP fault proxy too), simulated HLS and
LL-HLS viewers, hls.js players in Chromium, an on-demand pipeline fed a
file at a steady pace, harvests of the last 24 s of a channel's DVR window
to VOD every --harvest-every, event followers and a Prometheus scraping
every server's /metrics every 5 s (the soak's own scraper when prometheus
is not on the PATH), and injects faults on a schedule for --duration. Then
it stops the load and the faults, checks what must hold afterwards (every
job and harvest job ended exactly once, every complete harvest's package
answers segment by segment, goroutines and file descriptors back to their
baseline, no panic, the database intact, no orphaned encoder, every hole
in the DVR archives explained by a fault and reported by a segment.gap
event) and prints tables of what held, with the viewers' failed requests
by kind inside and outside the faults. Progress goes to stderr, the tables
to stdout.

Faults: encoder-kill, server-kill, server-stop (SIGSTOP),
publisher-vanish, publisher-flap, publisher-garbage, publisher-fast,
net-publisher (TCP latency both ways, then the connection cut and new ones
refused, before the RTMP port), net-udp (delay, loss, reordering, then a
cut, both ways, before the SRT and RTP inputs), net-edge (edge to origin
cut, new connections refused), disk-full (root only), bad-api.

With --cluster, --nodes sluice serve nodes share a throwaway PostgreSQL
and a MinIO server the soak starts (the DVR archives and packages on it),
behind one edge with every node as an origin; the channels, one of them
STANDARD, are placed by the cluster, and the faults are those of a
cluster (--faults default: node-kill, encoder-kill, net-publisher,
pg-stop, publisher-vanish, net-edge, node-stop, bad-api, net-udp,
minio-stop, publisher-garbage, disk-full, publisher-flap,
publisher-fast). The publishers reach the node holding their channel,
and the edge every node, through a TCP proxy or UDP relay before each
node, which net-publisher, net-udp and net-edge impair; disk-full fills
the data directory (a tmpfs per node, root only) of the node holding
the most channels. The DVR archives are checked as on one server, read
from the index the nodes keep in the database. Needs PostgreSQL's
programs (Debian's postgresql) and MinIO ($SLUICE_MINIO, .tools/minio as
scripts/deps.sh test builds it, or minio on the PATH).

Exit status: 0 when the run completed (read the findings table), 1 when it
could not run, 2 on a bad command line, 3 with --strict when a finding was
made.

Flags:
`

// allFaults are the faults the schedule cycles through, in order.
var allFaults = []string{
	faultEncoderKill, faultPublisherVanish, faultBadAPI, faultNetPublisher,
	faultServerKill, faultPublisherFlap, faultNetEdge, faultPublisherGarbage,
	faultServerStop, faultPublisherFast, faultDiskFull, faultNetUDP,
}

// config is the command line of the soak.
type config struct {
	harness.Flags
	duration   time.Duration
	viewers    int
	llViewers  int
	players    int
	faultEvery time.Duration
	faults     []string
	// minFaults keeps the load on past the duration until this many
	// faults have run and recovered: the tests' schedule, whose faults
	// must not depend on how fast a loaded machine recovers.
	minFaults int
	jobEvery  time.Duration
	sample    time.Duration
	settle    time.Duration
	badAPI    int
	strict    bool
	// cluster runs nodes sharing PostgreSQL and MinIO (cluster.go).
	cluster bool
	nodes   int

	// harvestEvery is the time between harvest requests (0: none).
	harvestEvery time.Duration
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("soak", usage, stderr)
	c.Register(fs, "the publishers")
	fs.DurationVar(&c.duration, "duration", 10*time.Minute, "how long load and faults run (an hour for published figures)")
	fs.IntVar(&c.viewers, "viewers", 1000, "simulated HLS viewers through the edge")
	fs.IntVar(&c.llViewers, "ll-viewers", 50, "simulated LL-HLS viewers doing blocking reloads through the edge")
	fs.IntVar(&c.players, "players", 5, "hls.js players in headless Chromium (0 for none)")
	fs.DurationVar(&c.faultEvery, "fault-every", 30*time.Second, "time from the end of one fault's recovery to the start of the next")
	faults := fs.String("faults", strings.Join(allFaults, ","), "faults to cycle through, comma-separated")
	fs.DurationVar(&c.jobEvery, "job-every", time.Minute, "a file lands in the on-demand pipeline this often")
	fs.DurationVar(&c.harvestEvery, "harvest-every", 2*time.Minute, "a harvest of the last 24 s of a channel's DVR window is asked for this often (0 for none)")
	fs.DurationVar(&c.sample, "sample", 10*time.Second, "how often the server's memory, goroutines and descriptors are sampled")
	fs.DurationVar(&c.settle, "settle", 3*time.Minute, "how long goroutines and descriptors may take to return to their baseline after the load")
	fs.IntVar(&c.badAPI, "bad-requests", 10000, "bad API requests and stack files in each burst")
	fs.BoolVar(&c.strict, "strict", false, "exit 3 when a finding was made")
	fs.BoolVar(&c.cluster, "cluster", false, "run --nodes nodes on a shared PostgreSQL and MinIO, with cluster faults")
	fs.IntVar(&c.nodes, "nodes", 3, "nodes of the cluster, with --cluster")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	if err := c.parseFaults(fs, *faults); err != nil {
		return c, err
	}
	switch {
	case c.duration <= 0:
		return c, fmt.Errorf("--duration must be positive")
	case c.faultEvery < 5*time.Second:
		return c, fmt.Errorf("--fault-every must be at least 5s, leaving the server time to recover")
	case c.viewers < 0 || c.llViewers < 0 || c.players < 0:
		return c, fmt.Errorf("--viewers, --ll-viewers and --players cannot be negative")
	case c.sample <= 0 || c.jobEvery <= 0:
		return c, fmt.Errorf("--sample and --job-every must be positive")
	case c.harvestEvery < 0:
		return c, fmt.Errorf("--harvest-every cannot be negative")
	}
	return c, nil
}
