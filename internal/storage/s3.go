package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates a bucket on an S3-compatible server.
type S3Config struct {
	// Endpoint is host:port of the server ("s3.amazonaws.com", "127.0.0.1:9000").
	Endpoint string
	Bucket   string
	// Prefix is prepended to every key, so several tenants share a bucket.
	Prefix    string
	Region    string
	AccessKey string
	SecretKey string
	// Insecure talks plain HTTP (a server on loopback or a private network).
	Insecure bool
	// Transport replaces the HTTP transport (tests, proxies).
	Transport http.RoundTripper
}

// S3 stores objects in a bucket of an S3-compatible server.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// OpenS3 connects to the bucket; it does not create it.
func OpenS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3 storage needs an endpoint and a bucket")
	}
	if cfg.Prefix != "" {
		if _, err := CleanPrefix(cfg.Prefix); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(cfg.Prefix, "/") {
			cfg.Prefix += "/"
		}
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    !cfg.Insecure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 storage %s: %w", cfg.Endpoint, err)
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// EnsureBucket creates the bucket when it does not exist. Several
// processes may do so at once (the nodes of a cluster starting together):
// a bucket another made meanwhile is taken as it is.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("checking bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("creating bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Bucket is the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// Put uploads r; an upload of unknown size goes up in parts as it streams,
// and the object appears only when the upload completes.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (Object, error) {
	if _, err := CleanKey(key); err != nil {
		return Object{}, err
	}
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, size, minio.PutObjectOptions{
		ContentType: contentType(key),
		PartSize:    16 << 20,
	})
	if err != nil {
		return Object{}, fmt.Errorf("storing %s: %w", key, err)
	}
	return Object{Key: key, Size: info.Size, ETag: info.ETag, Mod: info.LastModified}, nil
}

// Get opens key for reading.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	o, err := s.Stat(ctx, key)
	if err != nil {
		return nil, Object{}, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, mapS3Error(key, err)
	}
	return obj, o, nil
}

// Stat describes key.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if _, err := CleanKey(key); err != nil {
		return Object{}, err
	}
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, mapS3Error(key, err)
	}
	return Object{Key: key, Size: info.Size, ETag: info.ETag, Mod: info.LastModified.UTC()}, nil
}

// List returns the objects under prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	if _, err := CleanPrefix(prefix); err != nil {
		return nil, err
	}
	var out []Object
	for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, fmt.Errorf("listing %q: %w", prefix, info.Err)
		}
		out = append(out, Object{Key: strings.TrimPrefix(info.Key, s.prefix), Size: info.Size, ETag: info.ETag, Mod: info.LastModified.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := CleanKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		if e := mapS3Error(key, err); errors.Is(e, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

func mapS3Error(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// contentType names the media types players and browsers care about.
func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".m3u8"):
		return "application/vnd.apple.mpegurl"
	case strings.HasSuffix(key, ".mpd"):
		return "application/dash+xml"
	case strings.HasSuffix(key, ".m4s"), strings.HasSuffix(key, ".mp4"):
		return "video/mp4"
	case strings.HasSuffix(key, ".vtt"):
		return "text/vtt"
	case strings.HasSuffix(key, ".jpg"):
		return "image/jpeg"
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}
