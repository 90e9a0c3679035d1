// Sluice console: every change a console page makes is a call of the API
// (/api/v1) with the login's CSRF token, so the API's role checks decide.
// Everything shown comes from textContent or attributes, never HTML built
// from data: stream names, event details and job logs are user data.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  // api calls the API and resolves to {ok, status, data}; data is the
  // decoded JSON answer (a problem document on failure) or null.
  function api(method, url, body, type) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = csrf;
      // The API takes JSON only, and says so even of a change without a body.
      init.headers["Content-Type"] = type || "application/json";
    }
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text }; } }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function (err) {
      return { ok: false, status: 0, data: { detail: "the server could not be reached: " + err.message } };
    });
  }

  // why says in words why a call failed.
  function why(res) {
    var d = res.data || {};
    var msg = d.detail || d.title || ("the server answered " + res.status);
    if (res.status === 403) { msg = "Not allowed: " + msg; }
    if (res.status === 401) { msg = "Not logged in any more: " + msg + " (log in again at /login)"; }
    return msg;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function say(text, isError) {
    var box = document.getElementById("result");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = !text;
    box.classList.toggle("error", !!isError);
    box.setAttribute("role", isError ? "alert" : "status");
  }

  function fmtTime(s) {
    if (!s) { return "–"; }
    var d = new Date(s);
    if (isNaN(d.getTime()) || d.getFullYear() < 1971) { return "–"; }
    return d.toLocaleString();
  }

  // Field errors: problem.errors[].path names a field; the element with
  // id "err-<first part of the path>" shows it, else the list #errors.
  function showErrors(form, res) {
    var list = form.querySelector("#errors");
    var shown = form.querySelectorAll(".field-error");
    for (var i = 0; i < shown.length; i++) { shown[i].textContent = ""; }
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (i = 0; i < invalid.length; i++) { invalid[i].removeAttribute("aria-invalid"); }
    if (list) { list.textContent = ""; }
    if (!res) { return; }
    var errs = (res.data && res.data.errors) || [];
    var placed = 0;
    errs.forEach(function (fe) {
      var key = String(fe.path || "").split(/[.\[]/)[0];
      var slot = key ? form.querySelector("#err-" + CSS.escape(key)) : null;
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + fe.path + ": " + fe.message;
        var field = slot.closest(".field");
        var input = field && field.querySelector("input, select, textarea");
        if (input) { input.setAttribute("aria-invalid", "true"); }
        placed++;
      } else if (list) {
        list.appendChild(el("li", "", (fe.path ? fe.path + ": " : "") + fe.message));
      }
    });
    if (list && (errs.length === 0 || placed < errs.length)) {
      list.insertBefore(el("li", "", why(res)), list.firstChild);
    } else if (list && errs.length > 0) {
      list.insertBefore(el("li", "", "The server refused the form: see the fields marked below."), list.firstChild);
    }
  }

  // ---- Actions with an in-page confirmation ----

  function run(button) {
    var method = button.dataset.method, url = button.dataset.api;
    button.disabled = true;
    say(button.textContent + "…", false);
    api(method, url).then(function (res) {
      button.disabled = false;
      if (!res.ok) { say(button.textContent + " failed: " + why(res), true); return; }
      say(button.textContent + ": done.", false);
      var next = button.dataset.next;
      if (next === "reload") { setTimeout(function () { location.reload(); }, 300); }
      else if (next) { location.href = next; }
    });
  }

  function confirmAction(button) {
    var old = document.getElementById("confirm");
    if (old) { old.remove(); }
    var bar = el("div", "confirm");
    bar.id = "confirm";
    bar.setAttribute("role", "alertdialog");
    bar.appendChild(el("span", "", button.dataset.confirm));
    var yes = el("button", "danger", "Yes, " + button.textContent.toLowerCase());
    yes.type = "button";
    yes.id = "confirm-yes";
    var no = el("button", "", "Cancel");
    no.type = "button";
    yes.addEventListener("click", function () { bar.remove(); run(button); });
    no.addEventListener("click", function () { bar.remove(); button.focus(); });
    bar.appendChild(yes);
    bar.appendChild(no);
    button.parentNode.insertBefore(bar, button.nextSibling);
    yes.focus();
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button[data-api]") : null;
    if (!button) { return; }
    if (button.dataset.confirm) { confirmAction(button); } else { run(button); }
  });

  // ---- The state badge of a channel page ----

  function pollState(badge) {
    function tick() {
      api("GET", badge.dataset.poll).then(function (res) {
        if (res.ok && res.data) {
          var st = res.data.state || "UNKNOWN";
          badge.textContent = st;
          badge.className = "badge state-" + st.toLowerCase().replace(/_/g, "-");
          badge.title = res.data.stateReason || "";
          holder(res.data.node || "");
          pipelines(res.data);
        }
      });
    }
    tick();
    setInterval(tick, POLL_MS);
  }

  // holder names the node that holds the channel, as the API says now.
  function holder(node) {
    var row = document.getElementById("holder"), link = document.getElementById("holder-node");
    if (!row || !link) { return; }
    row.hidden = !node;
    link.textContent = node;
    link.href = "/console/nodes#node-" + encodeURIComponent(node);
  }

  // pipelines shows a STANDARD channel's two pipelines as the API says now:
  // node, state, encoder speed, last segment, and why the channel is
  // degraded.
  function pipelines(ch) {
    var box = document.getElementById("pipelines");
    if (!box) { return; }
    var ps = ch.pipelines || [];
    box.hidden = ps.length === 0;
    if (!ps.length) { return; }
    var body = box.querySelector("tbody");
    body.textContent = "";
    ps.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", "", "pipeline " + p.index));
      var node = el("td");
      if (p.node) {
        var a = el("a", "", p.node);
        a.href = "/console/nodes#node-" + encodeURIComponent(p.node);
        node.appendChild(a);
      } else { node.textContent = "–"; }
      tr.appendChild(node);
      var st = el("td");
      st.appendChild(el("span", "badge state-" + String(p.state || "").toLowerCase(), p.state || ""));
      if (p.reason) { st.appendChild(el("div", "muted", p.reason)); }
      tr.appendChild(st);
      tr.appendChild(el("td", "", (p.speed || 0).toFixed(2) + "×"));
      tr.appendChild(el("td", "", p.lastSegment === undefined ? "–" : String(p.lastSegment)));
      tr.appendChild(el("td", "", p.inputActive ? (p.activeInput || "yes") : "fill"));
      tr.appendChild(el("td", "", (p.inputEndpoints || []).join(" ")));
      body.appendChild(tr);
    });
    var notes = [];
    if (ch.pipelineLag) { notes.push("pipeline " + ch.pipelineLag.behind + " is " + ch.pipelineLag.segments + " segment(s) (" + ch.pipelineLag.seconds + " s) behind"); }
    if (ch.degraded) { notes.push("degraded: " + ch.degraded); }
    (ch.warnings || []).forEach(function (w) { notes.push(w); });
    box.querySelector(".notes").textContent = notes.join(" · ");
  }

  // ---- A channel's picture, while it runs ----

  var THUMB_MS = 15000;

  function thumbnail(img, badge) {
    var n = 0;
    function tick() {
      if (!badge || badge.textContent !== "RUNNING") { return; }
      // The API takes no parameter it does not know: the URL changes, so
      // that the browser asks again, by the rate (one picture is taken
      // either way).
      img.src = img.dataset.src + "&fps=" + (1 + (n++ % 2));
    }
    setTimeout(tick, 1500);
    setInterval(tick, THUMB_MS);
  }

  function inputState(span) {
    function tick() {
      api("GET", span.dataset.inputState).then(function (res) {
        if (!res.ok) { span.textContent = why(res); return; }
        var i = res.data, l = i.live, text = i.type + ", " + i.state;
        if (l) {
          text += l.connected ? ", publishing from " + l.publisher + " at " + Math.round((l.bitrateIn || 0) / 1000) + " kbit/s" : ", no publisher";
        }
        span.textContent = text;
      });
    }
    tick();
    setInterval(tick, POLL_MS * 2);
  }

  function alarmState(badge) {
    function tick() {
      api("GET", badge.dataset.pollAlarm).then(function (res) {
        if (!res.ok) { return; }
        var st = res.data.state || "UNKNOWN";
        badge.textContent = st;
        badge.className = "badge alarm-" + st.toLowerCase().replace(/_/g, "-");
        badge.title = res.data.stateReason || "";
      });
    }
    tick();
    setInterval(tick, POLL_MS);
  }

  // ---- A kind's list, refreshed from its own page ----

  function refreshList(table) {
    setInterval(function () {
      // A form open in a row (an alarm's silence) is not taken from under
      // the hand that fills it.
      if (table.querySelector("details[open]") || table.contains(document.activeElement)) { return; }
      fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (resp) {
        if (!resp.ok) { return null; }
        return resp.text();
      }).then(function (html) {
        if (!html) { return; }
        // The server rendered and escaped the rows; they replace the old ones.
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#list tbody");
        var old = table.querySelector("tbody");
        if (fresh && old) {
          var rows = document.importNode(fresh, true);
          localTimes(rows);
          old.replaceWith(rows);
        }
      }, function () { /* the next refresh tries again */ });
    }, POLL_MS * 2);
  }

  // ---- Alarms: silence, acknowledge ----

  // localTimes shows the <time datetime> elements under root in the
  // reader's time.
  function localTimes(root) {
    Array.prototype.forEach.call(root.querySelectorAll("time[datetime]"), function (t) {
      t.textContent = fmtTime(t.getAttribute("datetime"));
    });
  }

  // sendAlarmForm sends a silence or an acknowledgement of one alarm,
  // with its comment, and reloads the page to show the alarm as it is now.
  function sendAlarmForm(form) {
    var ref = form.dataset.alarm, kind = form.dataset.alarmForm;
    var errorBox = form.querySelector(".field-error");
    var body = {}, comment = form.elements.comment.value.trim();
    if (comment) { body.comment = comment; }
    if (kind === "silence") {
      var until = form.elements.until.value;
      if (until) {
        var d = new Date(until);
        if (isNaN(d.getTime())) { errorBox.textContent = "Not a time: " + until; return; }
        body.until = d.toISOString().replace(/\.\d+Z$/, "Z");
      } else {
        body.durationSeconds = Number(form.elements["for"].value);
      }
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.textContent = "";
    api("POST", "/api/v1/alarms/" + encodeURIComponent(ref) + "/" + kind, body).then(function (res) {
      button.disabled = false;
      if (!res.ok) {
        var fields = (res.data && res.data.errors) || [];
        errorBox.textContent = (kind === "silence" ? "Silence" : "Acknowledge") + " failed: " + why(res) +
          fields.map(function (fe) { return " " + fe.path + ": " + fe.message; }).join(";");
        return;
      }
      say(kind === "silence" ? "Alarm " + ref + " is silenced until " + fmtTime(res.data.silence && res.data.silence.until) + "." : "Alarm " + ref + " is acknowledged.", false);
      setTimeout(function () { location.reload(); }, 300);
    });
  }

  // Forms are found when they are sent, so that the rows a list's
  // refresh brings work too.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.dataset || !form.dataset.alarmForm) { return; }
    ev.preventDefault();
    sendAlarmForm(form);
  });

  // ---- Tables filled from the API ----

  function cell(col, row, table) {
    var td = el("td");
    var v = col.key ? row[col.key] : undefined;
    switch (col.type) {
    case "time":
      td.textContent = fmtTime(v);
      break;
    case "progress":
      var bar = el("progress");
      bar.max = 100;
      bar.value = Number(v) || 0;
      bar.setAttribute("aria-label", (Number(v) || 0) + " %");
      td.appendChild(bar);
      td.appendChild(el("span", "pct", " " + (Number(v) || 0) + " %"));
      break;
    case "thumb":
      if (v && v.length) {
        // Thumbnails are keys of the pipeline's output, served under /vod/.
        var img = el("img", "thumb");
        img.src = "/vod/" + encodeURIComponent(row.pipeline) + "/" + String(v[0]).split("/").map(encodeURIComponent).join("/");
        img.alt = "";
        td.appendChild(img);
      }
      break;
    case "count":
      td.textContent = v && v.length !== undefined ? String(v.length) : "–";
      break;
    case "job-actions":
      jobActions(td, row, table);
      break;
    default:
      var text = v === undefined || v === null || v === "" ? "–" : (typeof v === "object" ? JSON.stringify(v) : String(v));
      if (col.link !== undefined && v) {
        var a = el("a", "", text);
        // An empty link prefix links the value itself: a path of this server.
        a.href = col.link ? col.link + encodeURIComponent(v) : (String(v).charAt(0) === "/" ? String(v) : "#");
        td.appendChild(a);
      } else {
        td.textContent = text;
      }
    }
    return td;
  }

  function jobActions(td, job, table) {
    var active = job.state !== "COMPLETE" && job.state !== "ERROR" && job.state !== "CANCELED";
    if (active && table.dataset.canCancel === "true") {
      var cancel = el("button", "", "Cancel");
      cancel.type = "button";
      cancel.dataset.api = "/api/v1/jobs/" + encodeURIComponent(job.id) + "/cancel";
      cancel.dataset.method = "POST";
      cancel.dataset.confirm = "Cancel job " + job.id + "?";
      td.appendChild(cancel);
    }
    if (!active && job.state !== "COMPLETE" && table.dataset.canSubmit === "true") {
      var retry = el("button", "", "Retry");
      retry.type = "button";
      retry.addEventListener("click", function () {
        api("POST", "/api/v1/jobs", { pipeline: job.pipeline, input: job.input }).then(function (res) {
          say(res.ok ? "Submitted again as job " + res.data.id + "." : "Retry failed: " + why(res), !res.ok);
        });
      });
      td.appendChild(retry);
    }
    if (job.state === "COMPLETE") {
      var play = el("a", "button", "Play");
      play.href = "/vod-play/" + encodeURIComponent(job.id);
      td.appendChild(play);
      td.appendChild(document.createTextNode(" "));
    }
    var log = el("button", "", "Log");
    log.type = "button";
    log.addEventListener("click", function () {
      api("GET", "/api/v1/jobs/" + encodeURIComponent(job.id)).then(function (res) {
        var pre = document.getElementById("job-log");
        if (pre) { pre.textContent = res.ok ? (res.data.log || "(no log yet)") : why(res); }
      });
    });
    td.appendChild(log);
  }

  function fillTable(table) {
    var cols = JSON.parse(table.dataset.columns);
    var head = el("thead"), tr = el("tr");
    cols.forEach(function (c) { tr.appendChild(el("th", "", c.title)); });
    head.appendChild(tr);
    var body = el("tbody");
    table.appendChild(head);
    table.appendChild(body);
    var note = el("p", "muted", "Loading…");
    table.parentNode.insertBefore(note, table.nextSibling);
    function tick() {
      api("GET", table.dataset.src).then(function (res) {
        if (!res.ok) { note.textContent = why(res); note.hidden = false; return; }
        var rows = Array.isArray(res.data) ? res.data : (res.data && (res.data.items || res.data.events)) || [];
        body.textContent = "";
        rows.forEach(function (row) {
          var r = el("tr");
          cols.forEach(function (c) { r.appendChild(cell(c, row, table)); });
          body.appendChild(r);
        });
        note.textContent = rows.length ? "" : "None.";
        note.hidden = rows.length > 0;
      });
    }
    tick();
    setInterval(tick, POLL_MS);
  }

  function fillStats(dl) {
    function tick() {
      api("GET", dl.dataset.stats).then(function (res) {
        dl.textContent = "";
        if (!res.ok) { dl.appendChild(el("p", "error", why(res))); return; }
        Object.keys(res.data || {}).forEach(function (k) {
          var v = res.data[k];
          var div = el("div");
          div.appendChild(el("dt", "", k));
          div.appendChild(el("dd", "", typeof v === "number" && k.toLowerCase().indexOf("ratio") >= 0 ? (v * 100).toFixed(1) + " %" : (typeof v === "object" ? JSON.stringify(v) : v)));
          dl.appendChild(div);
        });
      });
    }
    tick();
    setInterval(tick, POLL_MS);
  }

  // ---- Live events ----

  function liveEvents(list) {
    var limit = Number(list.dataset.limit) || 200;
    var empty = document.getElementById("events-empty");
    var state = document.getElementById("stream-state");
    var filter = document.getElementById("filter");
    function matches(li) {
      var q = filter ? filter.value.trim().toLowerCase() : "";
      return !q || li.dataset.text.indexOf(q) >= 0;
    }
    function refilter() {
      var items = list.children;
      for (var i = 0; i < items.length; i++) { items[i].hidden = !matches(items[i]); }
    }
    if (filter) { filter.addEventListener("input", refilter); }
    var last = "";
    function add(e) {
      var li = el("li", "event");
      li.dataset.seq = e.seq;
      li.appendChild(el("time", "", fmtTime(e.at)));
      li.appendChild(el("span", "type", e.type));
      if (e.resource) { li.appendChild(el("span", "res", e.resource)); }
      li.appendChild(el("span", "msg", e.message));
      var detail = e.detail ? Object.keys(e.detail).map(function (k) { return k + "=" + e.detail[k]; }).join(" ") : "";
      if (detail) { li.appendChild(el("span", "detail", detail)); }
      li.dataset.text = [e.type, e.resource, e.message, detail].join(" ").toLowerCase();
      li.hidden = !matches(li);
      list.insertBefore(li, list.firstChild);
      while (list.children.length > limit) { list.removeChild(list.lastChild); }
      if (empty) { empty.hidden = true; }
    }
    // One "data:" line of a Server-Sent Events record is one event's JSON.
    // The stream is read with fetch rather than EventSource, which hands
    // a page only the event types it names in advance.
    function record(text) {
      text.split("\n").forEach(function (line) {
        if (line.indexOf("data: ") !== 0) { return; }
        try {
          var e = JSON.parse(line.slice(6));
          last = String(e.seq);
          add(e);
        } catch (err) { /* not an event */ }
      });
    }
    function connect() {
      var url = "/api/v1/events/stream" + (last ? "?after=" + encodeURIComponent(last) : "");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/event-stream" } }).then(function (resp) {
        if (!resp.ok || !resp.body) { throw new Error("the server answered " + resp.status); }
        if (state) { state.textContent = "Live"; }
        list.dataset.live = "true";
        var reader = resp.body.getReader(), decoder = new TextDecoder(), buf = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { throw new Error("the stream ended"); }
            buf += decoder.decode(chunk.value, { stream: true });
            var cut;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              record(buf.slice(0, cut));
              buf = buf.slice(cut + 2);
            }
            return pump();
          });
        }
        return pump();
      }).catch(function (err) {
        list.dataset.live = "false";
        if (state) { state.textContent = "Reconnecting (" + err.message + ")…"; }
        setTimeout(connect, POLL_MS);
      });
    }
    connect();
  }

  // ---- The generic JSON editor of a resource ----

  function editor(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = form.querySelector("textarea").value, body;
      try { body = JSON.parse(text); } catch (err) {
        showErrors(form, { status: 400, data: { detail: "The text is not JSON: " + err.message } });
        return;
      }
      api(form.dataset.method, form.dataset.target, body).then(function (res) {
        if (!res.ok) { showErrors(form, res); return; }
        showErrors(form, null);
        location.href = form.dataset.next + encodeURIComponent((res.data && res.data.name) || body.name || "");
      });
    });
  }

  // ---- The channel form ----

  function channelForm(form) {
    var inputSel = form.querySelector("#f-input"), ladderSel = form.querySelector("#f-ladder");
    api("GET", "/api/v1/inputs").then(function (res) {
      (res.ok ? res.data : []).forEach(function (i) {
        var o = el("option", "", i.name + " (" + i.type + ")");
        o.value = i.name;
        inputSel.appendChild(o);
      });
    });
    api("GET", "/api/v1/ladders").then(function (res) {
      var ladders = res.ok ? (Array.isArray(res.data) ? res.data : Object.keys(res.data || {})) : [];
      ladders.forEach(function (l) {
        var name = typeof l === "string" ? l : l.name;
        var o = el("option", "", name);
        o.value = name;
        ladderSel.appendChild(o);
      });
      if (ladderSel.options.length > 1 && !ladderSel.value) { ladderSel.selectedIndex = 1; }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = form.querySelector("#f-name").value.trim();
      var input = inputSel.value;
      var outputs = [];
      if (form.querySelector("#f-hls").checked) { outputs.push({ name: "hls", type: "HLS" }); }
      if (form.querySelector("#f-dash").checked) { outputs.push({ name: "dash", type: "DASH" }); }
      if (form.querySelector("#f-llhls").checked) { outputs.push({ name: "llhls", type: "LL_HLS" }); }
      var spec = {
        name: name,
        inputAttachments: input ? [{ input: input === "new-test-pattern" ? name + "-bars" : input }] : [],
        encoder: ladderSel.value ? { ladder: ladderSel.value } : {},
        autoStart: form.querySelector("#f-autostart").checked
      };
      var cls = form.querySelector("#f-class");
      if (cls && cls.value === "STANDARD") { spec.channelClass = "STANDARD"; }
      // None chosen leaves the server's default: HLS and DASH.
      if (outputs.length) { spec.outputs = outputs; }
      var button = form.querySelector("#create");
      button.disabled = true;
      var first = Promise.resolve({ ok: true });
      if (input === "new-test-pattern" && name) {
        first = api("POST", "/api/v1/inputs", { name: name + "-bars", type: "TEST_PATTERN" }).then(function (res) {
          if (!res.ok && res.data && res.data.errors) {
            res.data.errors = res.data.errors.map(function (fe) { return { path: "inputAttachments", message: "the new input: " + fe.path + ": " + fe.message }; });
          }
          return res;
        });
      }
      first.then(function (res) {
        if (!res.ok) { return res; }
        return api("POST", form.dataset.target, spec);
      }).then(function (res) {
        button.disabled = false;
        if (!res.ok) { showErrors(form, res); return; }
        location.href = "/console/channels/" + encodeURIComponent(res.data.name);
      });
    });
  }

  // ---- Job submission ----

  function jobForm(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { pipeline: form.querySelector("#j-pipeline").value.trim(), input: form.querySelector("#j-input").value.trim() };
      api("POST", "/api/v1/jobs", body).then(function (res) {
        if (!res.ok) { showErrors(form, res); return; }
        showErrors(form, null);
        say("Submitted job " + res.data.id + ".", false);
      });
    });
  }

  // ---- Uploads: the file in chunks, resumed from the server's offset ----

  var CHUNK = 1 << 20; // the API's limit of one request body
  var RETRIES = 8;

  function sendChunk(id, file, offset) {
    var blob = file.slice(offset, Math.min(offset + CHUNK, file.size));
    return fetch("/api/v1/uploads/" + encodeURIComponent(id), {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset), "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: blob
    }).then(function (resp) {
      return resp.json().then(function (data) { return { ok: resp.ok, status: resp.status, data: data }; });
    });
  }

  function uploadForm(form) {
    var bar = form.querySelector("#upload-progress"), status = form.querySelector("#upload-status");
    var button = form.querySelector("#upload");
    function progress(done, size) {
      var pct = size ? Math.floor(done * 100 / size) : 0;
      bar.value = pct;
      bar.setAttribute("aria-valuenow", String(pct));
      status.textContent = pct + " % (" + done + " of " + size + " bytes)";
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = form.querySelector("#u-file").files[0];
      if (!file) { return; }
      button.disabled = true;
      showErrors(form, null);
      var req = { pipeline: form.querySelector("#u-pipeline").value.trim(), key: file.name, size: file.size, submit: form.querySelector("#u-submit").checked };
      api("POST", "/api/v1/uploads", req).then(function (res) {
        if (!res.ok) { button.disabled = false; showErrors(form, res); return; }
        var up = res.data, failures = 0;
        progress(0, file.size);
        function next(offset) {
          // Every byte sent but the upload not complete (its server
          // stopped before it stored the file): an empty chunk at the end
          // finishes it.
          if (offset >= file.size && up.complete) { return Promise.resolve(); }
          return sendChunk(up.id, file, offset).then(function (r) {
            if (r.ok) {
              failures = 0;
              up = r.data;
              progress(up.offset, file.size);
              return next(up.offset);
            }
            if (r.status === 409 && r.data && !r.data.complete) {
              // The server has another offset: ask it, and go on from there.
              return api("GET", "/api/v1/uploads/" + encodeURIComponent(up.id)).then(function (g) {
                if (!g.ok) { throw r; }
                up = g.data;
                return next(g.data.offset);
              });
            }
            throw r;
          }, function () {
            // The connection failed: wait, ask the server how far it got, resume.
            if (++failures > RETRIES) { throw { status: 0, data: { detail: "the connection failed " + RETRIES + " times" } }; }
            status.textContent = "Connection lost; resuming…";
            return new Promise(function (ok) { setTimeout(ok, 1000 * failures); }).then(function () {
              return api("GET", "/api/v1/uploads/" + encodeURIComponent(up.id));
            }).then(function (g) {
              if (g.ok) { up = g.data; }
              return next(g.ok ? g.data.offset : offset);
            });
          });
        }
        return next(0).then(function () {
          button.disabled = false;
          bar.value = 100;
          status.textContent = "100 %: stored as " + up.key + (up.job ? "; job " + up.job + " submitted." : ".");
          form.dataset.job = up.job || "";
        });
      }).catch(function (r) {
        button.disabled = false;
        status.textContent = "The upload stopped: " + why(r);
        showErrors(form, r);
      });
    });
  }

  // ---- Harvests ----

  function harvestForm(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var end = new Date(), minutes = Number(form.querySelector("#h-minutes").value) || 5;
      var body = {
        channel: form.querySelector("#h-channel").value.trim(),
        endpoint: form.querySelector("#h-endpoint").value.trim(),
        start: new Date(end.getTime() - minutes * 60000).toISOString().replace(/\.\d+Z$/, "Z"),
        end: end.toISOString().replace(/\.\d+Z$/, "Z")
      };
      api("POST", "/api/v1/harvest-jobs", body).then(function (res) {
        if (!res.ok) { showErrors(form, res); return; }
        showErrors(form, null);
        say("Harvest " + res.data.id + " started.", false);
      });
    });
  }

  // ---- The stack editor: plan, then apply what was planned ----

  function stackForm(form) {
    var planBtn = form.querySelector("#plan"), applyBtn = form.querySelector("#apply");
    var textArea = form.querySelector("#stack"), nameIn = form.querySelector("#s-name");
    // planned is the stack file and name the shown plan is of: apply sends
    // exactly that.
    var planned = null;
    function url(name, plan) {
      return "/api/v1/stacks/" + encodeURIComponent(name) + (plan ? "/plan" : "");
    }
    function show(plan, applied) {
      var section = document.getElementById("plan-result");
      var tbody = document.getElementById("plan-changes");
      document.getElementById("plan-title").textContent = (applied ? "Applied: " : "Plan of ") + "stack " + plan.stack;
      tbody.textContent = "";
      (plan.changes || []).forEach(function (c) {
        var tr = el("tr", "action-" + c.action);
        tr.appendChild(el("td", "", c.action));
        tr.appendChild(el("td", "", c.kind));
        tr.appendChild(el("td", "", c.name));
        tr.appendChild(el("td", "", (c.fields || []).join(", ")));
        tbody.appendChild(tr);
      });
      if (!(plan.changes || []).length) {
        var none = el("tr");
        var td = el("td", "", "No change: the server is as the stack says.");
        td.colSpan = 4;
        none.appendChild(td);
        tbody.appendChild(none);
      }
      section.hidden = false;
    }
    function invalidate() { planned = null; if (applyBtn) { applyBtn.disabled = true; } }
    textArea.addEventListener("input", invalidate);
    nameIn.addEventListener("input", invalidate);
    if (planBtn) {
      planBtn.addEventListener("click", function () {
        var st = { name: nameIn.value.trim(), text: textArea.value };
        api("POST", url(st.name, true), st.text, "application/yaml").then(function (res) {
          if (!res.ok) { showErrors(form, res); invalidate(); return; }
          showErrors(form, null);
          show(res.data, false);
          planned = st;
          if (applyBtn) { applyBtn.disabled = false; }
        });
      });
    }
    if (applyBtn) {
      applyBtn.addEventListener("click", function () {
        if (!planned) { return; }
        var st = planned;
        applyBtn.disabled = true;
        api("PUT", url(st.name, false), st.text, "application/yaml").then(function (res) {
          if (!res.ok) { showErrors(form, res); return; }
          showErrors(form, null);
          show(res.data, true);
          planned = null;
          say("Applied stack " + st.name + ".", false);
        });
      });
    }
  }

  function init() {
    var badge = document.querySelector("[data-poll]");
    if (badge) { pollState(badge); }
    var thumb = document.getElementById("thumbnail");
    if (thumb) { thumbnail(thumb, badge); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-input-state]"), inputState);
    var alarm = document.querySelector("[data-poll-alarm]");
    if (alarm) { alarmState(alarm); }
    localTimes(document);
    Array.prototype.forEach.call(document.querySelectorAll("table[data-src]"), fillTable);
    var list = document.getElementById("list");
    if (list) { refreshList(list); }
    Array.prototype.forEach.call(document.querySelectorAll("dl[data-stats]"), fillStats);
    var events = document.getElementById("events");
    if (events) { liveEvents(events); }
    var f = document.getElementById("editor");
    if (f) { editor(f); }
    f = document.getElementById("channel-form");
    if (f) { channelForm(f); }
    f = document.getElementById("job-form");
    if (f) { jobForm(f); }
    f = document.getElementById("harvest-form");
    if (f) { harvestForm(f); }
    f = document.getElementById("upload-form");
    if (f) { uploadForm(f); }
    f = document.getElementById("stack-form");
    if (f) { stackForm(f); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
