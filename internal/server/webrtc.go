package server

import (
	"cmp"
	"slices"

	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/whip"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/rtc"
	"github.com/sluice-video/sluice/internal/whep"
)

// buildWebRTC makes the WebRTC ports, the WHEP server behind the origin's
// WEBRTC endpoints and the WHIP ingest.
func (c *components) buildWebRTC(cfg Config, registry *live.Registry) {
	rcfg := cfg.WebRTC
	rcfg.Logger = cfg.Logger.With("part", "webrtc")
	c.rtc = rtc.NewEngine(rcfg)
	c.whep = whep.New(whep.Config{
		Engine: c.rtc, Sources: webrtcSources{c.manager},
		MaxSessions: cfg.WHEPSessions, PerEndpoint: cfg.WHEPPerEndpoint,
		Observer: metrics.WebRTCObserver{Metrics: c.metrics, Publish: func(e resource.Event) { c.bus.Publish(e) }},
		Logger:   cfg.Logger,
	})
	c.origin.WithWHEP(c.whep)
	wcfg := whip.Config{
		Registry: registry, Engine: c.rtc, Counter: c.metrics, MaxSessions: cfg.WHIPSessions, Logger: cfg.Logger,
	}
	if c.media != nil {
		wcfg.Cluster = whipClaims{ingest: c.ingest, recorder: c.media.recorder}
	}
	c.whip = whip.New(wcfg)
}

// webrtcSources finds the sources of WEBRTC endpoints in the channels.
type webrtcSources struct{ m *channel.Manager }

// WebRTCSource returns a running channel's tap and its rungs, highest
// bitrate first.
func (s webrtcSources) WebRTCSource(name, endpoint string) (whep.Source, bool) {
	src, ok := s.m.WebRTC(name, endpoint)
	if !ok {
		return whep.Source{}, false
	}
	out := whep.Source{Hub: src.Hub, Audio: src.Audio}
	for _, r := range src.Rungs {
		out.Layers = append(out.Layers, whep.Layer{Name: r.Name, Bitrate: int64(r.Bitrate)})
	}
	slices.SortStableFunc(out.Layers, func(a, b whep.Layer) int { return cmp.Compare(b.Bitrate, a.Bitrate) })
	return out, true
}

// WebRTCSessions lists the live WebRTC viewers with their figures.
func (s *Server) WebRTCSessions() []whep.Info { return s.c.whep.Sessions() }
