package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

// sluiceRung is the one rung of every transcoding Sluice channel: the
// publisher's size and rate, x264 ultrafast (zerolatency on the
// low-latency channels, which Sluice adds itself).
const sluiceRung = `{name: 360p, width: 640, height: 360, bitrate: 1000k, maxBitrate: 1500k, fps: 30, profile: main, preset: ultrafast}`

// sluiceStack declares a push input per protocol and, for each, three
// channels that do not start by themselves: ll-<proto> (1 s segments,
// 200 ms parts, an LL_HLS and an LL_DASH endpoint), hls-<proto> (2 s
// segments, one HLS endpoint) and rtc-<proto> (a WEBRTC endpoint, whose
// rung the encoder then writes without B-frames, in one-picture
// fragments).
func sluiceStack() string {
	var b strings.Builder
	b.WriteString(`name: latency-bench
securityGroups:
  - name: loopback
    allow: [127.0.0.0/8]
inputs:
  - name: cam-rtmp
    type: RTMP_PUSH
    securityGroups: [loopback]
  - name: cam-srt
    type: SRT_LISTENER
    securityGroups: [loopback]
channels:
`)
	for _, p := range []string{"rtmp", "srt"} {
		fmt.Fprintf(&b, `  - name: ll-%[1]s
    inputAttachments: [{input: cam-%[1]s}]
    encoder:
      video: [%[2]s]
      segmentSeconds: 1
    outputs: [{name: ll, type: LL_HLS}, {name: lldash, type: LL_DASH}]
  - name: hls-%[1]s
    inputAttachments: [{input: cam-%[1]s}]
    encoder:
      video: [%[2]s]
      segmentSeconds: 2
    outputs: [{name: hls, type: HLS}]
  - name: rtc-%[1]s
    inputAttachments: [{input: cam-%[1]s}]
    encoder:
      video: [%[2]s]
      segmentSeconds: 1
    outputs: [{name: rtc, type: WEBRTC}]
`, p, sluiceRung)
	}
	return b.String()
}

// errUnsupported marks a contender the server under test cannot run.
var errUnsupported = errors.New("not supported by this build")

// createPassthrough asks the server for the passthrough channel of a
// protocol: one rung that forwards the publisher's video without
// transcoding, with an LL_HLS endpoint, or with a WEBRTC endpoint when
// webrtc is set. A server that refuses the rung's passthrough field does
// not have it yet.
func createPassthrough(ctx context.Context, srv *sluice.Server, proto string, webrtc bool) (string, error) {
	name, out := "pt-"+proto, map[string]any{"name": "ll", "type": "LL_HLS"}
	if webrtc {
		name, out = "ptrtc-"+proto, map[string]any{"name": "rtc", "type": "WEBRTC"}
	}
	if _, err := srv.Channel(ctx, name); err == nil {
		return name, nil
	}
	spec := map[string]any{
		"name":             name,
		"inputAttachments": []map[string]any{{"input": "cam-" + proto}},
		"encoder": map[string]any{
			"video":          []map[string]any{{"name": "source", "passthrough": true}},
			"segmentSeconds": 1,
		},
		"outputs": []map[string]any{out},
	}
	var ch resource.Channel
	if err := srv.PostJSON(ctx, "/api/v1/channels", spec, &ch); err != nil {
		return "", fmt.Errorf("%w (the server refused the rung {name: source, passthrough: true}: %s)", errUnsupported, err.Error())
	}
	return name, nil
}

// sluicePublishURL is where a publisher sends to a Sluice push input.
func sluicePublishURL(ctx context.Context, srv *sluice.Server, proto string) (string, error) {
	var in resource.Input
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := srv.GetJSON(ctx, "/api/v1/inputs/cam-"+proto, &in)
		if err == nil && len(in.Endpoints) > 0 {
			return in.Endpoints[0], nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("the input reports no endpoint")
			}
			return "", fmt.Errorf("input cam-%s: %w", proto, err)
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// waitOnAir waits until a running channel encodes its live input rather
// than its input-loss fill, and returns the URL of its endpoint of type t.
func waitOnAir(ctx context.Context, srv *sluice.Server, channel string, t resource.OutputType) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ch, err := srv.Channel(ctx, channel)
		if err != nil {
			return "", err
		}
		if p := ch.Pipeline; ch.State == resource.StateRunning && p != nil && p.ActiveInput != "" && !p.Filling {
			for _, e := range ch.Endpoints {
				if e.Type == t {
					if strings.HasPrefix(e.URL, "/") {
						return srv.URL + e.URL, nil
					}
					return e.URL, nil
				}
			}
			return "", fmt.Errorf("channel %s has no %s endpoint", channel, t)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("channel %s is %s and does not encode the publisher (log: %s)", channel, ch.State, srv.LogPath)
		}
		if err := harness.Sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
}
