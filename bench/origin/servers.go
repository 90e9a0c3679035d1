package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
)

// nginxConf serves root on addr with the types and headers of the origin.
func nginxConf(dir, root, addr string) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes 2;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %[2]s/tmp-body;
  proxy_temp_path %[2]s/tmp-proxy;
  fastcgi_temp_path %[2]s/tmp-fastcgi;
  uwsgi_temp_path %[2]s/tmp-uwsgi;
  scgi_temp_path %[2]s/tmp-scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp4 m4s mp4; }
  server {
    listen %[3]s;
    root %[4]s;
    add_header Access-Control-Allow-Origin *;
    location ~ \.m3u8$ { add_header Cache-Control "public, max-age=1"; add_header Access-Control-Allow-Origin *; }
    location ~ \.m4s$ { add_header Cache-Control "public, max-age=31536000, immutable"; add_header Access-Control-Allow-Origin *; }
  }
}
`, user, dir, addr, root)
}

// startNginx runs nginx in the foreground on a free loopback port.
func startNginx(ctx context.Context, bin, dir, root string) (*child.Process, string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, root, addr)), 0o600); err != nil {
		return nil, "", err
	}
	logFile, err := os.Create(filepath.Join(dir, "nginx.log"))
	if err != nil {
		return nil, "", err
	}
	proc, err := child.Start(bin, []string{"-p", dir, "-c", conf}, child.Options{Dir: dir, Stdout: logFile, Stderr: logFile})
	if err != nil {
		_ = logFile.Close()
		return nil, "", err
	}
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/"); err == nil { //nolint:gosec,noctx // loopback URL built here
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return proc, base, nil
		}
	}
	proc.Stop(3 * time.Second)
	return nil, "", fmt.Errorf("nginx did not answer on %s within 10 s (see %s)", addr, filepath.Join(dir, "nginx.log"))
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	P99Millis         float64 `json:"p99Milliseconds"`
	Errors            int     `json:"errors"`
}

var (
	rpsPattern    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Pattern    = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)\b`)
	errorsPattern = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)|Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// runWrk runs wrk against u and parses its report.
func runWrk(ctx context.Context, cfg config, u string) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.connections),
		"-d", strconv.Itoa(int(cfg.duration.Seconds())) + "s", "--latency", u}
	out, err := exec.CommandContext(ctx, cfg.wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := rpsPattern.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	r.RequestsPerSecond, _ = strconv.ParseFloat(m[1], 64)
	m = p99Pattern.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no 99%% latency:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	switch m[2] {
	case "us":
		v /= 1000
	case "s":
		v *= 1000
	}
	r.P99Millis = v
	for _, m := range errorsPattern.FindAllStringSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(g)
			r.Errors += n
		}
	}
	return r, nil
}
