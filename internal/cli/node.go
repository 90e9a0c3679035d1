package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-video/sluice/internal/cluster"
)

// resolveNodeID is the node's id: --node-id, else the one kept in the
// data directory (made the first time).
func resolveNodeID(given, data string, logger *slog.Logger) (string, error) {
	if given != "" {
		if err := cluster.CheckID(given); err != nil {
			return "", fmt.Errorf("--node-id: %w", err)
		}
		return given, nil
	}
	id, made, err := cluster.StableID(data)
	if err != nil {
		return "", err
	}
	if made {
		logger.Info("this server's node id is " + id + ", kept in " + filepath.Join(data, "node-id"))
	}
	return id, nil
}

// advertiseURL is the URL other nodes reach this server at: --advertise,
// checked, or http:// with --public-host (else the listener's address,
// else the host name) and the listener's port.
func advertiseURL(o serveOptions, addr net.Addr) (string, error) {
	if o.advertise != "" {
		u, err := url.Parse(o.advertise)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("--advertise %q: give the URL other nodes reach this server at, as http://host:port", o.advertise)
		}
		return u.Scheme + "://" + u.Host, nil
	}
	port := 0
	host := ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = tcp.Port
		if !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
	}
	switch {
	case o.publicHost != "":
		host = o.publicHost
	case host == "":
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}
