package sluice

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ChannelStatus is the part of GET /api/v1/channels/{name} the benchmarks
// read.
type ChannelStatus struct {
	Name        string          `json:"name"`
	State       string          `json:"state"`
	StateReason string          `json:"stateReason"`
	LastError   string          `json:"lastError"`
	Pipeline    *PipelineStatus `json:"pipeline"`
}

// PipelineStatus is what the channel's encoder reports.
type PipelineStatus struct {
	StartedAt     time.Time `json:"startedAt"`
	Restarts      int       `json:"restarts"`
	Speed         float64   `json:"speed"`
	FPS           float64   `json:"fps"`
	Frames        int64     `json:"frames"`
	DroppedFrames int64     `json:"droppedFrames"`
	DupFrames     int64     `json:"duplicatedFrames"`
	// OutTimeSeconds is how much media the encoder has output since it started.
	OutTimeSeconds float64 `json:"outTimeSeconds"`
	Segments       int64   `json:"segments"`
}

// StateChange is one entry of a channel's history.
type StateChange struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
}

// Get fetches a path of the server and returns the status and body.
func (s *Server) Get(ctx context.Context, path string) (int, []byte, error) {
	return s.do(ctx, http.MethodGet, path)
}

func (s *Server) do(ctx context.Context, method, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// getJSON fetches path and decodes a 200 answer into v.
func (s *Server) getJSON(ctx context.Context, path string, v any) error {
	code, body, err := s.Get(ctx, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, code, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}

// Channel returns a channel's state and encoder status.
func (s *Server) Channel(ctx context.Context, name string) (ChannelStatus, error) {
	var c ChannelStatus
	err := s.getJSON(ctx, "/api/v1/channels/"+name, &c)
	return c, err
}

// History returns a channel's state changes, oldest first.
func (s *Server) History(ctx context.Context, name string) ([]StateChange, error) {
	var h []StateChange
	err := s.getJSON(ctx, "/api/v1/channels/"+name+"/history?limit=1000", &h)
	return h, err
}

// StartChannel asks the server to start a channel.
func (s *Server) StartChannel(ctx context.Context, name string) error {
	return s.post(ctx, "/api/v1/channels/"+name+"/start")
}

// StopChannel asks the server to stop a channel.
func (s *Server) StopChannel(ctx context.Context, name string) error {
	return s.post(ctx, "/api/v1/channels/"+name+"/stop")
}

func (s *Server) post(ctx context.Context, path string) error {
	code, body, err := s.do(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	if code != http.StatusAccepted && code != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, code, strings.TrimSpace(string(body)))
	}
	return nil
}

// failed reports a state from which a channel gets nowhere by waiting.
func failed(state string) bool {
	return state == "FAILED" || state == "CREATE_FAILED"
}

// WaitState polls a channel until it is in one of the wanted states. It
// gives up when the channel fails, the server exits or timeout passes.
func (s *Server) WaitState(ctx context.Context, name string, timeout time.Duration, want ...string) (ChannelStatus, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := s.Channel(ctx, name)
		switch {
		case err == nil && slices.Contains(want, c.State):
			return c, nil
		case err == nil && failed(c.State):
			return c, fmt.Errorf("channel %s is %s: %s", name, c.State, c.LastError)
		case time.Now().After(deadline):
			if err != nil {
				return c, fmt.Errorf("channel %s not %s after %s: %w", name, strings.Join(want, " or "), timeout, err)
			}
			return c, fmt.Errorf("channel %s still %s after %s, waiting for %s", name, c.State, timeout, strings.Join(want, " or "))
		}
		select {
		case <-s.proc.Done():
			return c, fmt.Errorf("%w (log: %s)", s.proc.ExitedEarly("sluice serve"), s.LogPath)
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
