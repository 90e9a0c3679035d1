package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
