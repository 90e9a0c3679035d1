package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// TestOutputsMoveToS3 runs an ARCHIVE and a FRAME_CAPTURE output on a
// server whose output storage is an S3-compatible bucket: finished files
// land in the bucket and leave the local disk, and stopping the channel
// ships the archive file it was writing.
func TestOutputsMoveToS3(t *testing.T) {
	t.Parallel()
	media.Tool(t, "ffprobe")
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 6)
	minio := s3server.Start(t)
	data := t.TempDir()
	s := startServerWith(t, data, []string{"--output-storage", "s3://outputs/site-a?insecure=1&endpoint=" + minio.Endpoint},
		"AWS_ACCESS_KEY_ID="+minio.AccessKey, "AWS_SECRET_ACCESS_KEY="+minio.SecretKey)
	s.applyStack(dir, "kept", testStack("kept", sample)+`    outputs:
      - {name: hls, type: HLS}
      - {name: archive, type: ARCHIVE, rollSeconds: 10}
      - {name: stills, type: FRAME_CAPTURE, intervalSeconds: 1}
`)
	s.waitState("kept", resource.StateRunning, 90*time.Second)
	bucket, err := storage.OpenS3(storage.S3Config{Endpoint: minio.Endpoint, Bucket: "outputs", Prefix: "site-a", AccessKey: minio.AccessKey, SecretKey: minio.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := func(prefix string) []string {
		objs, err := bucket.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.Key)
		}
		return out
	}
	read := func(key string) []byte {
		rc, _, err := bucket.Get(ctx, key)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		defer func() { _ = rc.Close() }()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var stills []string
	poll.Until(t, "three frame captures and the latest one in the bucket", 2*time.Minute, func() (bool, string) {
		stills = keys("outputs/kept/stills/")
		return len(stills) >= 4 && slices.Contains(stills, "outputs/kept/stills/stills-latest.jpg"), fmt.Sprint(stills)
	})
	img, err := jpeg.Decode(bytes.NewReader(read(stills[0])))
	if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 360 {
		t.Errorf("capture %s: %v", stills[0], err)
	}

	// Files roll every 10 s of wall clock; the first whole one is the
	// second file shipped.
	var archives []string
	poll.Until(t, "two finished archive files in the bucket", 2*time.Minute, func() (bool, string) {
		archives = keys("outputs/kept/archive/archive-")
		return len(archives) >= 2, fmt.Sprint(archives)
	})
	local := filepath.Join(data, "media", "outputs", "kept", "archive")
	file := filepath.Join(t.TempDir(), "second.ts")
	if err := os.WriteFile(file, read(archives[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	v := ffprobeJSON(t, "-show_entries", "format=duration:stream=codec_name", file)
	if got := codecNames(ffprobeStreams(v)); !slices.Equal(got, []string{"aac", "h264"}) {
		t.Errorf("archive %s streams %v", archives[1], got)
	}
	for _, k := range archives {
		if _, err := os.Stat(filepath.Join(local, filepath.Base(k))); err == nil {
			t.Errorf("%s is in the bucket and still on local disk", k)
		}
	}

	// Stopping the channel closes the file being written and ships it.
	if out, err := s.cli("channel", "stop", "kept"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	s.waitState("kept", resource.StateIdle, 90*time.Second)
	poll.Until(t, "the last archive file shipped and the local folder empty", time.Minute, func() (bool, string) {
		left, _ := filepath.Glob(filepath.Join(local, "archive-*"))
		return len(left) == 0 && len(keys("outputs/kept/archive/archive-")) > len(archives), strings.Join(left, " ")
	})
}
