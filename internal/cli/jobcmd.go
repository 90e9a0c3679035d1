package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/vod"
)

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "job",
		Aliases: []string{"jobs"},
		Short:   "Submit, follow and cancel on-demand transcoding jobs",
	}
	var req vod.SubmitRequest
	var watch bool
	submit := &cobra.Command{
		Use:   "submit INPUT",
		Short: "Submit a job for a file in a pipeline's input (--watch follows it)",
		Long: `submit queues a transcoding job for INPUT, a key (path) inside the pipeline's
input folder or bucket. Without --preset the pipeline's presets apply. With
--watch a progress bar follows the job until it ends; the command fails when
the job ends in ERROR or CANCELED.`,
		Example: `  sluice job submit show/ep1.mp4 --watch
  sluice job submit ep1.mp4 --pipeline uploads --preset system-abr --preset system-thumbnails`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			req.Input = args[0]
			var j vod.Job
			if err := c.do(cmd.Context(), "POST", "/api/v1/jobs", req, &j); err != nil {
				return err
			}
			if !watch {
				if asJSON, err := g.wantJSON(); err != nil || asJSON {
					return orJSON(g, err, j)
				}
				_, _ = fmt.Fprintf(g.stdout, "job %s submitted\n", j.ID)
				return nil
			}
			_, _ = fmt.Fprintf(g.stderr, "job %s submitted\n", j.ID)
			return watchJob(cmd.Context(), g, c, j.ID, 500*time.Millisecond)
		},
	}
	submit.Flags().StringVar(&req.Pipeline, "pipeline", "", "pipeline (default: the default pipeline, folders in the data directory)")
	submit.Flags().StringArrayVar(&req.Presets, "preset", nil, "preset to apply (repeatable; default: the pipeline's)")
	submit.Flags().StringVar(&req.Output, "output-prefix", "", "key prefix of the outputs (default: the input's name and the job id)")
	submit.Flags().BoolVar(&watch, "watch", false, "follow the job with a progress bar until it ends")

	var state string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the newest jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if state != "" {
				q.Set("state", strings.ToUpper(state))
			}
			q.Set("limit", fmt.Sprint(limit))
			jobs, done, err := fetch[[]vod.Job](cmd.Context(), g, "/api/v1/jobs?"+q.Encode())
			if done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "ID\tPIPELINE\tINPUT\tSTATE\tPHASE\tPROGRESS\tCREATED\tERROR")
			for _, j := range jobs {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", j.ID, j.Pipeline, j.Input, j.State, dash(j.Phase), j.Percent, j.Created.Local().Format(time.DateTime), dash(j.Error))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&state, "state", "", "only jobs in this state (SUBMITTED, PROGRESSING, COMPLETE, ERROR, CANCELED)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many jobs")

	cmd.AddCommand(submit, list,
		&cobra.Command{
			Use:   "get JOB",
			Short: "Show a job with its phase, error and log",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				j, done, err := fetch[vod.Job](cmd.Context(), g, "/api/v1/jobs/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
				}
				printJob(g.stdout, j)
				return nil
			},
		},
		&cobra.Command{
			Use:   "cancel JOB",
			Short: "Cancel a job that has not finished (a running encoder stops)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var j vod.Job
				if err := c.do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/cancel", nil, &j); err != nil {
					return err
				}
				_, _ = fmt.Fprintf(g.stdout, "job %s: %s\n", j.ID, j.State)
				return nil
			},
		},
	)
	return cmd
}

func printJob(w io.Writer, j vod.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintf(tw, "ID:\t%s\nPipeline:\t%s\nInput:\t%s\nPresets:\t%s\nOutput:\t%s\nState:\t%s\n", j.ID, j.Pipeline, j.Input, strings.Join(j.Presets, ", "), j.Output, j.State)
	if j.State == vod.StateProgressing {
		_, _ = fmt.Fprintf(tw, "Phase:\t%s %d%%\n", j.Phase, j.Percent)
	}
	if j.Error != "" {
		_, _ = fmt.Fprintf(tw, "Error:\t%s\n", j.Error)
	}
	_, _ = fmt.Fprintf(tw, "Attempts:\t%d\nCreated:\t%s\n", j.Attempts, j.Created.Local().Format(time.DateTime))
	if !j.Finished.IsZero() {
		_, _ = fmt.Fprintf(tw, "Finished:\t%s (%s)\n", j.Finished.Local().Format(time.DateTime), j.Finished.Sub(j.Created).Round(100*time.Millisecond))
	}
	_ = tw.Flush()
	if j.Log != "" {
		_, _ = fmt.Fprintf(w, "\nLog:\n%s", j.Log)
	}
}

// watchJob draws a progress bar on stderr until the job ends.
func watchJob(ctx context.Context, g *globals, c *client, id string, every time.Duration) error {
	last := ""
	for {
		var j vod.Job
		if err := c.do(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id), nil, &j); err != nil {
			return err
		}
		line := progressLine(j)
		if line != last {
			_, _ = fmt.Fprintf(g.stderr, "\r%-72s", line)
			last = line
		}
		if j.Terminal() {
			_, _ = fmt.Fprintln(g.stderr)
			switch j.State {
			case vod.StateComplete:
				_, _ = fmt.Fprintf(g.stdout, "job %s COMPLETE: outputs under %s\n", j.ID, j.Output)
				return nil
			case vod.StateError:
				return fmt.Errorf("job %s failed: %s", j.ID, j.Error)
			default:
				return fmt.Errorf("job %s was canceled", j.ID)
			}
		}
		select {
		case <-ctx.Done():
			_, _ = fmt.Fprintln(g.stderr)
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// progressLine renders "[#########-----------]  45% TRANSCODING".
func progressLine(j vod.Job) string {
	const width = 30
	pct := max(0, min(100, j.Percent))
	filled := pct * width / 100
	label := j.State
	if j.State == vod.StateProgressing {
		label = j.Phase
	}
	return fmt.Sprintf("[%s%s] %3d%% %s", strings.Repeat("#", filled), strings.Repeat("-", width-filled), pct, label)
}

func newPresetCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "preset", Aliases: []string{"presets"}, Short: "List and inspect transcoding presets"}
	cmd.AddCommand(kindCmds(g, kinds.Presets())...)
	return cmd
}

func newPipelineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pipeline", Aliases: []string{"pipelines"}, Short: "List and inspect transcoding pipelines"}
	cmd.AddCommand(kindCmds(g, kinds.Pipelines())...)
	return cmd
}
