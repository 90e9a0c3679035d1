package report

import (
	"strconv"
	"strings"
)

// CommandLine renders a command as it could be typed again into a shell:
// arguments that are empty or hold shell-special characters are quoted.
func CommandLine(prog string, args []string) string {
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
