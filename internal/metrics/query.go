package metrics

import (
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Query asks the history for one statistic per period of the series named
// Name whose labels include Labels.
//
// What a sample contributes depends on the series:
//   - a gauge: its value;
//   - a counter: its running total, or with Rate its increase per second
//     since the previous sample (a reset counts from zero);
//   - a histogram or summary, queried by its own name: the observations
//     made between two samples. avg is the mean observation of the period
//     (sum of observed values over their count), sum and count add the
//     observed values and the observations, and min, max and p90 are taken
//     over the mean observation of each sampling interval. The buckets are
//     not kept: a true quantile of the observations needs Prometheus and
//     histogram_quantile. Its _count and _sum series are counters.
//
// p90 interpolates between the closest ranks of the period's samples.
type Query struct {
	Name string
	// Labels select the series: every one must be equal (an absent label
	// equals "").
	Labels map[string]string
	// Stat is avg, min, max, sum, count or p90 (default avg).
	Stat string
	// Period is the length of a datapoint, a multiple of the sampling
	// interval (default 60 s). Periods are aligned to multiples of Period
	// since the Unix epoch.
	Period time.Duration
	// From and To bound the query (default the hour before now); From is
	// aligned down to a period boundary, To is exclusive.
	From, To time.Time
	// Rate turns counters into per-second rates.
	Rate bool
}

// Result holds the datapoints of every matching series.
type Result struct {
	Name          string         `json:"name"`
	Stat          string         `json:"stat"`
	PeriodSeconds float64        `json:"periodSeconds"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Series        []SeriesResult `json:"series"`
}

// SeriesResult holds one series' datapoints, oldest first. Periods without
// samples have no datapoint.
type SeriesResult struct {
	Labels map[string]string `json:"labels"`
	Points []Point           `json:"points"`
}

// Point is the statistic of one period.
type Point struct {
	// Time is the start of the period.
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
	// Samples is how many samples (for histograms, sampling intervals)
	// the value comes from.
	Samples int `json:"samples"`
}

// MaxPeriods bounds the number of periods one query may span.
const MaxPeriods = 20000

// The Prometheus patterns of metric and label names.
var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ValidMetricName reports whether name is a Prometheus metric name.
func ValidMetricName(name string) bool { return metricName.MatchString(name) }

// ValidLabelName reports whether name is a Prometheus label name.
func ValidLabelName(name string) bool { return labelName.MatchString(name) }

// Normalize fills the query's defaults relative to now and checks it; the
// errors name the bad parameter.
func (q Query) Normalize(now time.Time, interval time.Duration) (Query, error) {
	var errs resource.FieldErrors
	switch {
	case q.Name == "":
		errs.Add("name", "is required: a metric name such as sluice_encoder_speed_ratio")
	case !ValidMetricName(q.Name):
		errs.Add("name", strconv.Quote(q.Name)+" is not a metric name")
	}
	for k := range q.Labels {
		if !ValidLabelName(k) {
			errs.Add("labels", strconv.Quote(k)+" is not a label name")
		}
	}
	if q.Stat == "" {
		q.Stat = "avg"
	}
	if !slices.Contains(resource.Statistics, q.Stat) {
		errs.Add("stat", "must be one of avg, min, max, sum, count, p90")
	}
	if q.Period == 0 {
		q.Period = max(time.Minute, interval)
	}
	if q.Period < interval || q.Period%interval != 0 {
		errs.Add("period", "must be a multiple of the sampling interval "+interval.String())
	}
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-time.Hour)
	}
	if q.Period > 0 {
		q.From = alignDown(q.From, q.Period)
	}
	switch {
	case !q.To.After(q.From):
		errs.Add("to", "must be after from")
	case q.Period > 0 && q.To.Sub(q.From)/q.Period > MaxPeriods:
		errs.Add("period", "spans more than "+strconv.Itoa(MaxPeriods)+" periods from "+q.From.UTC().Format(time.RFC3339)+" to "+q.To.UTC().Format(time.RFC3339)+"; use a longer period")
	}
	return q, errs.Err()
}

func alignDown(t time.Time, p time.Duration) time.Time {
	ns := t.UnixNano()
	r := ns % int64(p)
	if r < 0 {
		r += int64(p)
	}
	return time.Unix(0, ns-r).UTC()
}

// Query computes the statistic per period of every matching series; the
// errors name the bad parameter and wrap resource.ErrInvalid.
func (m *Metrics) Query(q Query) (Result, error) {
	q, err := q.Normalize(m.cfg.Now(), m.cfg.Interval)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: q.Name, Stat: q.Stat, PeriodSeconds: q.Period.Seconds(), From: q.From.UTC(), To: q.To.UTC(), Series: []SeriesResult{}}
	h := m.hist
	h.mu.RLock()
	defer h.mu.RUnlock()
	lo, hi := h.window(q.From.UnixNano(), q.To.UnixNano())
	type match struct {
		s   *series
		col *column // the column read; nil for a histogram by its own name
		k   kind
	}
	var matches []match
	for _, s := range h.series {
		var mt match
		switch {
		case s.name == q.Name:
			mt = match{s, &s.vals, s.kind}
			if s.kind == kindHistogram {
				mt.col = nil
			}
		case s.kind == kindHistogram && q.Name == s.name+"_count":
			mt = match{s, &s.vals, kindCounter}
		case s.kind == kindHistogram && q.Name == s.name+"_sum":
			mt = match{s, &s.sums, kindCounter}
		default:
			continue
		}
		if selects(s.labels, q.Labels) {
			matches = append(matches, mt)
		}
	}
	for _, mt := range matches {
		var pts []Point
		if mt.col == nil {
			pts = h.histogramPoints(mt.s, lo, hi, q)
		} else {
			pts = h.points(mt.col, mt.k, lo, hi, q)
		}
		if len(pts) == 0 {
			continue
		}
		labels := make(map[string]string, len(mt.s.labels))
		for _, l := range mt.s.labels {
			labels[l.name] = l.value
		}
		res.Series = append(res.Series, SeriesResult{Labels: labels, Points: pts})
	}
	sort.Slice(res.Series, func(i, j int) bool {
		return labelString(res.Series[i].Labels) < labelString(res.Series[j].Labels)
	})
	return res, nil
}

func selects(have []labelPair, want map[string]string) bool {
	for k, v := range want {
		got := ""
		for _, l := range have {
			if l.name == k {
				got = l.value
				break
			}
		}
		if got != v {
			return false
		}
	}
	return true
}

func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xfe)
		b.WriteString(l[k])
		b.WriteByte(0xff)
	}
	return b.String()
}

// window returns the samples [lo, hi) taken in [from, to).
func (h *history) window(from, to int64) (lo, hi uint64) {
	first := uint64(0)
	if h.count > h.n {
		first = h.count - h.n
	}
	// search returns the first sample at or after t; times only grow.
	search := func(t int64) uint64 {
		a, b := first, h.count
		for a < b {
			m := a + (b-a)/2
			if h.timeOf(m) < t {
				a = m + 1
			} else {
				b = m
			}
		}
		return a
	}
	return search(from), search(to)
}

func (h *history) timeOf(k uint64) int64 { return h.times[k%h.n] }

// inWindow reports whether sample k is still in the ring of times.
func (h *history) inWindow(k uint64) bool { return k < h.count && h.count-k <= h.n }

// points computes the datapoints of a gauge or counter column.
func (h *history) points(c *column, kd kind, lo, hi uint64, q Query) []Point {
	var pts []Point
	var vals []float64
	cur := int64(math.MinInt64)
	flush := func() {
		if len(vals) > 0 {
			pts = append(pts, Point{Time: time.Unix(0, cur).UTC(), Value: stat(q.Stat, vals), Samples: len(vals)})
		}
		vals = vals[:0]
	}
	for k := lo; k < hi; k++ {
		x, ok := c.get(k, h.n)
		if !ok {
			continue
		}
		if kd == kindCounter && q.Rate {
			if k == 0 || !h.inWindow(k-1) {
				continue
			}
			prev, ok := c.get(k-1, h.n)
			if !ok {
				continue
			}
			dt := float64(h.timeOf(k)-h.timeOf(k-1)) / 1e9
			x = increase(prev, x) / dt
		}
		start := periodStart(h.timeOf(k), q.Period)
		if start != cur {
			flush()
			cur = start
		}
		vals = append(vals, x)
	}
	flush()
	return pts
}

// histogramPoints computes the datapoints of a histogram by its own name
// from the observations between samples.
func (h *history) histogramPoints(s *series, lo, hi uint64, q Query) []Point {
	var pts []Point
	var means []float64
	var count, sum float64
	intervals := 0
	cur := int64(math.MinInt64)
	flush := func() {
		if intervals > 0 {
			p := Point{Time: time.Unix(0, cur).UTC(), Samples: intervals}
			switch q.Stat {
			case "count":
				p.Value = count
			case "sum":
				p.Value = sum
			case "avg":
				if count > 0 {
					p.Value = sum / count
				} else {
					p.Samples = 0
				}
			default:
				if len(means) > 0 {
					p.Value = stat(q.Stat, means)
					p.Samples = len(means)
				} else {
					p.Samples = 0
				}
			}
			if p.Samples > 0 {
				pts = append(pts, p)
			}
		}
		means, count, sum, intervals = means[:0], 0, 0, 0
	}
	for k := lo; k < hi; k++ {
		if k == 0 || !h.inWindow(k-1) {
			continue
		}
		c1, ok1 := s.vals.get(k, h.n)
		s1, ok2 := s.sums.get(k, h.n)
		c0, ok3 := s.vals.get(k-1, h.n)
		s0, ok4 := s.sums.get(k-1, h.n)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			continue
		}
		dc, ds := c1-c0, s1-s0
		if dc < 0 {
			dc, ds = c1, s1
		}
		start := periodStart(h.timeOf(k), q.Period)
		if start != cur {
			flush()
			cur = start
		}
		intervals++
		count += dc
		sum += ds
		if dc > 0 {
			means = append(means, ds/dc)
		}
	}
	flush()
	return pts
}

// increase is a counter's growth from prev to cur; a drop is a reset.
func increase(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func periodStart(ns int64, p time.Duration) int64 {
	r := ns % int64(p)
	if r < 0 {
		r += int64(p)
	}
	return ns - r
}

// stat computes a statistic of a non-empty list of values.
func stat(name string, xs []float64) float64 {
	switch name {
	case "min":
		return slices.Min(xs)
	case "max":
		return slices.Max(xs)
	case "sum":
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s
	case "count":
		return float64(len(xs))
	case "p90":
		return Quantile(0.9, xs)
	default:
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
}

// Quantile returns the q-quantile of xs, interpolating linearly between
// the closest ranks as Prometheus's quantile_over_time does. xs is not
// changed.
func Quantile(q float64, xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i] + f*(s[i+1]-s[i])
}
