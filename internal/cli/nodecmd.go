package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

// newNodeCmd is `sluice node`: the nodes of a server's cluster, read-only
// (a node joins by starting and leaves by stopping).
func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "node",
		Aliases: []string{"nodes"},
		Short:   "Show the nodes of the cluster the server belongs to",
		Long: `Every 'sluice serve' on one PostgreSQL database is a node of one cluster;
a server on SQLite is a cluster of one. A node joins when it starts, renews
its heartbeat every 2 s and says goodbye when it stops cleanly. The list
shows each node's state (LIVE, LOST when its heartbeat stopped without a
goodbye, STOPPED after one), the channels it holds, its load against its
--max-channels, the age of its last heartbeat on the database's clock, and
whether the answering node reaches its advertised URL.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the nodes with their channels, load and last heartbeat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nodes, done, err := fetch[[]resource.Node](cmd.Context(), g, "/api/v1/nodes")
			if done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "ID\tSTATE\tADVERTISE\tLOAD\tHEARTBEAT\tREACHABLE\tVERSION\tCHANNELS")
			for _, n := range nodes {
				id := n.ID
				if n.Self {
					id += " (this)"
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s ago\t%s\t%s\t%s\n", id, n.State, n.Advertise, n.Load, n.MaxChannels,
					(time.Duration(n.HeartbeatAgeSeconds * float64(time.Second))).Round(100*time.Millisecond), reachability(n), dash(n.Version),
					dash(strings.Join(n.Channels, ", ")))
			}
			return tw.Flush()
		},
	})
	return cmd
}

// reachability says whether the answering node reached a node.
func reachability(n resource.Node) string {
	switch {
	case n.Self:
		return "-"
	case n.Reachability == nil:
		return "not checked"
	case n.Reachability.Reachable:
		return "yes"
	}
	return "no: " + n.Reachability.Error
}
