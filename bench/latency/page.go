package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// playerPage plays ?src= with hls.js (?kind=hls or llhls), dash.js
// (dash or lldash) or the browser's RTCPeerConnection over WHEP (whep), the same vendored players and settings for every
// contender, in a 640×360 video element at the top left of the page with
// no scaling. Under it, a canvas shows the browser's clock in the clock
// code, redrawn at every animation frame from the frame's own timestamp
// (performance.timeOrigin + the requestAnimationFrame time): a screenshot
// thus carries the instant it shows beside the publisher's clock in the
// picture. window.bench is what the benchmark reads.
const playerPage = `<!doctype html><html><head><meta charset="utf-8"><title>latency</title>
<style>
html, body { margin: 0; background: #808080; overflow: hidden; }
video { position: absolute; left: 0; top: 0; width: 640px; height: 360px; object-fit: fill; background: #000; }
canvas { position: absolute; left: 0; top: 360px; }
</style></head><body>
<video id="v" muted autoplay playsinline></video>
<canvas id="c" width="640" height="24"></canvas>
<script src="/vendor/hls.min.js"></script>
<script src="/vendor/dash.all.min.js"></script>
<script>
(function () {
  "use strict";
  var q = new URLSearchParams(location.search);
  var src = q.get("src"), kind = q.get("kind") || "hls", sync = Number(q.get("sync") || 0), rate = Number(q.get("rate") || 0);
  var v = document.getElementById("v");
  var g = document.getElementById("c").getContext("2d");
  var hls = null, dash = null;
  var st = window.bench = {
    ready: false, errors: [], fatal: null, player: "",
    // dateLatency is the player's own latency figure, from the stream's
    // wall-clock times (program date-time, or DASH's availability times).
    dateLatency: function () {
      try {
        if (hls && hls.playingDate) return (Date.now() - hls.playingDate.getTime()) / 1000;
        if (dash && dash.isDynamic()) { var l = dash.getCurrentLiveLatency(); if (isFinite(l) && l > 0) return l; }
      } catch (e) {}
      return -1;
    },
    // edge is how far behind the live edge the player says it plays
    // (hls.js's latency and targetLatency, from the playlist), or nulls.
    edge: function () {
      try { if (hls && isFinite(hls.latency) && hls.latency > 0) return [hls.latency, hls.targetLatency || -1]; } catch (e) {}
      return [-1, -1];
    },
    // skew is how far Date.now() is from the clock the canvas shows.
    skew: function () { return Date.now() - (performance.timeOrigin + performance.now()); },
    currentTime: function () { return v.currentTime; }
  };
  function error(text, fatal) {
    if (st.errors.length < 200) st.errors.push(text);
    if (fatal && st.fatal === null) st.fatal = text;
  }
  // The clock code: 24 bits of Unix milliseconds modulo 2^24, then their
  // CRC-8 (polynomial 0x07) xored with 0x5a (clockcode.CheckXor), most
  // significant bit first, white for 1.
  function crc8(bytes) {
    var crc = 0;
    for (var i = 0; i < bytes.length; i++) {
      crc ^= bytes[i];
      for (var k = 0; k < 8; k++) crc = (crc & 0x80) ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
    return crc;
  }
  function draw(ts) {
    var ms = Math.round(performance.timeOrigin + ts) % 16777216;
    var bytes = [Math.floor(ms / 65536), Math.floor(ms / 256) % 256, ms % 256];
    var words = [bytes[0], bytes[1], bytes[2], crc8(bytes) ^ 0x5a];
    for (var i = 0; i < 32; i++) {
      var bit = (words[i >> 3] >> (7 - (i & 7))) & 1;
      g.fillStyle = bit ? "#ebebeb" : "#101010";
      g.fillRect(i * 20, 0, 20, 24);
    }
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);
  v.addEventListener("playing", function () { st.ready = true; });
  v.addEventListener("error", function () { error("media element error " + (v.error ? v.error.code : ""), true); });
  if (kind === "whep") {
    // WebRTC: the browser's own RTCPeerConnection, an offer POSTed to the
    // WHEP endpoint once ICE gathering is done, the answer back; the
    // receiver's default jitter buffer, as a player would have it.
    st.player = "RTCPeerConnection (WHEP)";
    var pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    var stream = new MediaStream();
    v.srcObject = stream;
    pc.ontrack = function (e) { stream.addTrack(e.track); };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === "failed") error("the WebRTC connection failed", true);
    };
    pc.createOffer()
      .then(function (o) { return pc.setLocalDescription(o); })
      .then(function () {
        return new Promise(function (resolve) {
          if (pc.iceGatheringState === "complete") return resolve();
          var t = setTimeout(resolve, 2000);
          pc.addEventListener("icegatheringstatechange", function () {
            if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
          });
        });
      })
      .then(function () {
        return fetch(src, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
      })
      .then(function (r) {
        if (r.status !== 201 && r.status !== 200) throw new Error("WHEP answered HTTP " + r.status);
        return r.text();
      })
      .then(function (a) { return pc.setRemoteDescription({ type: "answer", sdp: a }); })
      .then(function () { return v.play(); })
      .catch(function (e) { error("WHEP: " + e.message, true); });
    return;
  }
  if (kind === "dash" || kind === "lldash") {
    dash = dashjs.MediaPlayer().create();
    st.player = "dash.js " + dash.getVersion();
    dash.on(dashjs.MediaPlayer.events.ERROR, function (e) {
      var err = e && e.error ? e.error : e;
      error("dash.js " + (err && err.code) + ": " + (err && err.message));
    });
    if (kind === "lldash") {
      dash.updateSettings({ streaming: { liveCatchup: { enabled: true, mode: "liveCatchupModeDefault" } } });
    }
    dash.initialize(v, src, true);
    return;
  }
  var config = { lowLatencyMode: kind === "llhls" };
  if (kind === "hls" && sync > 0) config.liveSyncDurationCount = sync;
  if (rate > 1) config.maxLiveSyncPlaybackRate = rate;
  hls = new Hls(config);
  st.player = "hls.js " + Hls.version;
  var recoveries = 0;
  hls.on(Hls.Events.ERROR, function (e, d) {
    error("hls.js " + d.type + " " + d.details + (d.fatal ? " (fatal)" : ""));
    if (!d.fatal) return;
    if (recoveries++ < 5) {
      if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError(); else hls.startLoad();
      return;
    }
    error("hls.js gave up: " + d.details, true);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, function () { v.play().catch(function (e) { error("play(): " + e.message); }); });
  hls.loadSource(src);
  hls.attachMedia(v);
})();
</script></body></html>`

// Where the page puts things, in CSS pixels (the browser runs at a device
// scale factor of 1).
const (
	pageVideoWidth  = 640
	pageVideoHeight = 360
	pageClockHeight = 24
)

// pageServer serves the player page and the vendored players on a
// loopback port of its own.
type pageServer struct {
	srv *http.Server
	URL string
}

func startPageServer(ctx context.Context) (*pageServer, error) {
	root, err := sluice.ModuleRoot()
	if err != nil {
		return nil, err
	}
	vendor := filepath.Join(root, "internal", "web", "assets", "vendor")
	mux := http.NewServeMux()
	mux.Handle("/vendor/", http.StripPrefix("/vendor/", http.FileServer(http.Dir(vendor))))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(playerPage))
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &pageServer{srv: srv, URL: "http://" + ln.Addr().String()}, nil
}

// pageURL is the page playing manifest with the player kind (hls, llhls,
// dash, lldash, whep); sync > 0 sets hls.js's liveSyncDurationCount for
// standard HLS, rate > 1 its maxLiveSyncPlaybackRate.
func (p *pageServer) pageURL(manifest, kind string, sync int, rate float64) string {
	v := url.Values{"src": {manifest}, "kind": {kind}}
	if sync > 0 {
		v.Set("sync", strconv.Itoa(sync))
	}
	if rate > 1 {
		v.Set("rate", strconv.FormatFloat(rate, 'f', -1, 64))
	}
	return fmt.Sprintf("%s/?%s", p.URL, v.Encode())
}

func (p *pageServer) stop() { _ = p.srv.Close() }
