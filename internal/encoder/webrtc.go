package encoder

import (
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// OpusRendition is the name of the Opus audio stream the encoder writes for
// WebRTC viewers, beside the AAC rendition. It reaches the outputs' tap
// only: the packager does not package it.
const OpusRendition = "audio-opus"

// Opus audio for WebRTC: 48 kHz is the only rate WebRTC's Opus uses.
const (
	opusBitrate    = 96000
	opusSampleRate = 48000
)

// webrtcRungArgs are the options a rung takes on a channel with a WebRTC
// endpoint: no B-frames, whatever the profile and tune, because WebRTC
// decoders take none.
func webrtcRungArgs(opts Options) []string {
	if !opts.WebRTC {
		return nil
	}
	return []string{"-bf", "0"}
}

// webrtcAudioGraph splits the conformed audio in two on a channel with a
// WebRTC endpoint: [a] for AAC and [aopus] for Opus.
func webrtcAudioGraph(graph string, opts Options) string {
	if !opts.WebRTC {
		return graph
	}
	return strings.TrimSuffix(graph, "[a]") + ",asplit=2[a][aopus]"
}

// webrtcAudioOutput is the Opus output of a channel with a WebRTC
// endpoint, written to fd in fragments of chunk microseconds.
func webrtcAudioOutput(l resource.Ladder, opts Options, chunk string, fd int) ([]string, []Output) {
	if !opts.WebRTC {
		return nil, nil
	}
	args := []string{
		"-map", "[aopus]",
		"-c:a", "libopus", "-b:a", strconv.Itoa(opusBitrate), "-application", "lowdelay", "-frame_duration", "20",
		"-ac", strconv.Itoa(l.Audio.Channels), "-ar", strconv.Itoa(opusSampleRate),
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof",
		"-frag_duration", chunk,
		"pipe:" + strconv.Itoa(fd),
	}
	return args, []Output{{Rendition: OpusRendition, Audio: true, FD: fd}}
}
