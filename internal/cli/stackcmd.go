package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/config"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/stack"
)

func newApplyCmd(g *globals) *cobra.Command {
	return newStackFileCmd(g, &cobra.Command{
		Use:   "apply -f STACK.yaml",
		Short: "Converge the server to a stack file (create, update, delete)",
		Long: `apply makes the server hold exactly the resources the stack file declares
for its stack: it creates what is missing, updates what differs and deletes
what the stack created earlier but no longer declares. Running channels are
stopped before they are deleted. A second apply of the same file changes
nothing and says so.`,
		Example: "  sluice apply -f examples/lilo.yaml",
	}, "PUT", "")
}

func newPlanCmd(g *globals) *cobra.Command {
	return newStackFileCmd(g, &cobra.Command{
		Use:     "plan -f STACK.yaml",
		Short:   "Show what apply would change, without changing anything",
		Example: "  sluice plan -f examples/lilo.yaml",
	}, "POST", "/plan")
}

func newDestroyCmd(g *globals) *cobra.Command {
	return newStackFileCmd(g, &cobra.Command{
		Use:     "destroy -f STACK.yaml",
		Short:   "Stop and delete the resources a stack file names",
		Example: "  sluice destroy -f examples/lilo.yaml",
	}, "POST", "/destroy")
}

// newStackFileCmd completes cmd into a command that sends the stack file
// of its -f flag with method to the stack's route (/api/v1/stacks/NAME
// and then suffix) and prints the plan the server answers.
func newStackFileCmd(g *globals, cmd *cobra.Command, method, suffix string) *cobra.Command {
	var file string
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, c, err := loadStack(g, file)
		if err != nil {
			return err
		}
		var plan stack.Plan
		if err := c.do(cmd.Context(), method, "/api/v1/stacks/"+url.PathEscape(st.Name)+suffix, st, &plan); err != nil {
			return err
		}
		return g.printPlan(plan, file)
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "stack file (YAML)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func loadStack(g *globals, file string) (resource.Stack, *client, error) {
	st, err := config.ParseFile(file)
	if err != nil {
		return st, nil, err
	}
	c, err := g.client()
	return st, c, err
}

func (g *globals) printPlan(p stack.Plan, file string) error {
	if j, err := g.wantJSON(); err != nil || j {
		if err != nil {
			return err
		}
		return g.printJSON(p)
	}
	writePlan(g.stdout, p, file)
	return nil
}

// writePlan prints a plan for people: one line per change, then a summary.
func writePlan(w io.Writer, p stack.Plan, file string) {
	sign := map[string]string{stack.ActionCreate: "+", stack.ActionUpdate: "~", stack.ActionDelete: "-", stack.ActionUnchanged: "="}
	for _, c := range p.Changes {
		line := fmt.Sprintf("%s %s %s", sign[c.Action], c.Kind, c.Name)
		if len(c.Fields) > 0 {
			line += " (" + strings.Join(c.Fields, ", ") + ")"
		}
		if c.Action == stack.ActionUnchanged {
			line += " (unchanged)"
		}
		_, _ = fmt.Fprintln(w, line)
	}
	create, update, del := p.Counts()
	switch {
	case create+update+del == 0:
		_, _ = fmt.Fprintf(w, "No changes: the server already matches %s (stack %s).\n", file, p.Stack)
	case p.Applied:
		_, _ = fmt.Fprintf(w, "Stack %s: %d created, %d updated, %d deleted.\n", p.Stack, create, update, del)
	default:
		_, _ = fmt.Fprintf(w, "Plan for stack %s: %d to create, %d to update, %d to delete. Run 'sluice apply -f %s' to carry it out.\n", p.Stack, create, update, del, file)
	}
}
