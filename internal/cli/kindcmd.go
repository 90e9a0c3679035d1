package cli

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/kinds"
)

// kindCmds builds a resource kind's list and get commands from its
// description: the list prints the kind's columns, the get its fields (or
// the resource as JSON when the kind shows none); -o json prints what the
// API answered either way.
func kindCmds[R, S, W any](g *globals, d kinds.Desc[R, S, W]) []*cobra.Command {
	v := d.View
	collection := "/api/v1/" + d.Path
	list := &cobra.Command{
		Use:   "list",
		Short: v.ListHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, done, err := fetch[[]R](cmd.Context(), g, collection)
			if done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			cells := make([]string, len(v.Columns))
			for i, c := range v.Columns {
				cells[i] = c.Title
			}
			_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t"))
			for _, r := range all {
				for i, c := range v.Columns {
					cells[i] = c.Value(r)
				}
				_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t"))
			}
			return tw.Flush()
		},
	}
	get := &cobra.Command{
		Use:   "get " + v.Arg,
		Short: v.GetHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, done, err := fetch[R](cmd.Context(), g, collection+"/"+url.PathEscape(args[0]))
			if done || err != nil {
				return err
			}
			if v.Detail == nil {
				return g.printJSON(r)
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			for _, f := range v.Detail(r, g.server) {
				_, _ = fmt.Fprintf(w, "%s:\t%s\n", f.Key, f.Value)
			}
			return w.Flush()
		},
	}
	return []*cobra.Command{list, get}
}
