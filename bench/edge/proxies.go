package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
)

// proxy is one running contender in front of an origin.
type proxy struct {
	name string
	url  string
	proc *child.Process
	log  *os.File
}

func (p *proxy) stop() {
	p.proc.Stop(10 * time.Second)
	_ = p.log.Close()
}

// startProxy runs the named contender with a cache of cacheMB in front of
// origin (a base URL), its files under dir, and waits until it answers.
func startProxy(ctx context.Context, name, bin, dir, origin string, cacheMB int) (*proxy, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir = filepath.Join(dir, name+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	var cmd string
	var args []string
	switch name {
	case "sluice":
		cmd = bin
		args = []string{"edge", "--origin", origin, "--listen", addr, "--cache-size", strconv.Itoa(cacheMB) + "MiB",
			"--max-origin-requests", "64", "--metrics-path", "", "--log-level", "warn",
			// Every benchmark client comes from 127.0.0.1.
			"--max-conns-per-client", "0"}
	case "varnish":
		if cmd, err = exec.LookPath("varnishd"); err != nil {
			return nil, fmt.Errorf("varnishd is not installed (apt-get install varnish): %w", err)
		}
		args = []string{"-F", "-j", "none", "-n", filepath.Join(dir, "varnish"), "-a", addr, "-b", u.Host,
			"-s", "malloc," + strconv.Itoa(cacheMB) + "m"}
	case "nginx":
		if cmd, err = exec.LookPath("nginx"); err != nil {
			return nil, fmt.Errorf("nginx is not installed (apt-get install nginx): %w", err)
		}
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(nginxConf(dir, addr, u.Host, cacheMB)), 0o600); err != nil {
			return nil, err
		}
		args = []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}
	default:
		return nil, fmt.Errorf("unknown proxy %q", name)
	}
	logFile, err := os.Create(filepath.Join(dir, "proxy.log"))
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(cmd, args, child.Options{Dir: dir, Stdout: logFile, Stderr: logFile})
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	p := &proxy{name: name, url: "http://" + addr, proc: proc, log: logFile}
	if err := waitAnswers(ctx, p, 30*time.Second); err != nil {
		p.stop()
		log, _ := os.ReadFile(logFile.Name())
		return nil, fmt.Errorf("%s did not start: %w\n%s", name, err, log)
	}
	return p, nil
}

// nginxConf is a caching reverse proxy configured as a CDN edge would be:
// misses for one object collapse (proxy_cache_lock), stale objects are
// served while the origin fails, no access log.
func nginxConf(dir, addr, origin string, cacheMB int) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path %[2]s/client;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    proxy_cache_path %[2]s/cache levels=1:2 keys_zone=edge:32m max_size=%[5]dm inactive=10m use_temp_path=off;
    upstream origin {
        server %[4]s;
        keepalive 64;
    }
    server {
        listen %[3]s;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache edge;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
            add_header X-Cache $upstream_cache_status;
        }
    }
}
`, user, dir, addr, origin, cacheMB)
}

// waitAnswers polls the proxy until it answers HTTP at all.
func waitAnswers(ctx context.Context, p *proxy, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/healthz: %s", resp.Status)
		}
		select {
		case <-p.proc.Done():
			return p.proc.ExitedEarly(p.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
