package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table is a titled grid of text cells.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	// Notes are printed under the table.
	Notes []string
}

// Write prints the table with aligned columns.
func (t Table) Write(w io.Writer) error {
	if t.Title != "" {
		if _, err := fmt.Fprintf(w, "\n%s\n", t.Title); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
	rule := make([]string, len(t.Header))
	for i, h := range t.Header {
		rule[i] = strings.Repeat("-", len([]rune(h)))
	}
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range t.Notes {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}
