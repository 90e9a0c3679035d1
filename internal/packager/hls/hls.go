// Package hls renders the HLS playlists of a Sluice endpoint from a
// cmaf.Snapshot. Renderers are pure functions: they read no clock and do no
// I/O, so the same snapshot always yields the same bytes.
//
// URLs are relative so that playlists work behind proxies and edges: the
// multivariant playlist (index.m3u8) points at R/index.m3u8 for rendition R,
// and a media playlist points at init-<run>.mp4 and <Number>.m4s next to it.
package hls

import (
	"encoding/binary"
	"errors"
)

// Options tune a media playlist.
type Options struct {
	// Encryption, when set, declares AES-128 encrypted segments.
	Encryption *Encryption
	// TransportStream lists MPEG-TS segments (<Number>.ts, video and audio
	// muxed, no EXT-X-MAP, version 3) instead of fMP4 ones.
	TransportStream bool
}

// Encryption describes segments encrypted whole with AES-128 (CBC, PKCS#7
// padding), the key changing every RotateEvery segment numbers.
type Encryption struct {
	// RotateEvery is how many segment numbers share a key; key k covers
	// numbers k×RotateEvery to (k+1)×RotateEvery−1.
	RotateEvery uint64
	// KeyURI returns the URI of key k, relative to the media playlist.
	KeyURI func(k uint64) string
}

// KeyIndex returns the key that encrypts segment number n.
func (e *Encryption) KeyIndex(n uint64) uint64 { return n / max(e.RotateEvery, 1) }

// IV returns the initialisation vector of segment number n: the number as
// a 128-bit big-endian integer, as the HLS default IV is.
func IV(n uint64) [16]byte {
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[8:], n)
	return iv
}

// Sentinel errors returned by the renderers; callers map them to HTTP statuses.
var (
	// ErrNoSegments means the rendition exists but has no segment in the
	// window yet, so there is no playlist to serve (the origin answers 404).
	ErrNoSegments = errors.New("hls: no segments yet")
	// ErrUnknownRendition means the snapshot has no rendition of that ID.
	ErrUnknownRendition = errors.New("hls: unknown rendition")
	// ErrInvalidSnapshot means the snapshot breaks an invariant the
	// packager guarantees (consecutive numbers, discontinuity counting, a
	// non-zero timescale); it points at a bug upstream.
	ErrInvalidSnapshot = errors.New("hls: invalid snapshot")
)
