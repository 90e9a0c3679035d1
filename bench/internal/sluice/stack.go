package sluice

import (
	"fmt"
	"strconv"
	"strings"
)

// Input is an input of a benchmark stack file.
type Input struct {
	Name string
	// File is a FILE input's path, relative to the media directory; empty
	// makes a TEST_PATTERN input of PatternWidth×PatternHeight.
	File          string
	PatternWidth  int
	PatternHeight int
}

// Channel is a channel of a benchmark stack file. It does not start by
// itself: the benchmark starts it when it is ready to measure.
type Channel struct {
	Name   string
	Input  string
	Ladder string
	// Preset overrides every rung's x264 preset; empty keeps the ladder's.
	Preset string
}

// StackYAML renders a stack file with the inputs and channels. Channels
// keep Sluice's defaults otherwise: a file input loops, the segments are
// 2 s and the outputs are HLS "hls" and DASH "dash".
func StackYAML(name string, inputs []Input, channels []Channel) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n\ninputs:\n", name)
	for _, in := range inputs {
		fmt.Fprintf(&b, "  - name: %s\n", in.Name)
		if in.File != "" {
			fmt.Fprintf(&b, "    type: FILE\n    url: %s\n", strconv.Quote(in.File))
			continue
		}
		fmt.Fprintf(&b, "    type: TEST_PATTERN\n    testPattern:\n      width: %d\n      height: %d\n", in.PatternWidth, in.PatternHeight)
	}
	b.WriteString("\nchannels:\n")
	for _, ch := range channels {
		fmt.Fprintf(&b, "  - name: %s\n    inputAttachments:\n      - input: %s\n", ch.Name, ch.Input)
		fmt.Fprintf(&b, "    encoder:\n      ladder: %s\n", ch.Ladder)
		if ch.Preset != "" {
			fmt.Fprintf(&b, "      preset: %s\n", ch.Preset)
		}
	}
	return b.String()
}
