// Package syncbuf is a buffer that several goroutines may write at once,
// for tests that collect the log or output of a server or a child process
// and read it while it is still being written.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer guarded by a mutex. Its zero value is ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the lines written so far that contain s (every line when
// s is empty), without the trailing empty one.
func (b *Buffer) Lines(s string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}
