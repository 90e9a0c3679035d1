// Sluice publishing page: sends the browser's camera and microphone to a
// WHIP_PUSH input (an SDP offer POSTed with the stream key as the bearer
// token, H.264 preferred), and exposes window.sluicePublisher so
// automated checks can read how it goes. A link may carry the key in its
// fragment (#key=…): it starts publishing at once.
(function () {
  "use strict";

  var GATHER_MS = 2000;
  var STATS_MS = 1000;

  var form = document.getElementById("publish");
  var keyInput = document.getElementById("key");
  var preview = document.getElementById("preview");
  var whip = form.dataset.whip;
  var pc = null;
  var media = null;
  var sessionURL = "";
  var key = "";

  var status = {
    publishing: false,
    errors: [],
    fatal: null,
    bytesSent: 0,
    videoCodec: "",
    connectionState: function () { return pc ? pc.connectionState : "new"; }
  };
  window.sluicePublisher = status;

  function $(id) { return document.getElementById(id); }

  function record(text) {
    status.errors.push(text);
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + " " + text;
    $("errors").appendChild(item);
    $("no-errors").hidden = true;
  }

  function show(state, cls) {
    var badge = $("state");
    badge.textContent = state;
    badge.className = "badge " + cls;
  }

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

  // preferH264 puts H.264 first among the video codecs the browser offers:
  // Sluice's ingest takes H.264.
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpSender || !RTCRtpSender.getCapabilities) return;
    var codecs = RTCRtpSender.getCapabilities("video").codecs;
    var h264 = codecs.filter(function (c) { return c.mimeType.toLowerCase() === "video/h264" && /packetization-mode=1/.test(c.sdpFmtpLine || ""); });
    if (!h264.length) {
      record("this browser cannot send H.264; Sluice's WHIP ingest takes H.264 only");
      return;
    }
    var rest = codecs.filter(function (c) { return h264.indexOf(c) < 0; });
    transceiver.setCodecPreferences(h264.concat(rest));
  }

  function start() {
    key = keyInput.value;
    if (!key) return;
    $("start").disabled = true;
    $("stop").disabled = false;
    show("connecting", "state-starting");
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true })
      .then(function (stream) {
        media = stream;
        preview.srcObject = stream;
        pc = new RTCPeerConnection();
        pc.onconnectionstatechange = function () {
          $("stat-connection").textContent = pc.connectionState;
          if (pc.connectionState === "connected") {
            status.publishing = true;
            show("publishing", "state-running");
          }
          if (pc.connectionState === "failed") {
            record("the connection failed");
            stop();
          }
        };
        stream.getTracks().forEach(function (track) {
          var t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
          if (track.kind === "video") preferH264(t);
        });
        return pc.createOffer();
      })
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () { return gathered(pc); })
      .then(function () {
        return fetch(whip, {
          method: "POST",
          headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + key },
          body: pc.localDescription.sdp
        });
      })
      .then(function (resp) {
        if (resp.status !== 201) {
          return resp.text().then(function (t) {
            var detail = t;
            try { detail = JSON.parse(t).detail || t; } catch (e) {}
            throw new Error("refused (HTTP " + resp.status + "): " + detail);
          });
        }
        var loc = resp.headers.get("Location");
        if (loc) sessionURL = new URL(loc, window.location.href).toString();
        return resp.text();
      })
      .then(function (answer) { return pc.setRemoteDescription({ type: "answer", sdp: answer }); })
      .catch(function (err) {
        status.fatal = String(err.message || err);
        record(status.fatal);
        stop();
      });
  }

  function stop() {
    if (sessionURL) {
      fetch(sessionURL, { method: "DELETE", headers: { "Authorization": "Bearer " + key }, keepalive: true }).catch(function () {});
      sessionURL = "";
    }
    if (pc) {
      pc.close();
      pc = null;
    }
    if (media) {
      media.getTracks().forEach(function (t) { t.stop(); });
      media = null;
    }
    status.publishing = false;
    $("start").disabled = false;
    $("stop").disabled = true;
    show("not publishing", "state-idle");
  }

  function readStats() {
    if (!pc) return;
    pc.getStats().then(function (report) {
      var sent = 0;
      report.forEach(function (s) {
        if (s.type === "outbound-rtp") sent += s.bytesSent || 0;
        if (s.type === "codec" && /^video\//i.test(s.mimeType || "")) status.videoCodec = s.mimeType;
      });
      status.bytesSent = sent;
      $("stat-sent").textContent = (sent / 1e6).toFixed(2) + " MB";
      $("stat-video").textContent = status.videoCodec || "–";
    }).catch(function () {});
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    start();
  });
  $("stop").addEventListener("click", stop);
  window.addEventListener("pagehide", stop);
  setInterval(readStats, STATS_MS);

  var fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.get("key")) {
    keyInput.value = fragment.get("key");
    history.replaceState(null, "", window.location.pathname);
    start();
  }
})();
