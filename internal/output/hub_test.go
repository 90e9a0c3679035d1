package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// encoderStream is a 64x64, 10 fps fragmented MP4 of the encoder's kind:
// key frames every second, 500 ms fragments.
func encoderStream(t *testing.T, seconds string) []byte {
	t.Helper()
	media.Tool(t, "ffmpeg")
	data := media.Output(t, "mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", seconds,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000")
	if data == nil {
		t.Fatal("ffmpeg could not make the test stream")
	}
	return data
}

func split(t *testing.T, data []byte, chunk int) (inits, frags [][]byte) {
	t.Helper()
	sp := splitter{
		onInit:     func(b []byte) error { inits = append(inits, b); return nil },
		onFragment: func(b []byte) error { frags = append(frags, b); return nil },
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := sp.write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return inits, frags
}

func TestSplitterWhateverTheWriteSizes(t *testing.T) {
	data := encoderStream(t, "2.5")
	wantInits, wantFrags := split(t, data, len(data))
	if len(wantInits) != 1 || len(wantFrags) < 5 {
		t.Fatalf("%d inits, %d fragments", len(wantInits), len(wantFrags))
	}
	// A file written by ffmpeg ends with an index (mfra) the splitter skips.
	if got := append(bytes.Clone(wantInits[0]), bytes.Join(wantFrags, nil)...); !bytes.HasPrefix(data, got) {
		t.Error("init and fragments do not add up to the stream")
	}
	for _, chunk := range []int{1, 7, 4096} {
		inits, frags := split(t, data, chunk)
		if len(inits) != 1 || len(frags) != len(wantFrags) || !bytes.Equal(bytes.Join(frags, nil), bytes.Join(wantFrags, nil)) {
			t.Errorf("chunk %d: %d inits, %d fragments", chunk, len(inits), len(frags))
		}
	}
	info, err := parseInit(wantInits[0])
	if err != nil || !info.video || info.timescale == 0 {
		t.Fatalf("init %+v %v", info, err)
	}
	syncs := 0
	var next uint64
	for i, f := range wantFrags {
		fi, err := parseFragment(f, info)
		if err != nil {
			t.Fatal(err)
		}
		if fi.start != next {
			t.Errorf("fragment %d starts at %d, want %d", i, fi.start, next)
		}
		next = fi.start + fi.duration
		if fi.sync {
			syncs++
		}
	}
	if syncs != 3 || !mustParse(t, wantFrags[0], info).sync || mustParse(t, wantFrags[1], info).sync {
		t.Errorf("%d fragments start with a key frame; want 3, at 0 s, 1 s and 2 s", syncs)
	}
}

func mustParse(t *testing.T, f []byte, in initInfo) fragInfo {
	t.Helper()
	fi, err := parseFragment(f, in)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestSplitterRefusesBadSizes(t *testing.T) {
	for _, b := range [][]byte{
		{0, 0, 0, 4, 'f', 't', 'y', 'p'},
		{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 3},
		{0xff, 0xff, 0xff, 0xff, 'm', 'd', 'a', 't'},
		{0, 0, 0, 8, 'm', 'd', 'a', 't'},
	} {
		sp := splitter{onInit: func([]byte) error { return nil }, onFragment: func([]byte) error { return nil }}
		if err := sp.write(b); !errors.Is(err, errBox) {
			t.Errorf("% x: %v", b, err)
		}
	}
}

// waitSubscribers polls until a rendition's current run has n subscribers.
func waitSubscribers(t *testing.T, h *Hub, rendition string, n int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d subscribers of %s", n, rendition), 30*time.Second, func() (bool, string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		got := 0
		if s := h.streams[rendition]; s != nil && s.cur != nil {
			got = len(s.cur.subs)
		}
		return got >= n, fmt.Sprintf("%d subscribers", got)
	})
}

func TestHubDeliversFromTheNextKeyFrame(t *testing.T) {
	data := encoderStream(t, "2.5")
	inits, frags := split(t, data, len(data))
	h := NewHub(nil, nil)
	w := h.Writer("360p", nil)
	if _, err := w.Write(inits[0]); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Joined after the first fragment: the next key frame is at 1 s.
	if _, err := w.Write(frags[0]); err != nil {
		t.Fatal(err)
	}
	sub, err := h.Subscribe(ctx, "360p", true)
	if err != nil {
		t.Fatal(err)
	}
	all, err := h.Subscribe(ctx, "360p", false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sub.Run().Init, inits[0]) {
		t.Error("the subscription does not carry the run's init segment")
	}
	for _, f := range frags[1:] {
		_, _ = w.Write(f)
	}
	_ = w.Close()
	var got []Fragment
	for {
		f, err := sub.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
	}
	if len(got) != len(frags)-2 || !got[0].Sync || got[0].Start != 10240 {
		t.Errorf("from the key frame: %d fragments (want %d), first %+v", len(got), len(frags)-2, got[0].Start)
	}
	n := 0
	for {
		if _, err := all.Next(ctx); err != nil {
			break
		}
		n++
	}
	if n != len(frags)-1 {
		t.Errorf("without waiting for a key frame: %d fragments, want %d", n, len(frags)-1)
	}
}

func TestHubDropsASubscriberThatLags(t *testing.T) {
	data := encoderStream(t, "1")
	inits, frags := split(t, data, len(data))
	h := NewHub(nil, nil)
	w := h.Writer("v", nil)
	_, _ = w.Write(inits[0])
	sub, err := h.Subscribe(context.Background(), "v", false)
	if err != nil {
		t.Fatal(err)
	}
	for range subBuffer + 1 {
		_, _ = w.Write(frags[0]) // the writer never blocks
	}
	var err2 error
	for err2 == nil {
		_, err2 = sub.Next(context.Background())
	}
	if !errors.Is(err2, ErrBehind) {
		t.Errorf("a subscriber that lagged ends with %v, want ErrBehind", err2)
	}
}

func TestHubWriterSurvivesGarbage(t *testing.T) {
	h := NewHub(nil, nil)
	w := h.Writer("v", nil)
	if n, err := w.Write([]byte{0, 0, 0, 2, 'x', 'x', 'x', 'x'}); n != 8 || err != nil {
		t.Fatalf("the tap must never fail the packager: %d %v", n, err)
	}
	if n, err := w.Write([]byte("more")); n != 4 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
}
