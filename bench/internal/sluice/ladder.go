package sluice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// EncoderCommand is the encoder process Sluice runs for a channel, as
// printed by `sluice ladder command -o json`.
type EncoderCommand struct {
	// Argv starts with the program name.
	Argv    []string        `json:"argv"`
	Outputs []EncoderOutput `json:"outputs"`
}

// EncoderOutput is one rendition stream of the encoder command.
type EncoderOutput struct {
	Rendition string `json:"rendition"`
	Audio     bool   `json:"audio"`
	// FD is the descriptor the rendition is written to ("pipe:FD").
	FD int `json:"fd"`
}

// LadderCommand asks the binary for the exact encoder argv of a channel
// with this ladder, preset (empty keeps the ladder's own) and file input.
func LadderCommand(ctx context.Context, bin, ladder, preset, input string) (EncoderCommand, error) {
	args := []string{"ladder", "command", "--ladder", ladder, "--input", input, "-o", "json"}
	if preset != "" {
		args = append(args, "--preset", preset)
	}
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return EncoderCommand{}, fmt.Errorf("sluice %s: %s", strings.Join(args, " "), strings.TrimSpace(string(exit.Stderr)))
		}
		return EncoderCommand{}, err
	}
	var c EncoderCommand
	if err := json.Unmarshal(out, &c); err != nil {
		return EncoderCommand{}, fmt.Errorf("sluice ladder command: %w", err)
	}
	if len(c.Argv) < 2 || len(c.Outputs) == 0 {
		return EncoderCommand{}, fmt.Errorf("sluice ladder command: no argv or no outputs in %s", out)
	}
	return c, nil
}
