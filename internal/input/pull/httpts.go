package pull

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluice-video/sluice/internal/input/live"
)

// errNotTS: a body that looked like MPEG-TS never yielded decodable video.
var errNotTS = errors.New("no decodable video in the MPEG-TS stream")

// pullTS reads an MPEG-TS stream over HTTP into the session until the
// server ends it, it falls silent, or it fails.
func (a *attempt) pullTS(body io.Reader) error {
	if err := a.feed.claim(); err != nil {
		return err
	}
	hub := a.feed.hub
	r := &probeReader{r: body, limit: a.p.opts.maxTSProbe, ready: func() bool {
		tracks, ok := hub.Tracks()
		if ok {
			a.feed.markLive()
			a.p.log.Info(a.feed.prefix + "receiving " + describeTracks(tracks))
		}
		return ok
	}}
	err := live.ReadTS(r, a.feed.session(), func(w string) { a.warn(w, w) })
	switch {
	case err == nil:
		return errEnded
	case r.exceeded:
		return fmt.Errorf("%w in the first %s", errNotTS, sizeOf(a.p.opts.maxTSProbe))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w before its MPEG-TS program tables came", errEnded)
	}
	return err
}

// probeReader bounds how much is read before the stream proves usable:
// an endless stream of junk must not be buffered and parsed forever.
type probeReader struct {
	r        io.Reader
	limit    int64
	ready    func() bool
	read     int64
	ok       bool
	exceeded bool
}

func (p *probeReader) Read(b []byte) (int, error) {
	if !p.ok {
		if p.ready() {
			p.ok = true
		} else if p.read >= p.limit {
			p.exceeded = true
			return 0, errNotTS
		}
	}
	n, err := p.r.Read(b)
	p.read += int64(n)
	return n, err
}

// sizeOf words a byte count.
func sizeOf(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
