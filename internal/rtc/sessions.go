package rtc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// ErrFull refuses a session past the server's or the group's limit.
var ErrFull = errors.New("too many WebRTC sessions")

// Closer is a live session as the table ends it.
type Closer interface {
	Close(reason string)
}

// Sessions is the table of one server's live sessions, by an unguessable
// ID (the last element of the session's URL, which stands for the right
// to change or end it), bounded in all and per group (a channel's
// endpoint, an input).
type Sessions struct {
	// Max bounds the sessions in all; PerGroup those of one group. Zero
	// means no bound.
	Max, PerGroup int

	mu      sync.Mutex
	byID    map[string]*slot
	byGroup map[string]int
}

type slot struct {
	group string
	s     Closer
}

// Reserve takes a place for a new session of group before any work is
// done for it, and returns its ID. The caller Attaches the session or
// Removes the ID.
func (t *Sessions) Reserve(group string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID, t.byGroup = map[string]*slot{}, map[string]int{}
	}
	if t.Max > 0 && len(t.byID) >= t.Max {
		return "", fmt.Errorf("%w: the server has %d", ErrFull, t.Max)
	}
	if t.PerGroup > 0 && t.byGroup[group] >= t.PerGroup {
		return "", fmt.Errorf("%w: %s has %d", ErrFull, group, t.PerGroup)
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	id := hex.EncodeToString(b[:])
	t.byID[id] = &slot{group: group}
	t.byGroup[group]++
	return id, nil
}

// Attach puts the session in its reserved place.
func (t *Sessions) Attach(id string, s Closer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sl := t.byID[id]; sl != nil {
		sl.s = s
	}
}

// Get returns the session of an ID in group.
func (t *Sessions) Get(group, id string) (Closer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sl := t.byID[id]
	if sl == nil || sl.group != group || sl.s == nil {
		return nil, false
	}
	return sl.s, true
}

// Remove frees an ID's place.
func (t *Sessions) Remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sl := t.byID[id]
	if sl == nil {
		return
	}
	delete(t.byID, id)
	if t.byGroup[sl.group]--; t.byGroup[sl.group] <= 0 {
		delete(t.byGroup, sl.group)
	}
}

// Len returns how many sessions there are, in all and in group.
func (t *Sessions) Len(group string) (total, inGroup int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID), t.byGroup[group]
}

// All returns the attached sessions.
func (t *Sessions) All() []Closer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Closer, 0, len(t.byID))
	for _, sl := range t.byID {
		if sl.s != nil {
			out = append(out, sl.s)
		}
	}
	return out
}

// CloseAll ends every session (at shutdown).
func (t *Sessions) CloseAll(reason string) {
	for _, s := range t.All() {
		s.Close(reason)
	}
}
