package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/resource"
)

func newLadderCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ladder",
		Short: "Show the built-in ABR ladders and the encoder command for one",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in ladders and their rungs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if j, err := g.wantJSON(); err != nil || j {
				type ladder struct {
					Name  string                      `json:"name"`
					Video []resource.VideoDescription `json:"video"`
				}
				var out []ladder
				for _, n := range resource.LadderNames() {
					rungs, _ := resource.NamedLadder(n)
					out = append(out, ladder{Name: n, Video: rungs})
				}
				return orJSON(g, err, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "LADDER\tRUNG\tSIZE\tBITRATE\tMAX\tFPS\tPROFILE\tPRESET")
			for _, n := range resource.LadderNames() {
				rungs, _ := resource.NamedLadder(n)
				for _, r := range rungs {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%dx%d\t%s\t%s\t%g\t%s\t%s\n", n, r.Name, r.Width, r.Height, r.Bitrate, r.MaxBitrate, r.FPS, r.Profile, r.Preset)
				}
			}
			return tw.Flush()
		},
	})
	var (
		ladder, preset, file, sourceEnd string
		segment                         float64
		noAudio                         bool
	)
	command := &cobra.Command{
		Use:   "command --ladder NAME --input FILE",
		Short: "Print the ffmpeg command a channel runs for a ladder and a file input",
		Long: `command prints the exact argv of the encoder process Sluice starts for a
channel with this ladder and file input: one ffmpeg that decodes once, splits
and scales, encodes every rung and writes one fragmented MP4 per rendition to
the pipes on descriptors 4 and up (descriptor 3 carries the progress report).
A local file is opened by Sluice and read by ffmpeg on its standard input.`,
		Example: "  sluice ladder command --ladder default-1080p --input /srv/media/match.mp4",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			enc := resource.EncoderSettings{Ladder: ladder, Preset: preset, SegmentSeconds: segment}
			l, err := enc.Resolve()
			if err != nil {
				return err
			}
			spec := resource.InputSpec{Name: "input", Type: resource.InputFile, URL: file}
			att := resource.InputAttachment{Input: "input", SourceEndBehavior: resource.SourceEnd(sourceEnd)}
			// The file named on the command line is the media directory's.
			r := input.Resolver{MediaRoot: "."}
			if !spec.IsRemote() {
				abs, err := filepath.Abs(file)
				if err != nil {
					return err
				}
				r.MediaRoot, spec.URL = filepath.Dir(abs), abs
			}
			src, err := r.Source(spec, att, !noAudio)
			if err != nil {
				return err
			}
			stdin := ""
			if src.Stdin != nil {
				stdin = src.Stdin.Name()
				_ = src.Stdin.Close()
			}
			cmd := encoder.Build(src, l, encoder.Options{})
			if j, err := g.wantJSON(); err != nil || j {
				return orJSON(g, err, map[string]any{"argv": append([]string{"ffmpeg"}, cmd.Args...), "stdin": stdin, "outputs": cmd.Outputs})
			}
			quoted := []string{"ffmpeg"}
			for _, a := range cmd.Args {
				quoted = append(quoted, shellQuote(a))
			}
			if stdin != "" {
				// Sluice opens the file itself and hands it to ffmpeg.
				quoted = append(quoted, "<", shellQuote(stdin))
			}
			_, err = fmt.Fprintln(g.stdout, strings.Join(quoted, " "))
			return err
		},
	}
	f := command.Flags()
	f.StringVar(&ladder, "ladder", "default-1080p", "built-in ladder")
	f.StringVar(&preset, "preset", "", "x264 preset for every rung")
	f.StringVar(&file, "input", "", "input file (MP4 or MPEG-TS)")
	f.StringVar(&sourceEnd, "source-end", "LOOP", "source-end behaviour: LOOP or CONTINUE")
	f.Float64Var(&segment, "segment", 0, "segment length in seconds (default 2)")
	f.BoolVar(&noAudio, "no-audio", false, "the input has no audio: generate silence")
	_ = command.MarkFlagRequired("input")
	cmd.AddCommand(command)
	return cmd
}

// shellQuote quotes an argument for a POSIX shell, for display.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
