package sluice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Get fetches a path of the server and returns the status and body.
func (s *Server) Get(ctx context.Context, path string) (int, []byte, error) {
	return s.do(ctx, http.MethodGet, path)
}

func (s *Server) do(ctx context.Context, method, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if method != http.MethodGet {
		// Changes go to the API as JSON, even without a body.
		req.Header.Set("Content-Type", "application/json")
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

// Channel returns a channel as the API describes it, with its state and
// encoder status.
func (s *Server) Channel(ctx context.Context, name string) (resource.Channel, error) {
	var c resource.Channel
	err := s.getJSON(ctx, "/api/v1/channels/"+name, &c)
	return c, err
}

// History returns a channel's state changes, oldest first.
func (s *Server) History(ctx context.Context, name string) ([]resource.StateChange, error) {
	var h []resource.StateChange
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
func failed(state resource.ChannelState) bool {
	return state == resource.StateFailed || state == resource.StateCreateFailed
}

// WaitState polls a channel until it is in one of the wanted states. It
// gives up when the channel fails, the server exits or timeout passes.
func (s *Server) WaitState(ctx context.Context, name string, timeout time.Duration, want ...resource.ChannelState) (resource.Channel, error) {
	deadline := time.Now().Add(timeout)
	wanted := joinStates(want)
	for {
		c, err := s.Channel(ctx, name)
		switch {
		case err == nil && slices.Contains(want, c.State):
			return c, nil
		case err == nil && failed(c.State):
			return c, fmt.Errorf("channel %s is %s: %s", name, c.State, c.LastError)
		case time.Now().After(deadline):
			if err != nil {
				return c, fmt.Errorf("channel %s not %s after %s: %w", name, wanted, timeout, err)
			}
			return c, fmt.Errorf("channel %s still %s after %s, waiting for %s", name, c.State, timeout, wanted)
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

// joinStates lists states for a message: "IDLE or FAILED".
func joinStates(states []resource.ChannelState) string {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	return strings.Join(names, " or ")
}

// PostJSON sends body as JSON and decodes a 2xx answer into out.
func (s *Server) PostJSON(ctx context.Context, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return json.Unmarshal(answer, out)
}

// GetJSON fetches path and decodes a 200 answer into v.
func (s *Server) GetJSON(ctx context.Context, path string, v any) error {
	return s.getJSON(ctx, path, v)
}
