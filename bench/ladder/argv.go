package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// devNull replaces the pipes to the packager in the anchor commands: ffmpeg
// does all its work, nothing consumes the result.
const devNull = "/dev/null"

// overwrite lets ffmpeg write to /dev/null, which exists; it changes
// nothing in the encoding.
const overwrite = "-y"

// bareArgs returns the arguments (without the program name) of Sluice's
// encoder command with every rendition written to /dev/null instead of a
// pipe to the packager, and -y in front. The progress report stays on
// descriptor 3, where the benchmark reads it exactly as Sluice does.
func bareArgs(cmd sluice.EncoderCommand) ([]string, error) {
	targets := map[string]bool{}
	for _, o := range cmd.Outputs {
		targets["pipe:"+strconv.Itoa(o.FD)] = true
	}
	args := append([]string{overwrite}, cmd.Argv[1:]...)
	replaced := 0
	for i, a := range args {
		if targets[a] {
			args[i] = devNull
			replaced++
		}
	}
	if replaced != len(cmd.Outputs) {
		return nil, fmt.Errorf("encoder command: %d of %d output pipes found", replaced, len(cmd.Outputs))
	}
	return args, nil
}

// rungCommand is one process of the "separate encoders" anchor.
type rungCommand struct {
	// Renditions are what the process outputs: one video rung, plus the
	// audio for the first process.
	Renditions []string
	Args       []string
}

// Filter graph pieces of Sluice's encoder command: the head chain decodes
// the picture once and splits it ("[0:v:0]format=yuv420p,split=4[s0]…"),
// then one chain per rung scales a copy ("[s0]fps=30,scale=…[v0]").
var (
	splitChain = regexp.MustCompile(`^(\[[^\]]+\])(.*?),?split=\d+((?:\[[^\]]+\])+)$`)
	labelled   = regexp.MustCompile(`^(\[[^\]]+\])(.*)$`)
	mapLabel   = regexp.MustCompile(`^\[[^\]]+\]$`)
)

// perRungArgs splits Sluice's encoder command into one command per video
// rung, the way a ladder is often run without a shared decode: each process
// reads and decodes the source itself and encodes one rung with exactly
// Sluice's options; the first one also encodes the audio. Every output goes
// to /dev/null (with -y) and every process reports progress on descriptor 3.
func perRungArgs(cmd sluice.EncoderCommand) ([]rungCommand, error) {
	args := cmd.Argv[1:]
	fi := -1
	for i, a := range args {
		if a == "-filter_complex" && i+1 < len(args) {
			fi = i
			break
		}
	}
	if fi < 0 {
		return nil, fmt.Errorf("encoder command has no -filter_complex")
	}
	head, graph, tail := args[:fi], args[fi+1], args[fi+2:]

	groups, err := outputGroups(tail, cmd.Outputs)
	if err != nil {
		return nil, err
	}
	chains := strings.Split(graph, ";")
	m := splitChain.FindStringSubmatch(chains[0])
	if m == nil {
		return nil, fmt.Errorf("filter graph does not start with a split: %q", chains[0])
	}
	input, pre := m[1], m[2]
	splitOuts := map[string]bool{}
	for _, l := range strings.SplitAfter(m[3], "]") {
		if l != "" {
			splitOuts[l] = true
		}
	}
	// Each rung chain, keyed by its output label; the audio chain is the
	// one that does not read a split output.
	rungChain := map[string]string{}
	var audioChain string
	for _, c := range chains[1:] {
		lm := labelled.FindStringSubmatch(c)
		if lm == nil {
			return nil, fmt.Errorf("unlabelled filter chain %q", c)
		}
		if !splitOuts[lm[1]] {
			audioChain = c
			continue
		}
		body := lm[2]
		out := body[strings.LastIndexByte(body, '['):]
		chain := input + pre
		if pre != "" {
			chain += ","
		}
		rungChain[out] = chain + body
	}

	var video, audio []int
	for i, o := range cmd.Outputs {
		if o.Audio {
			audio = append(audio, i)
		} else {
			video = append(video, i)
		}
	}
	if len(video) == 0 {
		return nil, fmt.Errorf("encoder command has no video output")
	}
	var out []rungCommand
	for n, vi := range video {
		label := groups[vi].mapLabel
		chain, ok := rungChain[label]
		if !ok {
			return nil, fmt.Errorf("no filter chain produces %s", label)
		}
		rc := rungCommand{Renditions: []string{cmd.Outputs[vi].Rendition}}
		graph := chain
		outs := groups[vi].args
		if n == 0 {
			for _, ai := range audio {
				if audioChain == "" {
					return nil, fmt.Errorf("encoder command has an audio output but no audio chain")
				}
				graph += ";" + audioChain
				outs = append(append([]string(nil), outs...), groups[ai].args...)
				rc.Renditions = append(rc.Renditions, cmd.Outputs[ai].Rendition)
			}
		}
		rc.Args = append(append(append([]string{overwrite}, head...), "-filter_complex", graph), outs...)
		out = append(out, rc)
	}
	return out, nil
}

// outputGroup is the options of one output, its pipe replaced by /dev/null.
type outputGroup struct {
	mapLabel string
	args     []string
}

// outputGroups cuts the output options after the filter graph into one
// group per output; each group ends with the output's "pipe:FD".
func outputGroups(tail []string, outputs []sluice.EncoderOutput) ([]outputGroup, error) {
	var groups []outputGroup
	var cur []string
	for _, a := range tail {
		if len(groups) < len(outputs) && a == "pipe:"+strconv.Itoa(outputs[len(groups)].FD) {
			g := outputGroup{args: append(cur, devNull)}
			for i := 0; i+1 < len(cur); i++ {
				if cur[i] == "-map" && mapLabel.MatchString(cur[i+1]) {
					g.mapLabel = cur[i+1]
				}
			}
			if g.mapLabel == "" {
				return nil, fmt.Errorf("output %s maps no filter output", outputs[len(groups)].Rendition)
			}
			groups = append(groups, g)
			cur = nil
			continue
		}
		cur = append(cur, a)
	}
	if len(groups) != len(outputs) || len(cur) > 0 {
		return nil, fmt.Errorf("encoder command: found %d of %d outputs (%d arguments left over)", len(groups), len(outputs), len(cur))
	}
	return groups, nil
}
