package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

func newHarvestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "harvest",
		Aliases: []string{"harvest-jobs"},
		Short:   "Turn a range of a channel's DVR window into a VOD package",
		Long: `A harvest job copies the segments of a time range of a channel endpoint's
DVR window (the endpoint needs dvrWindowSeconds) into a VOD package with HLS
playlists and a DASH MPD, without re-encoding. The package is served at
/harvest/<destination>/index.m3u8 and /harvest/<destination>/manifest.mpd.`,
	}
	var spec resource.HarvestSpec
	var wait bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Submit a harvest job",
		Example: `  sluice harvest create --channel news --endpoint hls \
    --start 2026-11-22T19:00:00Z --end 2026-11-22T19:05:00Z --destination news/evening --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var j resource.HarvestJob
			if err := c.do(cmd.Context(), "POST", "/api/v1/harvest-jobs", spec, &j); err != nil {
				return err
			}
			for wait && (j.State == resource.HarvestSubmitted || j.State == resource.HarvestProgressing) {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(500 * time.Millisecond):
				}
				if err := c.do(cmd.Context(), "GET", "/api/v1/harvest-jobs/"+url.PathEscape(j.ID), nil, &j); err != nil {
					return err
				}
			}
			if wait && j.State == resource.HarvestError {
				return fmt.Errorf("harvest job %s failed: %s", j.ID, j.Message)
			}
			return printHarvestJob(g, j)
		},
	}
	f := create.Flags()
	f.StringVar(&spec.Channel, "channel", "", "channel name (required)")
	f.StringVar(&spec.Endpoint, "endpoint", "", "endpoint (output group) name with a DVR window (required)")
	f.StringVar(&spec.Start, "start", "", "start of the range: RFC 3339 or epoch seconds (required)")
	f.StringVar(&spec.End, "end", "", "end of the range: RFC 3339 or epoch seconds (required)")
	f.StringVar(&spec.Destination, "destination", "", "directory of the package under the server's harvest directory (default: the job ID)")
	f.BoolVar(&wait, "wait", false, "wait until the job is COMPLETE or ERROR")
	cmd.AddCommand(create,
		&cobra.Command{
			Use:   "list",
			Short: "List harvest jobs, newest first",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var js []resource.HarvestJob
				if err := c.do(cmd.Context(), "GET", "/api/v1/harvest-jobs", nil, &js); err != nil {
					return err
				}
				if j, err := g.wantJSON(); err != nil || j {
					return orJSON(g, err, js)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "ID\tCHANNEL\tENDPOINT\tSTART\tEND\tSTATE\tSEGMENTS\tDESTINATION")
				for _, j := range js {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.ID, j.Channel, j.Endpoint, j.Start, j.End, j.State, j.Segments, j.Destination)
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get JOB",
			Short: "Show a harvest job",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var j resource.HarvestJob
				if err := c.do(cmd.Context(), "GET", "/api/v1/harvest-jobs/"+url.PathEscape(args[0]), nil, &j); err != nil {
					return err
				}
				return printHarvestJob(g, j)
			},
		},
	)
	return cmd
}

func printHarvestJob(g *globals, j resource.HarvestJob) error {
	if js, err := g.wantJSON(); err != nil || js {
		return orJSON(g, err, j)
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	p("ID", j.ID)
	p("Channel", j.Channel+" / "+j.Endpoint)
	p("Range", j.Start+" to "+j.End)
	p("State", string(j.State))
	if j.Message != "" {
		p("Message", j.Message)
	}
	p("Destination", j.Destination)
	if j.State == resource.HarvestComplete {
		p("Package", fmt.Sprintf("%d segments, %.3f s", j.Segments, j.DurationSeconds))
		p("HLS", j.HLS)
		p("DASH", j.DASH)
	}
	return w.Flush()
}
