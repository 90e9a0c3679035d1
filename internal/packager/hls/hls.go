// Package hls renders the HLS playlists of a Sluice endpoint from a
// cmaf.Snapshot. Renderers are pure functions: they read no clock and do no
// I/O, so the same snapshot always yields the same bytes.
//
// URLs are relative so that playlists work behind proxies and edges: the
// multivariant playlist (index.m3u8) points at R/index.m3u8 for rendition R,
// and a media playlist points at init-<run>.mp4 and <Number>.m4s next to it.
package hls

import "errors"

// Options is reserved for rendering options; Sluice defines none yet.
type Options struct{}

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
