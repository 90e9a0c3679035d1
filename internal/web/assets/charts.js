// Sluice console charts: each <div class="chart" data-metric=… data-labels=…
// data-stat=… data-rate=… data-scale=…> draws the series of one metric from
// the server's metrics history (/api/v1/metrics/query) with uPlot, over the
// range the #range picker chooses, and refreshes while the page is open.
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var POINTS = 120;
  // SAMPLE is the server's sampling interval in seconds: a query's period
  // must be a multiple of it.
  var SAMPLE = 10;
  var COLOURS = ["#1a66d9", "#1f8a4c", "#b7791f", "#c53030", "#6b46c1", "#2c7a7b", "#718096"];

  function rangeSeconds() {
    var sel = document.getElementById("range");
    return sel ? Number(sel.value) || 900 : 900;
  }

  function seriesName(labels) {
    var keys = Object.keys(labels || {}).sort();
    return keys.length ? keys.map(function (k) { return k + "=" + labels[k]; }).join(",") : "all";
  }

  // align puts every series on one time axis, leaving gaps where a
  // series has no datapoint.
  function align(result, scale) {
    var times = {};
    result.series.forEach(function (s) { s.points.forEach(function (p) { times[Date.parse(p.time) / 1000] = true; }); });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (t, i) { index[t] = i; });
    var data = [xs];
    result.series.forEach(function (s) {
      var ys = xs.map(function () { return null; });
      s.points.forEach(function (p) { ys[index[Date.parse(p.time) / 1000]] = p.value * scale; });
      data.push(ys);
    });
    return data;
  }

  function Chart(box) {
    this.box = box;
    var title = document.createElement("h3");
    title.textContent = box.dataset.title || box.dataset.metric;
    box.appendChild(title);
    this.plotBox = document.createElement("div");
    box.appendChild(this.plotBox);
    this.note = document.createElement("p");
    this.note.className = "muted";
    box.appendChild(this.note);
    this.plot = null;
    this.key = "";
  }

  Chart.prototype.load = function () {
    var self = this, box = this.box, span = rangeSeconds();
    var now = Math.floor(Date.now() / 1000);
    var q = new URLSearchParams({
      name: box.dataset.metric,
      stat: box.dataset.stat || "avg",
      from: String(now - span),
      to: String(now),
      period: String(SAMPLE * Math.max(1, Math.round(span / POINTS / SAMPLE)))
    });
    if (box.dataset.labels) { q.set("labels", box.dataset.labels); }
    if (box.dataset.rate === "true") { q.set("rate", "true"); }
    fetch("/api/v1/metrics/query?" + q.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.json().then(function (body) { return { ok: resp.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { self.note.textContent = (res.body && res.body.detail) || "The metrics could not be read."; return; }
        self.draw(res.body);
      }, function (err) { self.note.textContent = "The metrics could not be read: " + err.message; });
  };

  Chart.prototype.draw = function (result) {
    var self = this;
    var data = align(result, Number(this.box.dataset.scale) || 1);
    var names = result.series.map(function (s) { return seriesName(s.labels); });
    this.box.dataset.points = String(data[0].length);
    this.note.textContent = data[0].length ? "" : "No data in this range yet.";
    var key = names.join("|");
    // The x axis spans the queried range, however few points there are.
    this.range = [Date.parse(result.from) / 1000, Date.parse(result.to) / 1000];
    if (this.plot && key === this.key) {
      this.plot.setData(data, true);
      return;
    }
    if (this.plot) { this.plot.destroy(); }
    this.key = key;
    var width = Math.max(260, this.box.clientWidth - 16);
    var opts = {
      width: width,
      height: 180,
      legend: { show: names.length > 0 },
      scales: { x: { time: true, range: function () { return self.range; } } },
      series: [{}].concat(names.map(function (n, i) {
        return { label: n, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: false };
      })),
      axes: [{}, { size: 60 }]
    };
    this.plot = new window.uPlot(opts, data, this.plotBox);
  };

  function init() {
    if (!window.uPlot) { return; }
    var charts = Array.prototype.map.call(document.querySelectorAll(".chart[data-metric]"), function (box) { return new Chart(box); });
    function all() { charts.forEach(function (c) { c.load(); }); }
    all();
    setInterval(all, REFRESH_MS);
    var sel = document.getElementById("range");
    if (sel) { sel.addEventListener("change", all); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
