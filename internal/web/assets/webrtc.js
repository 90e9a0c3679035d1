// Sluice WebRTC player: plays the channel's WEBRTC endpoint with the
// browser's own RTCPeerConnection over WHEP (an SDP offer POSTed to the
// endpoint, the answer back, the session URL DELETEd on leaving), shows
// what RTCStats measure — frames decoded, the receive-side latency, the
// round trip — and exposes window.sluicePlayer as player.js does, so
// automated checks read it the same way.
(function () {
  "use strict";

  var POLL_STATE_MS = 1000;
  var RETRY_MS = 1000;
  var STATS_MS = 500;
  var GATHER_MS = 2000;
  var MAX_ERRORS = 500;
  var SHOWN_ERRORS = 30;

  var root = document.getElementById("player");
  var video = document.getElementById("video");
  var message = document.getElementById("message");
  var apiURL = root.dataset.api;
  var endpoint = root.dataset.manifest || "";

  var pc = null;
  var sessionURL = "";
  var stats = { frames: 0, latency: -1, rtt: -1, width: 0, height: 0, audio: false, video: false };

  // status is what automated checks read; see internal/testutil/browser.
  var status = {
    kind: "webrtc",
    ready: false,
    errors: [],
    fatal: null,
    currentTime: function () { return video.currentTime; },
    latencySeconds: function () { return stats.latency; },
    framesDecoded: function () { return stats.frames; },
    hasAudio: function () { return stats.audio; },
    hasVideo: function () { return stats.video; },
    connectionState: function () { return pc ? pc.connectionState : "new"; }
  };
  window.sluicePlayer = status;

  function $(id) { return document.getElementById(id); }

  function showMessage(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function recordError(text) {
    status.errors.push(text);
    if (status.errors.length > MAX_ERRORS) status.errors.shift();
    var list = $("errors");
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + " " + text;
    list.appendChild(item);
    while (list.children.length > SHOWN_ERRORS) list.removeChild(list.firstChild);
    $("no-errors").hidden = true;
  }

  function fail(text) {
    if (status.fatal !== null) return;
    status.fatal = text;
    recordError("fatal: " + text);
    showMessage("Playback stopped: " + text);
  }

  function setText(id, text) {
    var e = $(id);
    e.textContent = text || "";
    e.hidden = !text;
  }

  function stateClass(state) {
    if (!state) return "state-unknown";
    return "state-" + String(state).toLowerCase().replace(/_/g, "-");
  }

  function showState(state, reason, lastError) {
    var badge = $("state");
    badge.textContent = state;
    badge.className = "badge " + stateClass(state);
    $("stat-state").textContent = state;
    setText("state-reason", reason);
    setText("last-error", lastError);
  }

  function pollState() {
    fetch(apiURL, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (resp.status === 404) {
          showState("DELETED", "The channel no longer exists.", "");
          return null;
        }
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      })
      .then(function (ch) {
        if (!ch) return;
        showState(ch.state, ch.stateReason, ch.lastError);
        if (!endpoint) {
          var ep = (ch.endpoints || []).filter(function (e) { return e.type === "WEBRTC"; })[0];
          if (ep) {
            endpoint = ep.url;
            var link = $("stat-manifest");
            link.textContent = endpoint;
            link.href = endpoint;
          }
        }
      })
      .catch(function (err) { $("stat-state").textContent = "unknown (" + err.message + ")"; })
      .finally(function () { setTimeout(pollState, POLL_STATE_MS); });
  }

  // whepURL is the endpoint with the page's signature parameters, if the
  // page was opened with a signed URL (cookies travel on their own).
  function whepURL() {
    var page = new URLSearchParams(window.location.search);
    var u = new URL(endpoint, window.location.href);
    page.forEach(function (v, k) {
      if (k.indexOf("sluice-") === 0) u.searchParams.set(k, v);
    });
    return u.toString();
  }

  // gathered resolves once ICE gathering is complete, or after GATHER_MS:
  // the offer then carries the candidates found so far.
  function gathered(conn) {
    return new Promise(function (resolve) {
      if (conn.iceGatheringState === "complete") return resolve();
      var timer = setTimeout(resolve, GATHER_MS);
      conn.addEventListener("icegatheringstatechange", function () {
        if (conn.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  function connect() {
    if (!endpoint) {
      showMessage("Waiting for the channel's WebRTC endpoint…");
      setTimeout(connect, RETRY_MS);
      return;
    }
    showMessage("Connecting…");
    pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    var stream = new MediaStream();
    video.srcObject = stream;
    pc.ontrack = function (e) {
      stream.addTrack(e.track);
      if (e.track.kind === "audio") stats.audio = true;
      if (e.track.kind === "video") stats.video = true;
    };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === "connected") showMessage("");
      if (pc.connectionState === "failed") {
        recordError("the connection failed; reconnecting");
        reconnect();
      }
    };
    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () { return gathered(pc); })
      .then(function () {
        return fetch(whepURL(), {
          method: "POST",
          headers: { "Content-Type": "application/sdp" },
          body: pc.localDescription.sdp
        });
      })
      .then(function (resp) {
        if (resp.status === 403) {
          return resp.json().then(function (p) { throw new Error("refused: " + (p.detail || resp.status)); });
        }
        if (resp.status !== 201) {
          throw new Error("the channel is not playing yet (HTTP " + resp.status + ")");
        }
        var loc = resp.headers.get("Location");
        if (loc) sessionURL = new URL(loc, window.location.href).toString();
        return resp.text();
      })
      .then(function (answer) { return pc.setRemoteDescription({ type: "answer", sdp: answer }); })
      .then(function () {
        status.ready = true;
        var p = video.play();
        if (p && p.catch) p.catch(function () {});
      })
      .catch(function (err) {
        if (String(err.message).indexOf("refused") === 0) {
          fail(err.message);
          return;
        }
        showMessage(err.message);
        reconnect();
      });
  }

  function reconnect() {
    leave();
    setTimeout(connect, RETRY_MS);
  }

  // leave ends the session: DELETE of its URL, then the connection.
  function leave() {
    if (sessionURL) {
      fetch(sessionURL, { method: "DELETE", keepalive: true }).catch(function () {});
      sessionURL = "";
    }
    if (pc) {
      pc.close();
      pc = null;
    }
  }

  // readStats measures what the browser received. The latency is the
  // receive side's share: half the round trip plus the time frames spend
  // in the jitter buffer and the decoder.
  function readStats() {
    if (!pc) return;
    pc.getStats().then(function (report) {
      var rtt = -1;
      report.forEach(function (s) {
        if (s.type === "inbound-rtp" && s.kind === "video") {
          stats.frames = s.framesDecoded || 0;
          stats.width = s.frameWidth || 0;
          stats.height = s.frameHeight || 0;
          var buffered = s.jitterBufferEmittedCount ? s.jitterBufferDelay / s.jitterBufferEmittedCount : 0;
          var decode = s.framesDecoded ? (s.totalDecodeTime || 0) / s.framesDecoded : 0;
          stats.buffered = buffered + decode;
        }
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && typeof s.currentRoundTripTime === "number") {
          rtt = s.currentRoundTripTime;
        }
      });
      stats.rtt = rtt;
      if (stats.buffered !== undefined) stats.latency = stats.buffered + Math.max(rtt, 0) / 2;
      $("stat-time").textContent = video.currentTime.toFixed(1) + " s";
      $("stat-frames").textContent = String(stats.frames);
      $("stat-rtt").textContent = rtt >= 0 ? (rtt * 1000).toFixed(0) + " ms" : "–";
      $("stat-latency").textContent = stats.latency >= 0 ? (stats.latency * 1000).toFixed(0) + " ms (receive side)" : "–";
      $("stat-rendition").textContent = stats.width ? stats.width + "×" + stats.height : "–";
      $("stat-buffer").textContent = stats.buffered !== undefined ? (stats.buffered * 1000).toFixed(0) + " ms jitter buffer" : "–";
    }).catch(function () {});
  }

  window.addEventListener("pagehide", leave);
  pollState();
  connect();
  setInterval(readStats, STATS_MS);
})();
