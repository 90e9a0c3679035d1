package alarm

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// counter reports whether a metric is a counter by the Prometheus naming
// conventions.
func counter(name string) bool {
	return strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum")
}

var promOps = map[string]string{
	resource.GreaterThanOrEqual: ">=",
	resource.GreaterThan:        ">",
	resource.LessThan:           "<",
	resource.LessThanOrEqual:    "<=",
}

// ExportPrometheusRules renders the alarms as a Prometheus alerting rules
// file, for running the same alarms in an existing Prometheus:
//
//   - the statistic over the period becomes avg_over_time, min_over_time,
//     max_over_time, sum_over_time, count_over_time or quantile_over_time
//     (0.9) over a range of one period; counters are taken as per-second
//     rates, as Sluice evaluates them, and histograms from their _sum,
//     _count and (for p90, a true quantile here) _bucket series;
//   - M of N becomes "for: (M-1) × period": Prometheus fires once the
//     condition has held that long, which is M consecutive breaching
//     periods rather than any M of N;
//   - treatMissingData breaching adds an absent_over_time clause; the other
//     treatments have no equivalent, and an alert without data is simply
//     not firing.
//
// The rules carry the labels alarm and severity="warning" and annotations
// summary and description.
func ExportPrometheusRules(alarms []resource.Alarm) ([]byte, error) {
	sorted := append([]resource.Alarm(nil), alarms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	b.WriteString("# Sluice alarms as Prometheus alerting rules.\n")
	b.WriteString("groups:\n  - name: sluice-alarms\n    rules:")
	if len(sorted) == 0 {
		b.WriteString(" []\n")
		return b.Bytes(), nil
	}
	b.WriteString("\n")
	for _, a := range sorted {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("alarm %s: %w", a.Name, err)
		}
		expr, err := promExpr(&a.AlarmSpec)
		if err != nil {
			return nil, fmt.Errorf("alarm %s: %w", a.Name, err)
		}
		m := a.Datapoints()
		fmt.Fprintf(&b, "      - alert: %s\n", yamlString(alertName(a.Name)))
		fmt.Fprintf(&b, "        expr: %s\n", yamlString(expr))
		if m > 1 {
			fmt.Fprintf(&b, "        for: %s\n", promDuration(time.Duration(m-1)*a.Period()))
		}
		b.WriteString("        labels:\n")
		fmt.Fprintf(&b, "          alarm: %s\n", yamlString(a.Name))
		b.WriteString("          severity: warning\n")
		b.WriteString("        annotations:\n")
		summary := fmt.Sprintf("%s: %s of %s %s %s", a.Name, a.Statistic, a.Metric, comparisonWords[a.Comparison], formatValue(a.Threshold))
		desc := fmt.Sprintf("The %s of %s over %s was %s the threshold %s for %d of %d periods",
			a.Statistic, selector(a.Metric, a.Labels), promDuration(a.Period()), comparisonWords[a.Comparison], formatValue(a.Threshold), m, a.EvaluationPeriods)
		fmt.Fprintf(&b, "          summary: %s\n", yamlString(noTemplate(summary)))
		fmt.Fprintf(&b, "          description: %s\n", yamlString(noTemplate(desc)+" (value {{ $value }})."))
	}
	return b.Bytes(), nil
}

// promExpr renders the alarm's condition in PromQL.
func promExpr(a *resource.AlarmSpec) (string, error) {
	if !metrics.ValidMetricName(a.Metric) {
		return "", fmt.Errorf("metric %q is not a Prometheus metric name", a.Metric)
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		if !metrics.ValidLabelName(k) {
			return "", fmt.Errorf("label %q is not a Prometheus label name", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var matchers []string
	for _, k := range keys {
		matchers = append(matchers, k+"="+strconv.Quote(a.Labels[k]))
	}
	sel := func(name string) string {
		if len(matchers) == 0 {
			return name
		}
		return name + "{" + strings.Join(matchers, ",") + "}"
	}
	p := promDuration(a.Period())
	overTime := func(inner string) string {
		switch a.Statistic {
		case "p90":
			return "quantile_over_time(0.9, " + inner + ")"
		default:
			return a.Statistic + "_over_time(" + inner + ")"
		}
	}
	var q string
	switch {
	case metrics.IsHistogram(a.Metric):
		sum, count := sel(a.Metric+"_sum"), sel(a.Metric+"_count")
		switch a.Statistic {
		case "avg":
			q = "rate(" + sum + "[" + p + "]) / rate(" + count + "[" + p + "])"
		case "sum":
			q = "increase(" + sum + "[" + p + "])"
		case "count":
			q = "increase(" + count + "[" + p + "])"
		case "p90":
			q = "histogram_quantile(0.9, rate(" + sel(a.Metric+"_bucket") + "[" + p + "]))"
		default:
			q = overTime("(rate(" + sum + "[30s]) / rate(" + count + "[30s]))[" + p + ":10s]")
		}
	case counter(a.Metric):
		if a.Statistic == "avg" {
			q = "rate(" + sel(a.Metric) + "[" + p + "])"
		} else {
			q = overTime("rate(" + sel(a.Metric) + "[30s])[" + p + ":10s]")
		}
	default:
		q = overTime(sel(a.Metric) + "[" + p + "]")
	}
	expr := q + " " + promOps[a.Comparison] + " " + strconv.FormatFloat(a.Threshold, 'g', -1, 64)
	if a.TreatMissingData == resource.MissingBreaching {
		present := sel(a.Metric)
		if metrics.IsHistogram(a.Metric) {
			present = sel(a.Metric + "_count")
		}
		expr = "(" + expr + ") or absent_over_time(" + present + "[" + p + "])"
	}
	return expr, nil
}

// alertName turns a Sluice alarm name (a DNS label) into a Prometheus
// alert name: "encoder-slow" becomes "SluiceEncoderSlow".
func alertName(name string) string {
	var b strings.Builder
	b.WriteString("Sluice")
	up := true
	for _, r := range name {
		switch {
		case r == '-' || r == '_' || r == '.':
			up = true
		case up && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			up = false
		default:
			b.WriteRune(r)
			up = false
		}
	}
	return b.String()
}

// promDuration renders a duration in Prometheus's notation: 1h30m, 90s.
func promDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n      int64
		suffix string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			b.WriteString(strconv.FormatInt(s/u.n, 10) + u.suffix)
			s %= u.n
		}
	}
	return b.String()
}

// yamlString quotes a string for YAML: Go's quoted form is a valid YAML
// double-quoted scalar.
func yamlString(s string) string { return strconv.Quote(s) }

// noTemplate keeps user text from being read as a template by Prometheus,
// which expands annotations.
func noTemplate(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "{{", "{ {"), "}}", "} }")
}
