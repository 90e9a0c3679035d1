package storage

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Location names a place in storage as a URL: a folder ("file:///srv/in",
// or a plain path) or a bucket and prefix ("s3://bucket/prefix?endpoint=
// host:9000&insecure=1&region=us-east-1"). Credentials come from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never the URL.
type Location struct {
	Scheme string // "file" or "s3"
	Dir    string // file: the folder
	S3     S3Config
}

// ParseLocation parses a storage location; relative folders are resolved
// against base.
func ParseLocation(raw, base string, getenv func(string) string) (Location, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if raw == "" {
		return Location{}, fmt.Errorf("storage location is empty")
	}
	if !strings.Contains(raw, "://") {
		dir := raw
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
		return Location{Scheme: "file", Dir: filepath.Clean(dir)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("storage location %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Location{}, fmt.Errorf("storage location %q: file URLs name a local folder, not host %q", raw, u.Host)
		}
		return Location{Scheme: "file", Dir: filepath.Clean(u.Path)}, nil
	case "s3":
		if u.User != nil {
			return Location{}, fmt.Errorf("storage location %q: put credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not the URL", raw)
		}
		q := u.Query()
		cfg := S3Config{
			Bucket:    u.Host,
			Prefix:    strings.TrimPrefix(u.Path, "/"),
			Endpoint:  q.Get("endpoint"),
			Region:    q.Get("region"),
			AccessKey: getenv("AWS_ACCESS_KEY_ID"),
			SecretKey: getenv("AWS_SECRET_ACCESS_KEY"),
			Insecure:  q.Get("insecure") == "1" || q.Get("insecure") == "true",
		}
		if cfg.Endpoint == "" {
			cfg.Endpoint = "s3.amazonaws.com"
		}
		if cfg.Bucket == "" {
			return Location{}, fmt.Errorf("storage location %q: no bucket", raw)
		}
		if cfg.Prefix != "" {
			if _, err := CleanPrefix(cfg.Prefix); err != nil {
				return Location{}, fmt.Errorf("storage location %q: %w", raw, err)
			}
		}
		return Location{Scheme: "s3", S3: cfg}, nil
	}
	return Location{}, fmt.Errorf("storage location %q: unknown scheme %q (want file or s3)", raw, u.Scheme)
}

// Open opens the storage a location names; file locations are created.
func (l Location) Open() (Storage, error) {
	if l.Scheme == "s3" {
		return OpenS3(l.S3)
	}
	return OpenLocal(l.Dir)
}

// String renders the location without credentials.
func (l Location) String() string {
	if l.Scheme == "s3" {
		return "s3://" + l.S3.Bucket + "/" + l.S3.Prefix
	}
	return l.Dir
}
