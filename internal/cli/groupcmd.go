package cli

import (
	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/kinds"
)

// newSecurityGroupCmd lists and shows input security groups: who may
// publish to the push inputs each group is attached to.
func newSecurityGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "security-group",
		Aliases: []string{"security-groups", "sg"},
		Short:   "List and inspect input security groups (CIDR allow lists for push inputs)",
	}
	cmd.AddCommand(kindCmds(g, kinds.SecurityGroups())...)
	return cmd
}
