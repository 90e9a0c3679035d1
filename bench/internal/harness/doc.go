// Package harness is what every benchmark program shares around its own
// measurement: the command line (the common flags, --help, the exit codes),
// the working directory with the sluice binary and a server data
// directory, the cleanup on exit, error or Ctrl-C, and the report file.
package harness
