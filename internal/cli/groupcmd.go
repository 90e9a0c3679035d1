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
				gs, done, err := fetch[[]resource.SecurityGroup](cmd.Context(), g, "/api/v1/security-groups")
				if done || err != nil {
					return err
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
				sg, done, err := fetch[resource.SecurityGroup](cmd.Context(), g, "/api/v1/security-groups/"+url.PathEscape(args[0]))
				if done || err != nil {
					return err
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
