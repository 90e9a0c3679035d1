package metrics

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// kind is how the history stores and derives a series.
type kind uint8

const (
	kindGauge     kind = iota // the value as sampled
	kindCounter               // the running total; queries may turn it into a rate
	kindHistogram             // count and sum (histograms and summaries); buckets are not kept
)

// history keeps, for every recorded series, the value at each of the last
// n samples. All series share one ring of sample times; each series keeps
// a column of values aligned to it, grown on demand up to n points, so a
// series costs at most n float64 (two columns for histograms).
type history struct {
	n         uint64
	maxSeries int

	mu     sync.RWMutex
	times  []int64 // ring of sample times in Unix nanoseconds: sample k at times[k%n]
	count  uint64  // samples taken so far
	series map[string]*series

	seriesCount   atomic.Int64
	droppedSeries atomic.Uint64
}

// series is the history of one labelled series.
type series struct {
	name   string
	labels []labelPair // sorted by name
	kind   kind
	vals   column // the value; for histograms the observation count
	sums   column // histograms only: the sum of observations
	last   uint64 // the last sample written
}

type labelPair struct{ name, value string }

func newHistory(n uint64, maxSeries int) *history {
	if n < 2 {
		n = 2
	}
	return &history{n: n, maxSeries: maxSeries, times: make([]int64, n), series: map[string]*series{}}
}

// sampled is one series of a gathered family.
type sampled struct {
	labels []labelPair
	value  float64
	sum    float64
}

// familySample is a gathered family reduced to what the history keeps.
type familySample struct {
	name    string
	kind    kind
	samples []sampled
}

// sample appends the values of the recorded families at t. It returns false
// (and records nothing) when t is not after the previous sample.
func (h *history) sample(t time.Time, fams []familySample) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	tn := t.UnixNano()
	if h.count > 0 && tn <= h.times[(h.count-1)%h.n] {
		return false
	}
	k := h.count
	h.times[k%h.n] = tn
	h.count++

	type pending struct {
		key string
		s   *series
		v   sampled
	}
	var fresh []pending
	for _, f := range fams {
		for _, sm := range f.samples {
			key := seriesKey(f.name, sm.labels)
			s := h.series[key]
			if s == nil || s.kind != f.kind {
				fresh = append(fresh, pending{key, &series{name: f.name, labels: sm.labels, kind: f.kind}, sm})
				continue
			}
			h.write(s, k, sm)
		}
	}
	// New series take the place of idle ones (not in this sample), the
	// longest idle first; with none idle they are dropped and counted.
	var idle []string
	idleReady := false
	for _, p := range fresh {
		if len(h.series) >= h.maxSeries {
			if !idleReady {
				idle = h.idle(k)
				idleReady = true
			}
			if len(idle) == 0 {
				h.droppedSeries.Add(1)
				continue
			}
			delete(h.series, idle[0])
			idle = idle[1:]
		}
		h.series[p.key] = p.s
		h.write(p.s, k, p.v)
	}
	// Series without a point in the window are gone.
	for key, s := range h.series {
		if s.last+h.n <= k {
			delete(h.series, key)
		}
	}
	h.seriesCount.Store(int64(len(h.series)))
	return true
}

// idle lists the keys of series not written at sample k, least recently
// written first.
func (h *history) idle(k uint64) []string {
	type cand struct {
		key  string
		last uint64
	}
	var cs []cand
	for key, s := range h.series {
		if s.last < k {
			cs = append(cs, cand{key, s.last})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].last != cs[j].last {
			return cs[i].last < cs[j].last
		}
		return cs[i].key < cs[j].key
	})
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.key
	}
	return keys
}

func (h *history) write(s *series, k uint64, v sampled) {
	s.vals.put(k, v.value, h.n)
	if s.kind == kindHistogram {
		s.sums.put(k, v.sum, h.n)
	}
	s.last = k
}

// removeLabel forgets the series whose label name has the value.
func (h *history) removeLabel(name, value string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for key, s := range h.series {
		for _, l := range s.labels {
			if l.name == name && l.value == value {
				delete(h.series, key)
				break
			}
		}
	}
	h.seriesCount.Store(int64(len(h.series)))
}

func seriesKey(name string, labels []labelPair) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range labels {
		b.WriteByte(0xff)
		b.WriteString(l.name)
		b.WriteByte(0xfe)
		b.WriteString(l.value)
	}
	return b.String()
}

// column holds one value per sample. While it grows, v[i] is sample
// base+i; once it holds n values it is a ring where v[k%n] is sample k.
type column struct {
	v    []float64
	base uint64
	last uint64
	has  bool
	full bool
}

func (c *column) put(k uint64, x float64, n uint64) {
	if !c.has {
		c.base = k
	}
	if !c.full {
		idx := k - c.base
		if idx < n {
			for uint64(len(c.v)) < idx {
				c.append(math.NaN(), n)
			}
			c.append(x, n)
			c.last, c.has = k, true
			if uint64(len(c.v)) == n {
				c.wrap(n)
			}
			return
		}
		c.wrap(n)
	}
	if c.has {
		from := c.last + 1
		if k-from > n {
			from = k - n
		}
		for j := from; j < k; j++ {
			c.v[j%n] = math.NaN()
		}
	}
	c.v[k%n] = x
	c.last, c.has = k, true
}

// append grows v by one value without ever holding more than n.
func (c *column) append(x float64, n uint64) {
	if len(c.v) == cap(c.v) {
		nv := make([]float64, len(c.v), min(max(2*uint64(cap(c.v)), 16), n))
		copy(nv, c.v)
		c.v = nv
	}
	c.v = append(c.v, x)
}

// wrap turns a growing column into a ring of n values.
func (c *column) wrap(n uint64) {
	nv := make([]float64, n)
	for i := range nv {
		nv[i] = math.NaN()
	}
	for i, x := range c.v {
		nv[(c.base+uint64(i))%n] = x
	}
	c.v = nv
	c.full = true
}

// get returns the value at sample k, if the column has one.
func (c *column) get(k, n uint64) (float64, bool) {
	if !c.has || k > c.last {
		return 0, false
	}
	var x float64
	if c.full {
		if c.last-k >= n {
			return 0, false
		}
		x = c.v[k%n]
	} else {
		if k < c.base || k-c.base >= uint64(len(c.v)) {
			return 0, false
		}
		x = c.v[k-c.base]
	}
	if math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

// HistoryStats describes the history's size.
type HistoryStats struct {
	// Series is the number of series kept, at most MaxSeries.
	Series    int `json:"series"`
	MaxSeries int `json:"maxSeries"`
	// PointsPerSeries is the most points a series keeps (Retention/Interval).
	PointsPerSeries int `json:"pointsPerSeries"`
	// Points is the number of value slots allocated over all series.
	Points int `json:"points"`
	// Samples is the number of samples taken.
	Samples uint64 `json:"samples"`
	// DroppedSeries counts samples of new series refused while full.
	DroppedSeries uint64 `json:"droppedSeries"`
}

// HistoryStats returns the size of the history.
func (m *Metrics) HistoryStats() HistoryStats {
	h := m.hist
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := HistoryStats{
		Series:          len(h.series),
		MaxSeries:       h.maxSeries,
		PointsPerSeries: int(h.n), //nolint:gosec // n is Retention/Interval, far below MaxInt
		Samples:         h.count,
		DroppedSeries:   h.droppedSeries.Load(),
	}
	for _, s := range h.series {
		st.Points += cap(s.vals.v) + cap(s.sums.v)
	}
	return st
}
