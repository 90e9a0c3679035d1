// Sluice player page: waits for the channel's manifest, plays it with hls.js
// or dash.js, shows playback statistics and the channel's state, and exposes
// window.sluicePlayer so automated checks can read how playback is going.
(function () {
  "use strict";

  var POLL_STATE_MS = 1000;   // channel state refresh
  var MANIFEST_RETRY_MS = 1000; // delay between manifest probes
  var STATS_MS = 500;         // statistics refresh
  var MAX_ERRORS = 500;       // errors kept in window.sluicePlayer.errors
  var SHOWN_ERRORS = 30;      // errors listed on the page
  // A fatal network error (the channel moving to another node, a server
  // restarting) is retried after a growing delay, up to
  // MAX_NETWORK_RECOVERIES times in a row: about 70 s before the page
  // gives up.
  var MAX_NETWORK_RECOVERIES = 10;
  var NETWORK_RETRY_MS = 1000;     // first delay, doubled each time
  var NETWORK_RETRY_MAX_MS = 10000;

  var root = document.getElementById("player");
  var video = document.getElementById("video");
  var message = document.getElementById("message");
  // kind is the player (hls or dash); lowLatency plays the LL_HLS or
  // LL_DASH endpoint in the player's low-latency mode; hlsts plays the
  // HLS_TS endpoint with hls.js.
  var requested = root.dataset.kind || "hls";
  var lowLatency = requested === "llhls" || requested === "lldash";
  var kind = requested === "dash" || requested === "lldash" ? "dash" : "hls";
  var endpointType = requested === "hlsts" ? "HLS_TS" : (lowLatency ? "LL_" : "") + (kind === "dash" ? "DASH" : "HLS");
  var apiURL = root.dataset.api;
  var manifestURL = root.dataset.manifest || "";

  var hls = null;
  var dash = null;
  var attached = false;
  var mediaRecoveryTried = false;
  var networkRecoveries = 0;

  // status is what automated checks read; see internal/testutil/browser.
  var status = {
    kind: kind,
    ready: false,
    errors: [],
    fatal: null,
    currentTime: function () { return video.currentTime; },
    latencySeconds: function () { return latency(); },
    // waiting counts the video element's waiting events once it has
    // played (the stalls a viewer sees); stalledSeconds is how long they
    // lasted in all, the one going on included.
    waiting: 0,
    stalledSeconds: function () { return (stalled + (stallSince ? Date.now() - stallSince : 0)) / 1000; }
  };
  var stalled = 0, stallSince = 0;
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

  // fail records the error that stopped playback for good.
  function fail(text) {
    if (status.fatal !== null) return;
    status.fatal = text;
    recordError("fatal: " + text);
    showMessage("Playback stopped: " + text);
  }

  // ---- channel state -------------------------------------------------------

  function stateClass(state) {
    if (!state) return "state-unknown";
    return "state-" + String(state).toLowerCase().replace(/_/g, "-");
  }

  function setText(id, text) {
    var e = $(id);
    e.textContent = text || "";
    e.hidden = !text;
  }

  function showState(state, reason, lastError) {
    var badge = $("state");
    badge.textContent = state;
    badge.className = "badge " + stateClass(state);
    $("stat-state").textContent = state;
    setText("state-reason", reason);
    setText("last-error", lastError);
  }

  function setManifest(url) {
    manifestURL = url;
    var link = $("stat-manifest");
    link.textContent = url;
    link.href = url;
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
        if (!manifestURL) {
          var ep = (ch.endpoints || []).filter(function (e) { return e.type === endpointType; })[0];
          if (ep) setManifest(ep.url);
        }
      })
      .catch(function (err) {
        $("stat-state").textContent = "unknown (" + err.message + ")";
      })
      .finally(function () { setTimeout(pollState, POLL_STATE_MS); });
  }

  // ---- waiting for the manifest ---------------------------------------------

  // waitForManifest probes the manifest until it answers 200: a channel that
  // is still starting has no manifest yet.
  function waitForManifest() {
    if (attached || status.fatal !== null) return;
    if (!manifestURL) {
      showMessage("Waiting for the channel's " + endpointType + " endpoint…");
      setTimeout(waitForManifest, MANIFEST_RETRY_MS);
      return;
    }
    fetch(manifestURL, { cache: "no-store" })
      .then(function (resp) {
        if (resp.body) resp.body.cancel().catch(function () {});
        if (resp.ok) {
          attach();
          return;
        }
        showMessage("Waiting for the manifest (HTTP " + resp.status + ")…");
        setTimeout(waitForManifest, MANIFEST_RETRY_MS);
      })
      .catch(function (err) {
        showMessage("Waiting for the manifest (" + err.message + ")…");
        setTimeout(waitForManifest, MANIFEST_RETRY_MS);
      });
  }

  function attach() {
    attached = true;
    showMessage("Starting playback…");
    try {
      if (kind === "dash") attachDash(); else attachHls();
    } catch (err) {
      fail("could not start the player: " + (err && err.message ? err.message : err));
    }
  }

  // ---- hls.js ----------------------------------------------------------------

  function describeHlsError(data) {
    var text = "hls.js " + data.type + " " + data.details;
    if (data.fatal) text += " (fatal)";
    if (data.response && data.response.code) text += " HTTP " + data.response.code;
    if (data.frag && data.frag.url) text += " " + data.frag.url;
    else if (data.url) text += " " + data.url;
    if (data.error && data.error.message) text += ": " + data.error.message;
    else if (data.reason) text += ": " + data.reason;
    return text;
  }

  function attachHls() {
    if (typeof window.Hls === "undefined") {
      fail("hls.js did not load");
      return;
    }
    var Hls = window.Hls;
    $("stat-player").textContent = "hls.js " + Hls.version;
    if (!Hls.isSupported()) {
      if (video.canPlayType("application/vnd.apple.mpegurl")) {
        // No MediaSource (older iOS): the browser plays HLS itself.
        $("stat-player").textContent = "native HLS";
        video.src = manifestURL;
        return;
      }
      fail("this browser supports neither MediaSource nor HLS");
      return;
    }
    // Standard HLS: Sluice lists a segment the moment it is complete, so
    // the player can sit two segments behind the live edge instead of
    // hls.js's default three, a segment less latency without stalling.
    // Low-latency endpoints follow the playlist's PART-HOLD-BACK instead;
    // hls.js starts there but ends up as far behind as its start-up took,
    // and only plays faster to get back to it when allowed to: here up to
    // 1.5x (as MediaMTX's own page allows), while it has more than a
    // second buffered.
    var hlsConfig = { lowLatencyMode: lowLatency };
    if (lowLatency) {
      hlsConfig.maxLiveSyncPlaybackRate = 1.5;
    } else {
      hlsConfig.liveSyncDurationCount = 2;
      hlsConfig.liveMaxLatencyDurationCount = 6;
    }
    hls = new Hls(hlsConfig);
    hls.on(Hls.Events.ERROR, function (event, data) {
      var text = describeHlsError(data);
      recordError(text);
      if (!data.fatal) return;
      switch (data.type) {
        case Hls.ErrorTypes.MEDIA_ERROR:
          if (!mediaRecoveryTried) {
            mediaRecoveryTried = true;
            hls.recoverMediaError();
            return;
          }
          break;
        case Hls.ErrorTypes.NETWORK_ERROR:
          if (networkRecoveries < MAX_NETWORK_RECOVERIES) {
            var delay = Math.min(NETWORK_RETRY_MS * Math.pow(2, networkRecoveries), NETWORK_RETRY_MAX_MS);
            networkRecoveries++;
            var stalledHls = hls;
            showMessage("reconnecting in " + Math.round(delay / 1000) + " s: " + text);
            setTimeout(function () {
              if (hls === stalledHls) hls.startLoad();
            }, delay);
            return;
          }
          break;
      }
      fail(text);
      hls.destroy();
      hls = null;
    });
    hls.on(Hls.Events.FRAG_BUFFERED, function () {
      if (networkRecoveries > 0) showMessage("");
      networkRecoveries = 0;
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      video.play().catch(function (err) { recordError("play() refused: " + err.message); });
    });
    hls.loadSource(manifestURL);
    hls.attachMedia(video);
  }

  // ---- dash.js ---------------------------------------------------------------

  // Error codes after which dash.js cannot play: the manifest is unusable or
  // the browser cannot decode the stream.
  var DASH_FATAL_CODES = { 10: true, 23: true, 31: true, 32: true, 34: true, 35: true };
  // Manifest download failures are fatal only before playback started.
  var DASH_MANIFEST_LOAD_CODES = { 11: true, 25: true };

  function attachDash() {
    if (typeof window.dashjs === "undefined") {
      fail("dash.js did not load");
      return;
    }
    var dashjs = window.dashjs;
    var events = dashjs.MediaPlayer.events;
    dash = dashjs.MediaPlayer().create();
    $("stat-player").textContent = "dash.js " + dash.getVersion();
    dash.on(events.ERROR, function (e) {
      var err = e && e.error ? e.error : e;
      var code = err && err.code !== undefined ? err.code : "";
      var text = "dash.js error " + code + ": " + (err && err.message ? err.message : String(err));
      recordError(text);
      if (DASH_FATAL_CODES[code] || (DASH_MANIFEST_LOAD_CODES[code] && !status.ready)) {
        fail(text);
      }
    });
    dash.on(events.PLAYBACK_ERROR, function (e) {
      var err = e && e.error;
      recordError("dash.js playback error: " + (err && err.message ? err.message : "media element error"));
    });
    if (lowLatency) {
      // dash.js switches to low-latency mode (fetching the segment being
      // written chunk by chunk) on availabilityTimeComplete="false"; catch-up
      // steers playback to the MPD's ServiceDescription latency target.
      dash.updateSettings({
        streaming: { liveCatchup: { enabled: true, mode: "liveCatchupModeDefault" } }
      });
    }
    dash.initialize(video, manifestURL, true);
  }

  // ---- statistics ------------------------------------------------------------

  function latency() {
    try {
      if (hls && hls.playingDate) {
        return (Date.now() - hls.playingDate.getTime()) / 1000;
      }
      if (dash && dash.isDynamic()) {
        var l = dash.getCurrentLiveLatency();
        if (isFinite(l) && l > 0) return l;
      }
    } catch (err) {
      // The player is not ready to say yet.
    }
    return null;
  }

  function bufferAhead() {
    var t = video.currentTime;
    var b = video.buffered;
    for (var i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.1 && t <= b.end(i)) return b.end(i) - t;
    }
    return 0;
  }

  function formatRendition(width, height, bandwidth) {
    var text = width && height ? width + "×" + height : "";
    if (bandwidth) text += (text ? ", " : "") + Math.round(bandwidth / 1000) + " kb/s";
    return text;
  }

  function rendition() {
    try {
      if (hls && hls.currentLevel >= 0 && hls.levels && hls.levels[hls.currentLevel]) {
        var level = hls.levels[hls.currentLevel];
        return formatRendition(level.width, level.height, level.bitrate) + (hls.autoLevelEnabled ? " (auto)" : "");
      }
      if (dash) {
        var rep = dash.getCurrentRepresentationForType("video");
        if (rep) return formatRendition(rep.width, rep.height, rep.bandwidth);
      }
    } catch (err) {
      // Fall back to what the video element decodes.
    }
    return video.videoWidth ? formatRendition(video.videoWidth, video.videoHeight, 0) : "–";
  }

  function updateStats() {
    $("stat-time").textContent = attached ? video.currentTime.toFixed(1) + " s" : "–";
    $("stat-buffer").textContent = attached ? bufferAhead().toFixed(1) + " s" : "–";
    var l = latency();
    $("stat-latency").textContent = l === null ? (attached ? "not live" : "–") : l.toFixed(1) + " s";
    $("stat-rendition").textContent = attached ? rendition() : "–";
  }

  // ---- media element ---------------------------------------------------------

  video.addEventListener("playing", function () {
    status.ready = true;
    if (stallSince) {
      stalled += Date.now() - stallSince;
      stallSince = 0;
    }
    if (status.fatal === null) showMessage("");
  });
  video.addEventListener("waiting", function () {
    if (status.ready && !stallSince) {
      status.waiting++;
      stallSince = Date.now();
    }
    if (status.fatal === null) showMessage("Buffering…");
  });
  video.addEventListener("error", function () {
    var e = video.error;
    var text = "media element error" + (e ? " " + e.code + (e.message ? ": " + e.message : "") : "");
    recordError(text);
    // hls.js reports media errors itself and may recover from them.
    if (kind === "dash") fail(text);
  });

  showState($("state").textContent, $("state-reason").textContent, $("last-error").textContent);
  setTimeout(pollState, POLL_STATE_MS);
  setInterval(updateStats, STATS_MS);
  waitForManifest();
})();
