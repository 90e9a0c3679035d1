// Sluice copy buttons: a button with data-copy="text" puts the text on the
// clipboard and says so for a moment. The asynchronous clipboard API needs a
// secure context (https or localhost); elsewhere a hidden text area and
// document.execCommand("copy") do the same.
(function () {
  "use strict";

  var CONFIRM_MS = 1500;

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function confirm(button, label) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = label;
    button.classList.toggle("copied", label === "Copied");
    setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, CONFIRM_MS);
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    copy(button.dataset.copy).then(
      function () { confirm(button, "Copied"); },
      function () { confirm(button, "Select and copy"); }
    );
  });
})();
