package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// The contenders, measured one after the other.
const (
	nameSluice   = "Sluice channel"
	nameBare     = "bare ffmpeg"
	nameSeparate = "separate encoders"
)

// channelName is the benchmark channel's name in the stack file.
const channelName = "ladder"

// env is what every contender needs: the workspace (log, cleanup,
// binary, temporary and data directories) and the command line.
type env struct {
	*harness.Workspace
	cfg config
	// source is the generated file, under dataDir/media.
	source string
	// cmd is the encoder command Sluice prints for the ladder.
	cmd sluice.EncoderCommand
	win window
}

// runSluice measures a RUNNING channel: `sluice serve` and its encoder.
func runSluice(ctx context.Context, e env) (contenderResult, error) {
	res := contenderResult{Name: nameSluice}
	stack := sluice.StackYAML("bench",
		[]sluice.Input{{Name: "source", File: filepath.Base(e.source)}},
		[]sluice.Channel{{Name: channelName, Input: "source", Ladder: e.cfg.ladder, Preset: e.cfg.preset}})
	srv, err := e.Serve(ctx, e.cfg.FFmpeg, stack)
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	if _, err := srv.WaitState(ctx, channelName, time.Minute, resource.StateIdle); err != nil {
		return res, err
	}
	e.Log.Printf("%s: starting channel %s (%s, preset %s)", nameSluice, channelName, e.cfg.ladder, e.cfg.preset)
	if err := srv.StartChannel(ctx, channelName); err != nil {
		return res, err
	}
	if _, err := srv.WaitState(ctx, channelName, e.cfg.startTimeout, resource.StateRunning); err != nil {
		return res, err
	}
	argvNote := checkEncoderArgv(srv.Pid(), e.cmd)
	e.Log.Printf("%s: RUNNING; %s", nameSluice, argvNote)

	res, err = measure(ctx, e.Log, nameSluice, []producer{&sluiceChannel{srv: srv, name: channelName}}, e.win)
	res.Name = nameSluice
	res.Description = "sluice serve and its ffmpeg child; output position = the channel's pipeline.outTimeSeconds"
	res.Notes = append([]string{argvNote}, res.Notes...)
	if ch, cerr := srv.Channel(ctx, channelName); cerr == nil && ch.Pipeline != nil {
		p := ch.Pipeline
		if p.Restarts > 0 || p.DroppedFrames > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("encoder restarts %d, dropped frames %d", p.Restarts, p.DroppedFrames))
		}
	}
	if err != nil {
		return res, err
	}
	e.Log.Printf("%s: stopping the channel and the server", nameSluice)
	if err := srv.StopChannel(ctx, channelName); err == nil {
		_, _ = srv.WaitState(ctx, channelName, 30*time.Second, resource.StateIdle)
	}
	srv.Stop()
	if problems := srv.LogProblems(); len(problems) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("server logged %d warnings/errors (%s, kept with --keep), first: %s", len(problems), srv.LogPath, problems[0]))
		for _, p := range problems {
			e.Log.Printf("%s: server log: %s", nameSluice, p)
		}
	}
	return res, nil
}

// checkEncoderArgv compares the server's encoder process with the command
// the anchors are derived from, so that the comparison is like for like.
func checkEncoderArgv(serverPid int, cmd sluice.EncoderCommand) string {
	kids, err := procfs.Children(serverPid)
	if err != nil || len(kids) == 0 {
		return "encoder process not found to compare its argv"
	}
	for _, k := range kids {
		argv, err := procfs.Cmdline(k)
		if err != nil || len(argv) == 0 {
			continue
		}
		if slices.Equal(argv[1:], cmd.Argv[1:]) {
			return "encoder argv identical to `sluice ladder command` (anchors derived from it)"
		}
		for i := 1; i < min(len(argv), len(cmd.Argv)); i++ {
			if argv[i] != cmd.Argv[i] {
				return fmt.Sprintf("encoder argv DIFFERS from `sluice ladder command` at argument %d: %q vs %q", i, argv[i], cmd.Argv[i])
			}
		}
		return fmt.Sprintf("encoder argv DIFFERS from `sluice ladder command`: %d vs %d arguments", len(argv), len(cmd.Argv))
	}
	return "encoder process not readable to compare its argv"
}

// runBare measures Sluice's encoder command run directly, outputs to /dev/null.
func runBare(ctx context.Context, e env) (contenderResult, error) {
	res := contenderResult{Name: nameBare}
	args, err := bareArgs(e.cmd)
	if err != nil {
		return res, err
	}
	e.Log.Printf("%s: starting %s with Sluice's encoder argv, outputs to /dev/null", nameBare, e.cfg.FFmpeg)
	enc, err := startEncoder(e.cfg.FFmpeg, args, "bare", e.Dir)
	if err != nil {
		return res, err
	}
	e.Cleanup.Add(enc.stop)
	defer enc.stop()
	res, err = measure(ctx, e.Log, nameBare, []producer{enc}, e.win)
	res.Name = nameBare
	res.Description = "one ffmpeg with Sluice's exact argv, every rendition written to /dev/null"
	return res, err
}

// runSeparate measures one ffmpeg per rung, each decoding the source.
func runSeparate(ctx context.Context, e env) (contenderResult, error) {
	res := contenderResult{Name: nameSeparate}
	rcs, err := perRungArgs(e.cmd)
	if err != nil {
		return res, err
	}
	e.Log.Printf("%s: starting %d ffmpeg processes, one per rung", nameSeparate, len(rcs))
	var ps []producer
	for _, rc := range rcs {
		enc, err := startEncoder(e.cfg.FFmpeg, rc.Args, "rung "+strings.Join(rc.Renditions, "+"), e.Dir)
		if err != nil {
			return res, err
		}
		e.Cleanup.Add(enc.stop)
		defer enc.stop()
		ps = append(ps, enc)
	}
	res, err = measure(ctx, e.Log, nameSeparate, ps, e.win)
	res.Name = nameSeparate
	res.Description = fmt.Sprintf("%d ffmpeg processes, each decoding the source and encoding one rung with Sluice's options (audio in the first)", len(rcs))
	return res, err
}
