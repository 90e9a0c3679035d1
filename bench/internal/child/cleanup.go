package child

import "sync"

// Cleanup collects teardown steps (stop a server, remove a directory) and
// runs them once, last added first, whether the benchmark ends normally,
// fails or is interrupted.
type Cleanup struct {
	mu    sync.Mutex
	steps []func()
}

// Add registers a teardown step.
func (c *Cleanup) Add(step func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps = append(c.steps, step)
}

// Run runs the registered steps in reverse order and forgets them.
func (c *Cleanup) Run() {
	c.mu.Lock()
	steps := c.steps
	c.steps = nil
	c.mu.Unlock()
	for i := len(steps) - 1; i >= 0; i-- {
		steps[i]()
	}
}
