// Renders the API reference page (/api-docs) from the server's OpenAPI
// document with the vendored Redoc. The page names both by URL, so the
// renderer is loaded with its cache-busting version; its telemetry is off
// (the page may connect to its own server only).
const root = document.getElementById("api-docs");

async function render() {
  const { init } = await import(root.dataset.renderer);
  await init(root.dataset.specUrl, { disableTelemetry: true }, root);
}

render().catch((err) => {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = "The API reference could not be rendered: " + err;
  root.replaceChildren(p);
});
