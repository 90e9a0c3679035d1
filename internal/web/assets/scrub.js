// Sluice scrub bar: previews the frame of an on-demand asset under the
// pointer or the keyboard's position, from the asset's sprite sheet and
// its WebVTT track (each cue "sprite.jpg#xywh=x,y,w,h"), and seeks the
// player there on a click, Enter or Space. window.sluiceScrub tells
// automated checks what it shows.
(function () {
  "use strict";

  var root = document.getElementById("scrub");
  if (!root) { return; }
  var video = document.getElementById(root.dataset.video || "video");
  var bar = document.getElementById("scrub-bar");
  var fill = document.getElementById("scrub-fill");
  var mark = document.getElementById("scrub-mark");
  var preview = document.getElementById("scrub-preview");
  var frame = document.getElementById("scrub-frame");
  var label = document.getElementById("scrub-time");
  var note = document.getElementById("scrub-note");

  var cues = [];
  var position = 0; // seconds: where the pointer or the keyboard is
  var state = { cues: 0, shown: null, position: 0, seeks: 0, error: "" };
  window.sluiceScrub = state;

  // parseTime reads a WebVTT time, HH:MM:SS.mmm or MM:SS.mmm, in seconds.
  function parseTime(s) {
    var m = /^(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:\.(\d{1,3}))?$/.exec(String(s).trim());
    if (!m) { return NaN; }
    var ms = (m[4] || "0");
    while (ms.length < 3) { ms += "0"; }
    return Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(ms) / 1000;
  }

  // parseTrack reads the cues of a thumbnails track; a cue that is not
  // "start --> end" then "image#xywh=x,y,w,h" is skipped.
  function parseTrack(text, base) {
    var out = [];
    text.replace(/\r\n?/g, "\n").split(/\n{2,}/).forEach(function (block) {
      var lines = block.split("\n");
      for (var i = 0; i < lines.length; i++) {
        var arrow = lines[i].indexOf("-->");
        if (arrow < 0) { continue; }
        var start = parseTime(lines[i].slice(0, arrow));
        var end = parseTime(lines[i].slice(arrow + 3).trim().split(/\s+/)[0]);
        var target = (lines[i + 1] || "").trim();
        var hash = target.indexOf("#xywh=");
        if (isNaN(start) || isNaN(end) || end <= start || hash <= 0) { return; }
        var xywh = target.slice(hash + 6).split(",").map(Number);
        if (xywh.length !== 4 || xywh.some(function (n) { return !isFinite(n) || n < 0; }) || !xywh[2] || !xywh[3]) { return; }
        var url;
        try { url = new URL(target.slice(0, hash), base); } catch (e) { return; }
        if (url.origin !== location.origin) { return; }
        out.push({ start: start, end: end, url: url.href, x: xywh[0], y: xywh[1], w: xywh[2], h: xywh[3] });
        return;
      }
    });
    out.sort(function (a, b) { return a.start - b.start; });
    return out;
  }

  function duration() {
    if (video && isFinite(video.duration) && video.duration > 0) { return video.duration; }
    return cues.length ? cues[cues.length - 1].end : 0;
  }

  // step is one tile's time: what an arrow key moves.
  function step() { return cues.length ? cues[0].end - cues[0].start : 5; }

  function cueAt(t) {
    for (var i = 0; i < cues.length; i++) {
      if (t >= cues[i].start && t < cues[i].end) { return cues[i]; }
    }
    return cues.length && t >= cues[cues.length - 1].end ? cues[cues.length - 1] : null;
  }

  function clock(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  // show previews the frame at t seconds.
  function show(t) {
    var d = duration();
    position = Math.max(0, Math.min(d, t));
    state.position = position;
    var frac = d ? position / d : 0;
    mark.style.left = (frac * 100) + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(position)));
    bar.setAttribute("aria-valuetext", clock(position));
    var c = cueAt(position);
    if (!c) { preview.hidden = true; state.shown = null; return; }
    frame.style.width = c.w + "px";
    frame.style.height = c.h + "px";
    frame.style.backgroundImage = "url(\"" + c.url.replace(/"/g, "%22") + "\")";
    frame.style.backgroundPosition = (-c.x) + "px " + (-c.y) + "px";
    label.textContent = clock(position);
    preview.hidden = false;
    var room = bar.clientWidth - c.w;
    preview.style.left = Math.max(0, Math.min(room, frac * bar.clientWidth - c.w / 2)) + "px";
    state.shown = { time: position, x: c.x, y: c.y, w: c.w, h: c.h, url: c.url };
  }

  function hide() {
    if (document.activeElement !== bar) { preview.hidden = true; }
  }

  function seek(t) {
    if (!video) { return; }
    video.currentTime = t;
    state.seeks++;
  }

  function at(ev) {
    var r = bar.getBoundingClientRect();
    return r.width ? (ev.clientX - r.left) / r.width * duration() : 0;
  }

  bar.addEventListener("pointermove", function (ev) { show(at(ev)); });
  bar.addEventListener("pointerleave", hide);
  bar.addEventListener("click", function (ev) { show(at(ev)); seek(position); });
  bar.addEventListener("focus", function () { show(video ? video.currentTime : 0); });
  bar.addEventListener("blur", function () { preview.hidden = true; });
  bar.addEventListener("keydown", function (ev) {
    var s = step(), to = null;
    switch (ev.key) {
    case "ArrowRight": case "ArrowUp": to = position + s; break;
    case "ArrowLeft": case "ArrowDown": to = position - s; break;
    case "PageUp": to = position + 10 * s; break;
    case "PageDown": to = position - 10 * s; break;
    case "Home": to = 0; break;
    case "End": to = duration(); break;
    case "Enter": case " ": seek(position); ev.preventDefault(); return;
    default: return;
    }
    ev.preventDefault();
    show(to);
  });
  if (video) {
    video.addEventListener("timeupdate", function () {
      var d = duration();
      fill.style.width = (d ? Math.min(1, video.currentTime / d) * 100 : 0) + "%";
    });
    video.addEventListener("loadedmetadata", function () { bar.setAttribute("aria-valuemax", String(Math.round(duration()))); });
  }

  fetch(root.dataset.track, { credentials: "same-origin" }).then(function (resp) {
    if (!resp.ok) { throw new Error("the thumbnails track answered " + resp.status); }
    return resp.text();
  }).then(function (text) {
    cues = parseTrack(text, new URL(root.dataset.track, location.href));
    state.cues = cues.length;
    if (!cues.length) { throw new Error("the thumbnails track has no preview"); }
    bar.setAttribute("aria-valuemax", String(Math.round(duration())));
    root.dataset.ready = "true";
  }).catch(function (err) {
    state.error = err.message;
    if (note) { note.textContent = "No previews: " + err.message; }
  });
})();
