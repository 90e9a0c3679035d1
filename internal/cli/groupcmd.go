package cli

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

// newSecurityGroupCmd lists and shows input security groups: who may
// publish to the push inputs each group is attached to.
func newSecurityGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "security-group",
		Aliases: []string{"security-groups", "sg"},
		Short:   "List and inspect input security groups (CIDR allow lists for push inputs)",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List security groups, their allow lists and the inputs they guard",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var gs []resource.SecurityGroup
				if err := c.do(cmd.Context(), "GET", "/api/v1/security-groups", nil, &gs); err != nil {
					return err
				}
				if j, err := g.wantJSON(); err != nil || j {
					return orJSON(g, err, gs)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				_, _ = fmt.Fprintln(tw, "NAME\tALLOW\tINPUTS\tSTACK")
				for _, sg := range gs {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sg.Name, strings.Join(sg.Allow, ","), dash(strings.Join(sg.Inputs, ",")), dash(sg.Stack))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "get GROUP",
			Short: "Show a security group",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var sg resource.SecurityGroup
				if err := c.do(cmd.Context(), "GET", "/api/v1/security-groups/"+url.PathEscape(args[0]), nil, &sg); err != nil {
					return err
				}
				if j, err := g.wantJSON(); err != nil || j {
					return orJSON(g, err, sg)
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				p := func(k, v string) { _, _ = fmt.Fprintf(w, "%s:\t%s\n", k, v) }
				p("Name", sg.Name)
				p("ID", sg.ID)
				p("Stack", dash(sg.Stack))
				for _, a := range sg.Allow {
					p("Allow", a)
				}
				p("Inputs", dash(strings.Join(sg.Inputs, ", ")))
				p("Updated", ago(sg.UpdatedAt))
				return w.Flush()
			},
		},
	)
	return cmd
}
