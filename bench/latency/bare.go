package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// barePage plays /hls/index.m3u8 with hls.js and exposes what
// internal/testutil/browser reads, as Sluice's player page does.
const barePage = `<!doctype html><meta charset="utf-8"><title>bare ffmpeg HLS</title>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.min.js"></script>
<script>
var v = document.getElementById("v");
var hls = new Hls({ lowLatencyMode: false });
window.sluicePlayer = {
  ready: false, errors: [], fatal: null,
  currentTime: function () { return v.currentTime; },
  latencySeconds: function () { return hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null; }
};
hls.on(Hls.Events.ERROR, function (e, d) {
  window.sluicePlayer.errors.push(d.type + " " + d.details);
  if (d.fatal) window.sluicePlayer.fatal = d.details;
});
v.addEventListener("playing", function () { window.sluicePlayer.ready = true; });
hls.on(Hls.Events.MANIFEST_PARSED, function () { v.play().catch(function () {}); });
hls.loadSource("/hls/index.m3u8");
hls.attachMedia(v);
</script>
`

// bareHLS is ffmpeg's own HLS muxer writing 2 s segments of the looped
// source into a directory served over HTTP with the player page.
type bareHLS struct {
	proc *child.Process
	srv  *http.Server
	URL  string
}

func startBare(ctx context.Context, ffmpeg, source, dir, preset string) (*bareHLS, error) {
	root, err := sluice.ModuleRoot()
	if err != nil {
		return nil, err
	}
	hlsjs := filepath.Join(root, "internal", "web", "assets", "vendor", "hls.min.js")
	out := filepath.Join(dir, "hls")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, err
	}
	gop := strconv.Itoa(2 * 30)
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-stream_loop", "-1", "-i", source,
		"-c:v", "libx264", "-preset", preset, "-s", "640x360", "-b:v", "800k",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)",
		"-c:a", "aac", "-b:a", "96k", "-ac", "2",
		"-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
		"-hls_flags", "delete_segments+program_date_time+independent_segments",
		filepath.Join(out, "index.m3u8"),
	}
	logFile, err := os.Create(filepath.Join(dir, "ffmpeg-hls.log"))
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(ffmpeg, args, child.Options{Dir: dir, Stdout: logFile, Stderr: logFile})
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/hls/", http.StripPrefix("/hls/", http.FileServer(http.Dir(out))))
	mux.HandleFunc("/hls.min.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, hlsjs) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(barePage))
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		proc.Stop(stopGrace)
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &bareHLS{proc: proc, srv: srv, URL: fmt.Sprintf("http://%s", ln.Addr())}, nil
}

func (b *bareHLS) stop() {
	_ = b.srv.Close()
	b.proc.Stop(stopGrace)
}

// stopGrace is how long a contender has to exit after SIGTERM.
const stopGrace = 3 * time.Second
