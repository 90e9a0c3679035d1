// Renders the API reference page (/api-docs) from the server's OpenAPI
// document with the vendored Redoc, which the page loads before this
// script and which defines the global Redoc. The page may connect to its
// own server only.
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  function fail(err) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = "The API reference could not be rendered: " + err;
    root.replaceChildren(p);
  }
  if (!window.Redoc || typeof window.Redoc.init !== "function") {
    fail("the renderer did not load");
    return;
  }
  try {
    window.Redoc.init(root.dataset.specUrl, {}, root, function (err) {
      if (err) fail(err);
    });
  } catch (err) {
    fail(err);
  }
})();
