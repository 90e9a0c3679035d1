package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboard holds docs/grafana-dashboard.json to the metrics
// Sluice exports: it is valid JSON with panels, every sluice_ name it uses
// is an exported family (or a histogram's _bucket, _sum or _count), and
// promtool accepts every query as PromQL once Grafana's variables are
// filled in.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) < 10 {
		t.Fatalf("dashboard title %q, uid %q, %d panels", dash.Title, dash.UID, len(dash.Panels))
	}

	m := New(Config{})
	populate(m)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range fams {
		known[f.GetName()] = true
		if IsHistogram(f.GetName()) {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[f.GetName()+s] = true
			}
		}
	}
	name := regexp.MustCompile(`sluice_[a-z_]+`)
	fill := strings.NewReplacer("$__rate_interval", "1m", "$channel", ".*", "$input", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, used := range name.FindAllString(tg.Expr, -1) {
				if !known[used] {
					t.Errorf("panel %q uses %s, which Sluice does not export", p.Title, used)
				}
			}
			n++
			fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", n, fill.Replace(tg.Expr))
		}
	}

	promtool := lookTool(t, "promtool")
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool does not accept the dashboard's queries: %v\n%s", err, out)
	}
}
