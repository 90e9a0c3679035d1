package cli

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/kinds"
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
	)
	cmd.AddCommand(kindCmds(g, kinds.Inputs())...)
	return cmd
}
