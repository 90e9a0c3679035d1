// Sluice channel list: refreshes the table from the JSON API every two
// seconds. It builds the same markup as templates/channel.html.
(function () {
  "use strict";

  var REFRESH_MS = 2000;
  var table = document.getElementById("channels");
  var tbody = table.querySelector("tbody");
  var empty = document.getElementById("empty");
  var status = document.getElementById("refresh");

  function stateClass(state) {
    if (!state) return "state-unknown";
    return "state-" + String(state).toLowerCase().replace(/_/g, "-");
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function hasEndpoint(ch, type) {
    return (ch.endpoints || []).some(function (e) { return e.type === type; });
  }

  function row(ch) {
    var play = "/play/" + encodeURIComponent(ch.name);
    var tr = el("tr");

    var name = el("td", { "class": "name" });
    name.appendChild(el("a", { href: play }, ch.name));
    tr.appendChild(name);

    var state = el("td");
    state.appendChild(el("span", { "class": "badge " + stateClass(ch.state) }, ch.state || "UNKNOWN"));
    tr.appendChild(state);

    var details = el("td", { "class": "details" });
    if (ch.stateReason) details.appendChild(el("div", { "class": "reason" }, ch.stateReason));
    if (ch.lastError) details.appendChild(el("div", { "class": "error" }, ch.lastError));
    tr.appendChild(details);

    var watch = el("td", { "class": "watch" });
    if (hasEndpoint(ch, "HLS")) watch.appendChild(el("a", { "class": "button", href: play + "?player=hls" }, "HLS"));
    if (hasEndpoint(ch, "DASH")) watch.appendChild(el("a", { "class": "button", href: play + "?player=dash" }, "DASH"));
    if (hasEndpoint(ch, "WEBRTC")) watch.appendChild(el("a", { "class": "button", href: play + "?player=webrtc" }, "WebRTC"));
    tr.appendChild(watch);

    var endpoints = el("td", { "class": "endpoints" });
    (ch.endpoints || []).forEach(function (e) {
      var d = el("div");
      d.appendChild(el("span", { "class": "kind" }, e.type));
      d.appendChild(document.createTextNode(" "));
      d.appendChild(el("a", { href: e.url }, e.url));
      endpoints.appendChild(d);
    });
    tr.appendChild(endpoints);
    return tr;
  }

  function render(channels) {
    channels.sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
    var rows = document.createDocumentFragment();
    channels.forEach(function (ch) { rows.appendChild(row(ch)); });
    tbody.replaceChildren(rows);
    table.hidden = channels.length === 0;
    empty.hidden = channels.length !== 0;
  }

  function refresh() {
    fetch("/api/v1/channels", { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error("the channel list answered HTTP " + resp.status);
        return resp.json();
      })
      .then(function (body) {
        var channels = Array.isArray(body) ? body : (body && (body.items || body.channels)) || [];
        render(channels);
        status.textContent = "Updated " + new Date().toLocaleTimeString();
        status.className = "muted";
      })
      .catch(function (err) {
        status.textContent = "Could not refresh: " + err.message;
        status.className = "error";
      })
      .finally(function () { setTimeout(refresh, REFRESH_MS); });
  }

  setTimeout(refresh, REFRESH_MS);
})();
