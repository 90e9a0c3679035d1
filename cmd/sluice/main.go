// Command sluice is a self-hosted live and on-demand video platform.
package main

import (
	"os"

	"github.com/sluice-video/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
