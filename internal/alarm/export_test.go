package alarm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func exportAlarms() []resource.Alarm {
	mk := func(name, metric, stat string, period, n, m int, cmp string, thr float64, missing resource.MissingData, labels map[string]string) resource.Alarm {
		return resource.Alarm{ID: name, AlarmSpec: resource.AlarmSpec{
			Name: name, Metric: metric, Labels: labels, Statistic: stat, PeriodSeconds: period,
			EvaluationPeriods: n, DatapointsToAlarm: m, Threshold: thr, Comparison: cmp, TreatMissingData: missing,
		}}
	}
	news := map[string]string{"channel": "news"}
	return []resource.Alarm{
		mk("encoder-slow", "sluice_encoder_speed_ratio", "avg", 60, 3, 3, resource.LessThan, 0.95, "", news),
		mk("fps-low", "sluice_encoder_frames_per_second", "min", 30, 5, 2, resource.LessThanOrEqual, 20, resource.MissingBreaching, news),
		mk("fps-high", "sluice_encoder_frames_per_second", "max", 10, 1, 0, resource.GreaterThan, 61, resource.MissingNotBreaching, nil),
		mk("dropping", "sluice_encoder_dropped_frames_total", "sum", 60, 2, 0, resource.GreaterThanOrEqual, 1, resource.MissingIgnore, news),
		mk("restarts", "sluice_encoder_restarts_total", "avg", 300, 1, 1, resource.GreaterThan, 0, "", news),
		mk("jobs-queued", "sluice_jobs", "count", 60, 3, 2, resource.GreaterThan, 5, "", map[string]string{"state": "SUBMITTED"}),
		mk("latency-p90", "sluice_packager_segment_availability_latency_seconds", "p90", 60, 3, 3, resource.GreaterThan, 2, resource.MissingBreaching, map[string]string{"channel": "news", "rendition": "720p"}),
		mk("latency-avg", "sluice_packager_segment_availability_latency_seconds", "avg", 60, 3, 3, resource.GreaterThan, 1.5, "", news),
		mk("latency-max", "sluice_origin_request_duration_seconds", "max", 3600, 24, 12, resource.GreaterThan, 5, "", map[string]string{"kind": `weird"{{value}}"`}),
		mk("origin-errors", "sluice_origin_requests_total", "p90", 60, 3, 3, resource.GreaterThan, 10, "", map[string]string{"status_class": "5xx"}),
	}
}

func TestExportPrometheusRules(t *testing.T) {
	out, err := ExportPrometheusRules(exportAlarms())
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		`- alert: "SluiceEncoderSlow"`,
		`expr: "avg_over_time(sluice_encoder_speed_ratio{channel=\"news\"}[1m]) < 0.95"`,
		`for: 2m`,
		`expr: "(min_over_time(sluice_encoder_frames_per_second{channel=\"news\"}[30s]) <= 20) or absent_over_time(sluice_encoder_frames_per_second{channel=\"news\"}[30s])"`,
		`for: 30s`,
		`expr: "max_over_time(sluice_encoder_frames_per_second[10s]) > 61"`,
		`expr: "sum_over_time(rate(sluice_encoder_dropped_frames_total{channel=\"news\"}[30s])[1m:10s]) >= 1"`,
		`expr: "rate(sluice_encoder_restarts_total{channel=\"news\"}[5m]) > 0"`,
		`expr: "(histogram_quantile(0.9, rate(sluice_packager_segment_availability_latency_seconds_bucket{channel=\"news\",rendition=\"720p\"}[1m])) > 2) or absent_over_time(sluice_packager_segment_availability_latency_seconds_count{channel=\"news\",rendition=\"720p\"}[1m])"`,
		`expr: "rate(sluice_packager_segment_availability_latency_seconds_sum{channel=\"news\"}[1m]) / rate(sluice_packager_segment_availability_latency_seconds_count{channel=\"news\"}[1m]) > 1.5"`,
		`for: 11h`,
		`expr: "quantile_over_time(0.9, rate(sluice_origin_requests_total{status_class=\"5xx\"}[30s])[1m:10s]) > 10"`,
		`alarm: "encoder-slow"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %s", want)
		}
	}
	if strings.Count(text, "- alert:") != len(exportAlarms()) {
		t.Errorf("not one rule per alarm:\n%s", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "{{value}}") && !strings.Contains(line, "expr:") {
			t.Errorf("a label value reached an annotation as a template: %s", line)
		}
	}
}

func TestExportPrometheusRulesPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("promtool is required (SLUICE_REQUIRE_TOOLS=1): %v", err)
		}
		t.Skip("promtool not found")
	}
	for name, alarms := range map[string][]resource.Alarm{"all": exportAlarms(), "none": nil} {
		out, err := ExportPrometheusRules(alarms)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".rules.yml")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool check rules %s: %v\n%s\n%s", name, err, res, out)
		}
	}
}

func TestExportRejectsWhatPrometheusCannotName(t *testing.T) {
	a := exportAlarms()[0]
	a.Metric = "sluice.speed"
	if _, err := ExportPrometheusRules([]resource.Alarm{a}); err == nil || !strings.Contains(err.Error(), "encoder-slow") {
		t.Fatalf("bad metric name: %v", err)
	}
	a = exportAlarms()[0]
	a.Labels = map[string]string{"chan-nel": "x"}
	if _, err := ExportPrometheusRules([]resource.Alarm{a}); err == nil {
		t.Fatal("bad label name accepted")
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[int]string{0: "0s", 10: "10s", 60: "1m", 90: "1m30s", 3600: "1h", 86400 + 60: "1d1m"} {
		if got := promDuration(secs(d)); got != want {
			t.Errorf("promDuration(%ds) = %s, want %s", d, got, want)
		}
	}
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }
