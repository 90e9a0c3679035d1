// Package cli holds every sluice subcommand: the server (serve), the
// declarative stack commands (apply, plan, destroy) and the resource
// commands that drive a server through its API.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/config"
)

// Version is the build's version, set with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var cfgErr *config.Error
		if errors.As(err, &cfgErr) {
			fmt.Fprintln(stderr, "sluice: the stack file has problems:")
			fmt.Fprintln(stderr, cfgErr.Error())
		} else {
			fmt.Fprintln(stderr, "sluice:", err)
		}
		return 1
	}
	return 0
}

// globals are the options every client command shares.
type globals struct {
	server string
	token  string
	output string
	stdout io.Writer
	stderr io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Sluice: a self-hosted live and on-demand video platform",
		Long: `Sluice takes live inputs (or loops a file as a live channel), encodes each
channel once into an adaptive-bitrate ladder, packages it as HLS and DASH and
serves it from its own origin, all from one binary.

Start a server with 'sluice serve', describe inputs and channels in a stack
file and converge the server to it with 'sluice apply -f stack.yaml'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr("SLUICE_SERVER", "http://127.0.0.1:8080"), "URL of the Sluice server (env SLUICE_SERVER)")
	pf.StringVar(&g.token, "token", tokenFromEnv(), "API token for changes, when the server requires one (env SLUICE_TOKEN or SLUICE_API_TOKEN)")
	pf.Lookup("token").DefValue = "" // --help must not print the token
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(
		newServeCmd(g),
		newApplyCmd(g), newPlanCmd(g), newDestroyCmd(g),
		newChannelCmd(g), newInputCmd(g), newSecurityGroupCmd(g),
		newAlarmsCmd(g), newRulesCmd(g), newEventsCmd(g),
		newLadderCmd(g), newVersionCmd(g),
		newJobCmd(g), newPresetCmd(g), newPipelineCmd(g), newWorkerCmd(g),
		newEdgeCmd(g), newDistributionCmd(g), newSignCmd(g),
		newHarvestCmd(g), newNodeCmd(g),
		newUserCmd(g), newTokenCmd(g), newAuditCmd(g),
	)
	return root
}

// tokenFromEnv is the API token from the environment: SLUICE_TOKEN, else
// SLUICE_API_TOKEN, the name the server reads, so one variable serves both.
func tokenFromEnv() string {
	return envOr("SLUICE_TOKEN", os.Getenv("SLUICE_API_TOKEN"))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globals) client() (*client, error) { return newClient(g.server, g.token) }

// printJSON writes v indented.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (g *globals) wantJSON() (bool, error) {
	switch g.output {
	case "json":
		return true, nil
	case "table", "":
		return false, nil
	}
	return false, fmt.Errorf("--output %q: use table or json", g.output)
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this sluice binary",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(g.stdout, "sluice", Version)
			return err
		},
	}
}
