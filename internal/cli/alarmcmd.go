package cli

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

func newAlarmsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alarms",
		Aliases: []string{"alarm"},
		Short:   "List alarms, show their state and history, export them as Prometheus rules",
	}
	cmd.AddCommand(newAlarmsListCmd(g), newAlarmsGetCmd(g), newAlarmsHistoryCmd(g), newAlarmsExportCmd(g))
	return cmd
}

func newAlarmsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List alarms with their state and condition",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, done, err := fetch[[]resource.Alarm](cmd.Context(), g, "/api/v1/alarms")
			if done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "NAME\tSTATE\tCONDITION\tSINCE\tSTACK")
			for _, a := range as {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.State, condition(a.AlarmSpec), ago(a.StateChangedAt), dash(a.Stack))
			}
			return tw.Flush()
		},
	}
}

func newAlarmsGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ALARM",
		Short: "Show an alarm: condition, state and reason, actions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, done, err := fetch[resource.Alarm](cmd.Context(), g, "/api/v1/alarms/"+url.PathEscape(args[0]))
			if done || err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
			p("Name", a.Name)
			p("ID", a.ID)
			p("Stack", dash(a.Stack))
			p("State", fmt.Sprintf("%s since %s", a.State, ago(a.StateChangedAt)))
			p("Reason", dash(a.StateReason))
			p("Condition", condition(a.AlarmSpec))
			p("Missing data", string(orMissing(a.TreatMissingData)))
			for _, x := range []struct {
				state   string
				actions []resource.Action
			}{{"ALARM", a.AlarmActions}, {"OK", a.OKActions}, {"INSUFFICIENT_DATA", a.InsufficientDataActions}} {
				for _, act := range x.actions {
					p("On "+x.state, describeAction(act))
				}
			}
			return w.Flush()
		},
	}
}

func newAlarmsHistoryCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history ALARM",
		Short: "Show an alarm's state transitions with their reasons, newest first",
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
			_, _ = fmt.Fprintln(tw, "TIME\tFROM\tTO\tREASON")
			for _, ch := range h {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.At.Local().Format("2006-01-02 15:04:05"), dash(string(ch.From)), ch.To, ch.Reason)
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
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List rules with what they match and how often they fired",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				rs, done, err := fetch[[]event.RuleStatus](cmd.Context(), g, "/api/v1/rules")
				if done || err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "NAME\tEVENT\tACTIONS\tFIRED\tSTACK")
				for _, r := range rs {
					var acts []string
					for _, a := range r.Actions {
						acts = append(acts, describeAction(a))
					}
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Name, pattern(r.RuleSpec), strings.Join(acts, "; "), r.Fired, dash(r.Stack))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get RULE",
			Short: "Show a rule, its actions and its last firing",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				r, done, err := fetch[event.RuleStatus](cmd.Context(), g, "/api/v1/rules/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
				p("Name", r.Name)
				p("ID", r.ID)
				p("Stack", dash(r.Stack))
				p("Event", pattern(r.RuleSpec))
				for _, a := range r.Actions {
					p("Action", describeAction(a))
				}
				p("Fired", fmt.Sprintf("%d times, last %s; %d suppressed by the rate limit", r.Fired, ago(r.LastFired), r.Suppressed))
				if r.LastError != "" {
					p("Last error", r.LastError)
				}
				return w.Flush()
			},
		},
	)
	return cmd
}

// condition says an alarm's condition in one line:
// "p90 of sluice_x{channel=news} > 2 over 3 of 5 periods of 1m0s".
func condition(a resource.AlarmSpec) string {
	return fmt.Sprintf("%s of %s %s %s for %d of %d periods of %s",
		a.Statistic, labelled(a.Metric, a.Labels), comparisonSign(a.Comparison),
		strconv.FormatFloat(a.Threshold, 'g', -1, 64), a.Datapoints(), a.EvaluationPeriods, a.Period())
}

func labelled(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func comparisonSign(c string) string {
	switch c {
	case resource.GreaterThanOrEqual:
		return ">="
	case resource.GreaterThan:
		return ">"
	case resource.LessThan:
		return "<"
	case resource.LessThanOrEqual:
		return "<="
	}
	return c
}

func orMissing(m resource.MissingData) resource.MissingData {
	if m == "" {
		return resource.MissingMissing
	}
	return m
}

// describeAction says what an action does.
func describeAction(a resource.Action) string {
	switch a.Type {
	case resource.ActionWebhook:
		s := "webhook " + a.URL
		if a.Secret != "" {
			s += " (signed)"
		}
		return s
	case resource.ActionStartChannel, resource.ActionStopChannel, resource.ActionRestartChannel:
		verb := strings.ToLower(strings.TrimSuffix(a.Type, "_CHANNEL"))
		if a.Channel == "" {
			return verb + " the channel of the event"
		}
		return verb + " channel " + a.Channel
	case resource.ActionSubmitJob:
		if a.Input == "" {
			return "submit the event's input to pipeline " + a.Pipeline
		}
		return "submit " + a.Input + " to pipeline " + a.Pipeline
	}
	return a.Type
}

// pattern says what events a rule matches: "channel.created where channel=news".
func pattern(r resource.RuleSpec) string {
	if len(r.Match) == 0 {
		return r.Event
	}
	return r.Event + " where " + strings.TrimSuffix(strings.TrimPrefix(labelled("", r.Match), "{"), "}")
}
