package cli

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/resource"
)

func newDistributionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "distribution",
		Aliases: []string{"distributions", "dist"},
		Short:   "List and inspect distributions: the caching edges the server runs",
		Long: `A distribution is a caching edge the server runs on its own listen address,
in front of an origin (usually the server itself) or another edge. Declare
distributions in a stack file and apply it; these commands show them.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List distributions and whether their edges serve",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ds, done, err := fetch[[]resource.Distribution](cmd.Context(), g, "/api/v1/distributions")
				if done || err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "NAME\tLISTEN\tSTATE\tORIGINS\tSIGNED\tSTACK")
				for _, d := range ds {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Listen, d.State, strings.Join(d.Origins, ","), yesNo(d.RequireSignedURLs), dash(d.Stack))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get DISTRIBUTION",
			Short: "Show a distribution",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				d, done, err := fetch[resource.Distribution](cmd.Context(), g, "/api/v1/distributions/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
				p("Name", d.Name)
				p("ID", d.ID)
				p("Listen", d.Listen)
				p("State", string(d.State)+" ("+d.StateReason+")")
				for i, o := range d.Origins {
					role := "primary"
					if i > 0 {
						role = "secondary"
					}
					p("Origin", o+" ("+role+")")
				}
				p("Memory tier", fmt.Sprintf("%d MiB", orDefault(d.MemoryMB, resource.DefaultEdgeMemoryMB)))
				if d.DiskMB > 0 {
					p("Disk tier", fmt.Sprintf("%d MiB in %s", d.DiskMB, d.DiskDir))
				}
				p("Stale if error", fmt.Sprintf("%d s", int(d.StaleIfError()/time.Second)))
				p("Signed URLs", yesNo(d.RequireSignedURLs))
				p("Stack", dash(d.Stack))
				return w.Flush()
			},
		},
		&cobra.Command{
			Use:   "stats DISTRIBUTION",
			Short: "Show a distribution's requests, cache results, origin latency and errors",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, done, err := fetch[distribution.Stats](cmd.Context(), g, "/api/v1/distributions/"+url.PathEscape(args[0])+"/stats")
				if done || err != nil {
					return err
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
				p("Distribution", s.Name+" on "+s.Address+" since "+s.Since.Local().Format("2006-01-02 15:04:05"))
				p("Requests", fmt.Sprintf("%d (%d bytes sent)", s.Requests, s.BytesOut))
				p("Cache", fmt.Sprintf("%d hits, %d misses, %d collapsed, %d stale (hit ratio %.1f%%)", s.Hits, s.Misses, s.Collapsed, s.Stale, 100*s.HitRatio))
				p("Responses", fmt.Sprintf("2xx %d, 3xx %d, 4xx %d, 5xx %d", s.Responses.Status2xx, s.Responses.Status3xx, s.Responses.Status4xx, s.Responses.Status5xx))
				p("Origin requests", fmt.Sprintf("%d (%d failed), mean %.1f ms, max %.1f ms", s.OriginRequests, s.OriginErrors, 1000*s.OriginLatency.MeanSeconds, 1000*s.OriginLatency.MaxSeconds))
				p("Memory tier", fmt.Sprintf("%d objects, %d bytes", s.Memory.Objects, s.Memory.Bytes))
				if s.Disk.Objects > 0 || s.Disk.Bytes > 0 {
					p("Disk tier", fmt.Sprintf("%d objects, %d bytes", s.Disk.Objects, s.Disk.Bytes))
				}
				p("In flight", fmt.Sprint(s.InFlight))
				for _, o := range s.Origins {
					health := "healthy"
					if !o.Healthy {
						health = "unhealthy: " + o.LastError
					}
					p("Origin "+o.URL, fmt.Sprintf("%s, %d requests, %d failed", health, o.Requests, o.Errors))
				}
				return w.Flush()
			},
		},
	)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
