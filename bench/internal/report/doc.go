// Package report prints benchmark results as aligned tables, writes them as
// JSON and describes the machine and software they were measured with, so
// that a figure can be reproduced and compared.
package report
