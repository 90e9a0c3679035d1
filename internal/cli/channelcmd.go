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

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

func newChannelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "channel",
		Aliases: []string{"channels"},
		Short:   "List, inspect, start, stop, restart and delete channels",
	}
	cmd.AddCommand(
		g.channelActionCmd("start", "Start a channel (queued if it is still being created)", "/start", resource.StateRunning),
		g.channelActionCmd("stop", "Stop a channel", "/stop", resource.StateIdle),
		g.channelActionCmd("restart", "Restart a channel: stop it and start it again on the node that holds it, as one command", "/restart", resource.StateRunning),
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
	cmd.AddCommand(kindCmds(g, kinds.Channels())...)
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orJSON(g *globals, err error, v any) error {
	if err != nil {
		return err
	}
	return g.printJSON(v)
}
