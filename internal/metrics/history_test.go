package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-video/sluice/internal/resource"
)

// t0 is a period boundary for every period the tests use.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// synthetic is a Metrics with test families registered in its registry.
type synthetic struct {
	m       *Metrics
	gauge   *prometheus.GaugeVec
	counter *prometheus.CounterVec
	hist    *prometheus.HistogramVec
}

func newSynthetic(cfg Config) synthetic {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0.Add(24 * time.Hour) }
	}
	m := New(cfg)
	s := synthetic{
		m:       m,
		gauge:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_test_value", Help: "A test gauge."}, []string{"channel"}),
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_test_things_total", Help: "A test counter."}, []string{"channel"}),
		hist:    prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_test_wait_seconds", Help: "A test histogram.", Buckets: []float64{1, 2}}, []string{"channel"}),
	}
	m.Registry().MustRegister(s.gauge, s.counter, s.hist)
	return s
}

func TestQueryGaugeStatistics(t *testing.T) {
	s := newSynthetic(Config{})
	// Two minutes at 10 s: 1..6 in the first, 10, 20, 30, 40, 50, 100 in the second.
	values := []float64{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 100}
	for i, v := range values {
		s.gauge.WithLabelValues("news").Set(v)
		s.gauge.WithLabelValues("sports").Set(-v)
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	tests := []struct {
		stat string
		want [2]float64
	}{
		{"avg", [2]float64{3.5, 250.0 / 6}},
		{"min", [2]float64{1, 10}},
		{"max", [2]float64{6, 100}},
		{"sum", [2]float64{21, 250}},
		{"count", [2]float64{6, 6}},
		{"p90", [2]float64{5.5, 75}},
	}
	for _, tt := range tests {
		t.Run(tt.stat, func(t *testing.T) {
			res, err := s.m.Query(Query{
				Name: "sluice_test_value", Labels: map[string]string{"channel": "news"},
				Stat: tt.stat, Period: time.Minute, From: t0, To: t0.Add(2 * time.Minute),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Series) != 1 {
				t.Fatalf("%d series, want 1", len(res.Series))
			}
			pts := res.Series[0].Points
			if len(pts) != 2 {
				t.Fatalf("%d points, want 2: %+v", len(pts), pts)
			}
			for i, p := range pts {
				if !p.Time.Equal(t0.Add(time.Duration(i) * time.Minute)) {
					t.Errorf("point %d at %v", i, p.Time)
				}
				if math.Abs(p.Value-tt.want[i]) > 1e-9 {
					t.Errorf("point %d = %v, want %v", i, p.Value, tt.want[i])
				}
				if p.Samples != 6 {
					t.Errorf("point %d from %d samples, want 6", i, p.Samples)
				}
			}
		})
	}
	res, err := s.m.Query(Query{Name: "sluice_test_value", Period: 2 * time.Minute, From: t0, To: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 2 || res.Series[0].Labels["channel"] != "news" || res.Series[1].Labels["channel"] != "sports" {
		t.Fatalf("without labels: %+v", res.Series)
	}
}

func TestQueryCounterRate(t *testing.T) {
	s := newSynthetic(Config{})
	c := s.counter.WithLabelValues("news")
	// 5 per second for the first minute, then nothing.
	for i := range 12 {
		if i > 0 && i <= 5 {
			c.Add(50)
		}
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	res, err := s.m.Query(Query{Name: "sluice_test_things_total", Stat: "avg", Period: time.Minute, From: t0, To: t0.Add(2 * time.Minute), Rate: true})
	if err != nil {
		t.Fatal(err)
	}
	pts := res.Series[0].Points
	// The first sample has no rate: 5 samples in the first minute.
	if len(pts) != 2 || pts[0].Value != 5 || pts[0].Samples != 5 || pts[1].Value != 0 || pts[1].Samples != 6 {
		t.Fatalf("rates %+v", pts)
	}
	res, err = s.m.Query(Query{Name: "sluice_test_things_total", Stat: "max", Period: 2 * time.Minute, From: t0, To: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if pts := res.Series[0].Points; len(pts) != 1 || pts[0].Value != 250 {
		t.Fatalf("raw counter %+v", pts)
	}
}

func TestIncreaseTreatsADropAsReset(t *testing.T) {
	if got := increase(100, 30); got != 30 {
		t.Fatalf("increase after reset = %v", got)
	}
	if got := increase(30, 100); got != 70 {
		t.Fatalf("increase = %v", got)
	}
}

func TestQueryHistogram(t *testing.T) {
	s := newSynthetic(Config{})
	h := s.hist.WithLabelValues("news")
	s.m.SampleNow(t0.Add(-10 * time.Second))
	// First minute: intervals observe {1,3}, {2}, none, ... ; second: {10}.
	obs := map[int][]float64{0: {1, 3}, 1: {2}, 6: {10}}
	for i := range 12 {
		for _, v := range obs[i] {
			h.Observe(v)
		}
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	q := Query{Name: "sluice_test_wait_seconds", Period: time.Minute, From: t0, To: t0.Add(2 * time.Minute)}
	for stat, want := range map[string][2]float64{
		"avg": {2, 10}, "count": {3, 1}, "sum": {6, 10}, "max": {2, 10}, "min": {2, 10},
	} {
		q.Stat = stat
		res, err := s.m.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		pts := res.Series[0].Points
		if len(pts) != 2 || pts[0].Value != want[0] || pts[1].Value != want[1] {
			t.Errorf("%s: %+v, want %v", stat, pts, want)
		}
	}
	q.Name, q.Stat, q.Rate = "sluice_test_wait_seconds_count", "max", false
	res, err := s.m.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	if pts := res.Series[0].Points; len(pts) != 2 || pts[0].Value != 3 || pts[1].Value != 4 {
		t.Fatalf("_count: %+v", pts)
	}
}

func TestQueryWithoutSamplesInAPeriodHasNoPoint(t *testing.T) {
	s := newSynthetic(Config{})
	g := s.gauge.WithLabelValues("news")
	g.Set(1)
	s.m.SampleNow(t0)
	s.gauge.Reset() // the series disappears for the second minute
	s.m.SampleNow(t0.Add(time.Minute))
	g = s.gauge.WithLabelValues("news")
	g.Set(3)
	s.m.SampleNow(t0.Add(2 * time.Minute))
	res, err := s.m.Query(Query{Name: "sluice_test_value", Period: time.Minute, From: t0, To: t0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	pts := res.Series[0].Points
	if len(pts) != 2 || !pts[0].Time.Equal(t0) || !pts[1].Time.Equal(t0.Add(2*time.Minute)) || pts[1].Value != 3 {
		t.Fatalf("points %+v", pts)
	}
}

func TestHistoryMemoryIsBounded(t *testing.T) {
	const maxSeries, points = 20, 30
	s := newSynthetic(Config{MaxSeries: maxSeries, Retention: points * 10 * time.Second})
	// Series come and go: 5 new every sample, each lives for 3 samples.
	for i := range 400 {
		s.gauge.Reset()
		for j := range 15 {
			s.gauge.WithLabelValues(fmt.Sprintf("ch-%d", i*5+j)).Set(float64(i))
		}
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
		st := s.m.HistoryStats()
		if st.Series > maxSeries {
			t.Fatalf("sample %d: %d series kept, at most %d allowed", i, st.Series, maxSeries)
		}
		if st.Points > maxSeries*points*2 {
			t.Fatalf("sample %d: %d points allocated", i, st.Points)
		}
	}
	st := s.m.HistoryStats()
	if st.PointsPerSeries != points {
		t.Fatalf("points per series %d", st.PointsPerSeries)
	}
	if st.DroppedSeries == 0 {
		t.Fatal("no series was dropped although more than MaxSeries were live")
	}
	// The newest series made room by evicting idle ones: the current
	// sample's series are queryable.
	res, err := s.m.Query(Query{Name: "sluice_test_value", Labels: map[string]string{"channel": "ch-1995"}, Period: 10 * time.Second, From: t0, To: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 {
		t.Fatalf("newest series missing: %+v", res.Series)
	}
}

func TestHistoryRetention(t *testing.T) {
	s := newSynthetic(Config{Retention: time.Minute}) // 6 points
	g := s.gauge.WithLabelValues("news")
	for i := range 20 {
		g.Set(float64(i))
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	res, err := s.m.Query(Query{Name: "sluice_test_value", Stat: "min", Period: time.Hour, From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if pts := res.Series[0].Points; len(pts) != 1 || pts[0].Value != 14 || pts[0].Samples != 6 {
		t.Fatalf("points %+v, want the last 6 samples (14..19)", pts)
	}
	// A series not seen for the whole retention is forgotten.
	s.gauge.Reset()
	for i := 20; i < 27; i++ {
		s.m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	res, err = s.m.Query(Query{Name: "sluice_test_value", Period: time.Hour, From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 0 {
		t.Fatalf("expired series still answered: %+v", res.Series)
	}
}

func TestSampleNowIgnoresTimeGoingBack(t *testing.T) {
	s := newSynthetic(Config{})
	s.gauge.WithLabelValues("news").Set(1)
	s.m.SampleNow(t0.Add(time.Minute))
	s.m.SampleNow(t0)
	s.m.SampleNow(t0.Add(time.Minute))
	if st := s.m.HistoryStats(); st.Samples != 1 {
		t.Fatalf("%d samples", st.Samples)
	}
}

// TestColumnAgainstModel writes random sparse series and compares every
// read with a plain map.
func TestColumnAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []uint64{2, 3, 7, 16, 100} {
		var c column
		model := map[uint64]float64{}
		var k uint64
		for range 2000 {
			k += 1 + uint64(r.IntN(3))
			if r.IntN(10) == 0 {
				k += uint64(r.IntN(3 * int(n))) // a long gap
			}
			x := r.Float64()
			c.put(k, x, n)
			model[k] = x
			if uint64(len(c.v)) > n || uint64(cap(c.v)) > n {
				t.Fatalf("n=%d: column holds %d/%d values", n, len(c.v), cap(c.v))
			}
			for j := uint64(0); j <= k+2; j++ {
				got, ok := c.get(j, n)
				want, inModel := model[j]
				inModel = inModel && k-j < n
				if ok != inModel || (ok && got != want) {
					t.Fatalf("n=%d after writing %d: get(%d) = %v,%v; want %v,%v", n, k, j, got, ok, want, inModel)
				}
			}
		}
	}
}

func TestQueryErrorsNameTheParameter(t *testing.T) {
	m := New(Config{Now: func() time.Time { return t0 }})
	tests := []struct {
		q    Query
		path string
	}{
		{Query{}, "name"},
		{Query{Name: "bad name"}, "name"},
		{Query{Name: "sluice_jobs", Stat: "median"}, "stat"},
		{Query{Name: "sluice_jobs", Period: 15 * time.Second}, "period"},
		{Query{Name: "sluice_jobs", Period: 10 * time.Second, From: t0.Add(-30 * 24 * time.Hour)}, "period"},
		{Query{Name: "sluice_jobs", From: t0, To: t0.Add(-time.Hour)}, "to"},
		{Query{Name: "sluice_jobs", Labels: map[string]string{"a-b": "c"}}, "labels"},
	}
	for _, tt := range tests {
		_, err := m.Query(tt.q)
		var fe resource.FieldErrors
		if !errors.As(err, &fe) || !errors.Is(err, resource.ErrInvalid) {
			t.Errorf("%+v: error %v is not a field error", tt.q, err)
			continue
		}
		if fe[0].Path != tt.path {
			t.Errorf("%+v: error names %q, want %q (%v)", tt.q, fe[0].Path, tt.path, err)
		}
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(url.Values{
		"name": {"sluice_encoder_speed_ratio"}, "labels": {"channel:news,rendition:720p"},
		"stat": {"p90"}, "period": {"300"}, "from": {"2026-03-01T12:00:00Z"}, "to": {"1772370000"}, "rate": {"true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Query{
		Name: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "news", "rendition": "720p"},
		Stat: "p90", Period: 5 * time.Minute, From: t0, To: time.Unix(1772370000, 0).UTC(), Rate: true,
	}
	if fmt.Sprint(q) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", q, want)
	}
	if q, err := ParseQuery(url.Values{"name": {"x"}, "period": {"1m"}, "labels": {"channel=news"}}); err != nil || q.Period != time.Minute || q.Labels["channel"] != "news" {
		t.Fatalf("%+v %v", q, err)
	}
	for param, bad := range map[string]string{"period": "soon", "from": "yesterday", "to": "1e300", "labels": "channel", "rate": "maybe"} {
		_, err := ParseQuery(url.Values{"name": {"x"}, param: {bad}})
		var fe resource.FieldErrors
		if !errors.As(err, &fe) || fe[0].Path != param || !strings.Contains(err.Error(), param) {
			t.Errorf("%s=%s: %v", param, bad, err)
		}
	}
}

func TestQuantile(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{1, 2}, 1.9},
		{[]float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 9.1},
	} {
		if got := Quantile(0.9, tt.xs); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Quantile(0.9, %v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}
