package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

func newChannelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "channel",
		Aliases: []string{"channels"},
		Short:   "List, inspect, start, stop and delete channels",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List channels with their state",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				chs, done, err := fetch[[]resource.Channel](cmd.Context(), g, "/api/v1/channels")
				if done || err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "NAME\tSTATE\tINPUT\tLADDER\tSTACK\tSINCE")
				for _, ch := range chs {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ch.Name, ch.State, attachment(ch), ladder(ch), dash(ch.Stack), ago(ch.StateChangedAt))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get CHANNEL",
			Short: "Show a channel: settings, state, encoder status and endpoint URLs",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ch, done, err := fetch[resource.Channel](cmd.Context(), g, "/api/v1/channels/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
				}
				g.describeChannel(ch)
				return nil
			},
		},
		g.channelActionCmd("start", "Start a channel (queued if it is still being created)", "/start", resource.StateRunning),
		g.channelActionCmd("stop", "Stop a channel", "/stop", resource.StateIdle),
		g.channelActionCmd("delete", "Delete a channel, stopping it first if it runs", "", resource.StateDeleted),
		&cobra.Command{
			Use:   "history CHANNEL",
			Short: "Show a channel's state changes with their times and reasons",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				hist, done, err := fetch[[]resource.StateChange](cmd.Context(), g, "/api/v1/channels/"+url.PathEscape(args[0])+"/history")
				if done || err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "TIME\tFROM\tTO\tREASON")
				for _, h := range hist {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.At.Local().Format("2006-01-02 15:04:05.000"), dash(string(h.From)), h.To, h.Reason)
				}
				return tw.Flush()
			},
		},
	)
	return cmd
}

// channelActionCmd builds start, stop and delete; --wait follows the state
// until the channel reaches the target.
func (g *globals) channelActionCmd(name, short, suffix string, target resource.ChannelState) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   name + " CHANNEL",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			path := "/api/v1/channels/" + url.PathEscape(args[0])
			method := "POST"
			if suffix == "" {
				method = "DELETE"
			}
			var ch resource.Channel
			if err := c.do(cmd.Context(), method, path+suffix, nil, &ch); err != nil {
				return err
			}
			_, _ = fmt.Fprintf(g.stdout, "channel %s: %s (%s)\n", ch.Name, ch.State, ch.StateReason)
			if !wait {
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return g.waitFor(ctx, c, path, ch, target)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the channel is "+strings.ToLower(string(target))+", printing each state")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits")
	return cmd
}

func (g *globals) waitFor(ctx context.Context, c *client, path string, ch resource.Channel, target resource.ChannelState) error {
	last := ch.State
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ch.State != target {
		select {
		case <-ctx.Done():
			return fmt.Errorf("channel %s is %s, not %s, after waiting: %w", ch.Name, ch.State, target, ctx.Err())
		case <-tick.C:
		}
		err := c.do(ctx, "GET", path, nil, &ch)
		var ae *apiError
		if target == resource.StateDeleted && errors.As(err, &ae) && ae.Status == 404 {
			_, _ = fmt.Fprintf(g.stdout, "channel deleted\n")
			return nil
		}
		if err != nil {
			return err
		}
		if ch.State != last {
			_, _ = fmt.Fprintf(g.stdout, "channel %s: %s (%s)\n", ch.Name, ch.State, ch.StateReason)
			last = ch.State
		}
		if ch.State == resource.StateFailed || ch.State == resource.StateCreateFailed {
			return fmt.Errorf("channel %s %s: %s", ch.Name, strings.ToLower(strings.ReplaceAll(string(ch.State), "_", " ")), ch.LastError)
		}
	}
	return nil
}

func (g *globals) describeChannel(ch resource.Channel) {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	p("Name", ch.Name)
	p("ID", ch.ID)
	p("Stack", dash(ch.Stack))
	p("State", fmt.Sprintf("%s since %s (%s)", ch.State, ago(ch.StateChangedAt), ch.StateReason))
	if ch.LastError != "" {
		p("Last error", ch.LastError)
	}
	p("Input", attachment(ch))
	p("Ladder", ladder(ch))
	p("Segment", ch.Segment().String())
	p("Auto start", fmt.Sprint(ch.AutoStart))
	if st := ch.Pipeline; st != nil {
		p("Encoder", fmt.Sprintf("speed %.2fx, %.1f fps, %d frames, %d dropped, %d duplicated, %d segments, %d restarts",
			st.Speed, st.FPS, st.Frames, st.DroppedFrames, st.DupFrames, st.Segments, st.Restarts))
	}
	for _, e := range ch.Endpoints {
		p("Endpoint "+e.Name, fmt.Sprintf("%s %s", e.Type, strings.TrimRight(g.server, "/")+e.URL))
	}
	p("Player", strings.TrimRight(g.server, "/")+"/play/"+ch.Name)
	_ = w.Flush()
}

func attachment(ch resource.Channel) string {
	var parts []string
	for _, a := range ch.InputAttachments {
		switch {
		case a.SecondaryInput != "":
			// A failover pair is made of live inputs, which have no end.
			parts = append(parts, fmt.Sprintf("%s, failing over to %s", a.Input, a.SecondaryInput))
		case a.SourceEndBehavior != "":
			parts = append(parts, fmt.Sprintf("%s (%s at the end)", a.Input, a.SourceEndBehavior))
		default:
			parts = append(parts, a.Input)
		}
	}
	return dash(strings.Join(parts, ", "))
}

func ladder(ch resource.Channel) string {
	if ch.Encoder.Ladder != "" {
		return ch.Encoder.Ladder
	}
	var rungs []string
	for _, v := range ch.Encoder.Video {
		rungs = append(rungs, v.Name)
	}
	return dash(strings.Join(rungs, "/"))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Round(time.Second)
	return t.Local().Format("15:04:05") + " (" + d.String() + " ago)"
}

func orJSON(g *globals, err error, v any) error {
	if err != nil {
		return err
	}
	return g.printJSON(v)
}
