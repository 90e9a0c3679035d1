package main

import "fmt"

// The soak's channels, one per input kind.
var soakChannels = []string{"soak-pattern", "soak-loop", "soak-rtmp", "soak-srt"}

// soakStack is the stack file of the soak: a channel per input kind, each
// with HLS, LL-HLS and DASH on a small rung, the push inputs open to
// loopback publishers.
func soakStack(loopFile string) string {
	ch := func(name, input, extra string) string {
		return fmt.Sprintf(`  - name: %s
    autoStart: true
    inputAttachments: [{input: %s%s}]
    inputLoss: {inputLossMs: 1000}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS, dvrWindowSeconds: %d}
      - {name: ll, type: LL_HLS}
      - {name: dash, type: DASH}
`, name, input, extra, dvrWindowSeconds)
	}
	return fmt.Sprintf(`name: soak
securityGroups:
  - name: local
    allow: [127.0.0.1/32]
inputs:
  - {name: pattern, type: TEST_PATTERN, testPattern: {width: 320, height: 180}}
  - {name: loop, type: FILE, url: %q}
  - {name: cam-rtmp, type: RTMP_PUSH, securityGroups: [local]}
  - {name: cam-srt, type: SRT_LISTENER, securityGroups: [local]}
channels:
`, loopFile) + ch("soak-pattern", "pattern", "") + ch("soak-loop", "loop", ", sourceEndBehavior: LOOP") +
		ch("soak-rtmp", "cam-rtmp", "") + ch("soak-srt", "cam-srt", "")
}

// dvrWindowSeconds is the DVR window of the soak's HLS endpoints: their
// archives are checked for holes afterwards. Twenty minutes of every
// channel fit the small file system the disk-full fault fills.
const dvrWindowSeconds = 1200

// hlsPlaylist is the path of a channel's HLS media playlist.
func hlsPlaylist(channel string) string { return "/live/" + channel + "/hls/low/index.m3u8" }

// llPlaylist is the path of a channel's LL-HLS media playlist.
func llPlaylist(channel string) string { return "/live/" + channel + "/ll/low/index.m3u8" }
