package cli

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

func newAlarmsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alarms",
		Aliases: []string{"alarm"},
		Short:   "List alarms, show their state and history, silence and acknowledge them, export them as Prometheus rules",
	}
	cmd.AddCommand(kindCmds(g, kinds.Alarms())...)
	cmd.AddCommand(newAlarmsHistoryCmd(g), newAlarmsExportCmd(g), newAlarmsSilenceCmd(g), newAlarmsUnsilenceCmd(g), newAlarmsAckCmd(g))
	return cmd
}

func newAlarmsHistoryCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history ALARM",
		Short: "Show an alarm's state transitions, silences and acknowledgements, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit %d: use 1 to 1000", limit)
			}
			h, done, err := fetch[[]resource.AlarmChange](cmd.Context(), g, "/api/v1/alarms/"+url.PathEscape(args[0])+"/history?limit="+strconv.Itoa(limit))
			if done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "TIME\tWHAT\tFROM\tTO\tBY\tREASON")
			for _, ch := range h {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ch.At.Local().Format("2006-01-02 15:04:05"), dash(ch.Type), dash(string(ch.From)), ch.To, dash(ch.By), ch.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "how many transitions to show")
	return cmd
}

func newAlarmsExportCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the server's alarms as Prometheus alerting rules",
		Long: `Write every alarm on the server as an equivalent Prometheus alerting rule,
for teams that run their own Prometheus and Alertmanager. The file passes
'promtool check rules'. How each alarm maps (statistic, M of N periods,
missing data) is described in docs/observability.md.`,
		Example: `  sluice alarms export --format prometheus > sluice-rules.yml
  promtool check rules sluice-rules.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "prometheus" {
				return fmt.Errorf("--format %q: the only export format is prometheus", format)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var as []resource.Alarm
			if err := c.do(cmd.Context(), "GET", "/api/v1/alarms", nil, &as); err != nil {
				return err
			}
			data, err := alarm.ExportPrometheusRules(as)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = g.stdout.Write(data)
				return err
			}
			return os.WriteFile(out, data, 0o644) //nolint:gosec // a rules file is meant to be read by Prometheus
		},
	}
	cmd.Flags().StringVar(&format, "format", "prometheus", "export format (prometheus)")
	cmd.Flags().StringVar(&out, "file", "", "write to this file instead of standard output")
	return cmd
}

func newRulesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rules",
		Aliases: []string{"rule"},
		Short:   "List and inspect event rules (event pattern → actions)",
	}
	cmd.AddCommand(kindCmds(g, kinds.Rules())...)
	return cmd
}
