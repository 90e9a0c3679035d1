package e2e

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/hls-m3u8/m3u8"
	"github.com/Eyevinn/mp4ff/mp4"
)

func (s *server) multivariant(p string) *m3u8.MasterPlaylist {
	s.t.Helper()
	code, hdr, body := s.get(p)
	if code != 200 {
		s.t.Fatalf("GET %s: %d %s", p, code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		s.t.Errorf("%s: Content-Type %q", p, ct)
	}
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || typ != m3u8.MASTER {
		s.t.Fatalf("%s is not a multivariant playlist: %v\n%s", p, err, body)
	}
	return pl.(*m3u8.MasterPlaylist)
}

// media fetches a media playlist; ok is false while it does not exist yet.
func (s *server) media(p string) (*m3u8.MediaPlaylist, []byte, bool) {
	s.t.Helper()
	code, _, body := s.get(p)
	// 404: no such playlist (yet); 503: a channel a node of a cluster
	// just took, or started again, has no segment yet.
	if code == 404 || code == 503 {
		return nil, body, false
	}
	if code != 200 {
		s.t.Fatalf("GET %s: %d %s", p, code, body)
	}
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || typ != m3u8.MEDIA {
		s.t.Fatalf("%s is not a media playlist: %v\n%s", p, err, body)
	}
	return pl.(*m3u8.MediaPlaylist), body, true
}

// segmentsOf returns the playlist's segments, each with the init segment
// (EXT-X-MAP) that applies to it filled in.
func segmentsOf(pl *m3u8.MediaPlaylist) []*m3u8.MediaSegment {
	var out []*m3u8.MediaSegment
	current := pl.Map
	for _, s := range pl.Segments {
		if s == nil {
			continue
		}
		if s.Map != nil {
			current = s.Map
		}
		c := *s
		c.Map = current
		out = append(out, &c)
	}
	return out
}

// segmentFile downloads a segment with its init segment into one playable file.
func (s *server) segmentFile(dir, playlist string, seg *m3u8.MediaSegment) (string, []byte) {
	s.t.Helper()
	base := path.Dir(playlist)
	code, _, init := s.get(path.Join(base, seg.Map.URI))
	if code != 200 {
		s.t.Fatalf("init %s: %d", seg.Map.URI, code)
	}
	code, _, media := s.get(path.Join(base, seg.URI))
	if code != 200 {
		s.t.Fatalf("segment %s: %d", seg.URI, code)
	}
	f := filepath.Join(dir, filepath.Base(base)+"-"+seg.URI+".mp4")
	if err := os.WriteFile(f, append(append([]byte(nil), init...), media...), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return f, media
}

// tfdt returns the decode time of a segment's first fragment and its timescale.
func tfdt(t *testing.T, init, seg []byte) (uint64, uint32) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(append(append([]byte(nil), init...), seg...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Segments) == 0 || len(f.Segments[0].Fragments) == 0 {
		t.Fatal("segment has no fragment")
	}
	return f.Segments[0].Fragments[0].Moof.Traf.Tfdt.BaseMediaDecodeTime(), f.Init.Moov.Trak.Mdia.Mdhd.Timescale
}
