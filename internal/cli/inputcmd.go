package cli

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

func newInputCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "input",
		Aliases: []string{"inputs"},
		Short:   "List and inspect inputs",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "rotate-key INPUT",
			Short: "Give a push input a new stream key (its publisher is disconnected)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var in resource.Input
				if err := c.do(cmd.Context(), "POST", "/api/v1/inputs/"+url.PathEscape(args[0])+"/rotate-key", nil, &in); err != nil {
					return err
				}
				if j, err := g.wantJSON(); err != nil || j {
					return orJSON(g, err, in)
				}
				_, _ = fmt.Fprintf(g.stdout, "input %s: new stream key %s\n", in.Name, in.StreamKey)
				for _, e := range in.Endpoints {
					_, _ = fmt.Fprintln(g.stdout, "publish to", e)
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List inputs and the channels they are attached to",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ins, done, err := fetch[[]resource.Input](cmd.Context(), g, "/api/v1/inputs")
				if done || err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "NAME\tTYPE\tSTATE\tSOURCE\tCHANNELS\tSTACK")
				for _, in := range ins {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Type, in.State, source(in), dash(strings.Join(in.AttachedChannels, ",")), dash(in.Stack))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get INPUT",
			Short: "Show an input",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				in, done, err := fetch[resource.Input](cmd.Context(), g, "/api/v1/inputs/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
				p("Name", in.Name)
				p("ID", in.ID)
				p("Type", string(in.Type))
				p("Source", source(in))
				p("State", string(in.State))
				p("Channels", dash(strings.Join(in.AttachedChannels, ", ")))
				p("Stack", dash(in.Stack))
				if len(in.SecurityGroups) > 0 {
					p("Security groups", strings.Join(in.SecurityGroups, ", "))
				}
				if in.StreamKey != "" {
					p("Stream key", in.StreamKey)
				}
				for _, e := range in.Endpoints {
					p("Publish to", e)
				}
				if l := in.Live; l != nil {
					p("Publisher", describeLive(*l))
					p("Received", fmt.Sprintf("%d frames, %d bytes, %s in; %d connections refused", l.FramesReceived, l.BytesReceived, resource.Bitrate(l.BitrateIn), l.Refused))
					if l.LastPublisher != "" {
						p("Last publisher", l.LastPublisher+" ("+l.LastEndReason+")")
					}
				}
				return w.Flush()
			},
		},
	)
	return cmd
}

func source(in resource.Input) string {
	switch {
	case in.Type == resource.InputTestPattern:
		p := in.TestPattern.WithDefaults()
		return fmt.Sprintf("colour bars %dx%d@%g, %d Hz tone", p.Width, p.Height, p.FPS, p.ToneHz)
	case in.Type.IsPush():
		if in.Live != nil && in.Live.Connected {
			return "connected: " + in.Live.Publisher
		}
		return "waiting for a publisher"
	}
	return in.URL
}

// describeLive says who publishes and what.
func describeLive(l resource.LiveStatus) string {
	if !l.Connected {
		return fmt.Sprintf("not connected (%.0f s since the last media)", l.SinceLastMedia)
	}
	return fmt.Sprintf("connected from %s over %s since %s: %s %dx%d, %s",
		l.Publisher, l.Protocol, l.Since.Local().Format("15:04:05"), l.Video, l.Width, l.Height, dash(l.Audio))
}
