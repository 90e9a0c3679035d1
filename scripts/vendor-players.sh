#!/usr/bin/env bash
# Refreshes the browser players and the API reference renderer that Sluice's
# web pages embed.
#
# Fetches hls.js, dash.js, Redoc and uPlot (the console's charts) from the npm registry and copies their
# minified browser builds and licences into internal/web/assets/vendor/, so
# building Sluice never needs npm. Run it from anywhere; commit what it
# changes.
#
# Usage: scripts/vendor-players.sh
set -euo pipefail

HLS_VERSION=1.7.4
DASH_VERSION=5.2.1
REDOC_VERSION=2.5.0
UPLOT_VERSION=1.6.32

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/internal/web/assets/vendor"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent --no-fund --no-audit "hls.js@$HLS_VERSION" "dashjs@$DASH_VERSION" "redoc@$REDOC_VERSION" "uplot@$UPLOT_VERSION" >/dev/null
mkdir hls dash redoc uplot
tar -xzf "hls.js-$HLS_VERSION.tgz" -C hls
tar -xzf "dashjs-$DASH_VERSION.tgz" -C dash
tar -xzf "redoc-$REDOC_VERSION.tgz" -C redoc
tar -xzf "uplot-$UPLOT_VERSION.tgz" -C uplot

# hls.js: the UMD build that defines the global Hls.
hls_src="$work/hls/package"
# dash.js: the "modern" UMD build (the one the package's "browser" export names),
# which defines the global dashjs; the "legacy" build only adds ES5 shims.
dash_src="$work/dash/package"
dash_umd="$dash_src/dist/modern/umd"
# Redoc: the standalone bundle (React and its other dependencies inside), a
# UMD script that defines the global Redoc, and the notices of what it bundles.
# Redoc 3 bundles links and icons for outside services the API reference
# has no use for; 2.5 renders the same document without them.
redoc_src="$work/redoc/package"
# uPlot: the minified IIFE build, which defines the global uPlot, and its stylesheet.
uplot_src="$work/uplot/package"

for f in "$hls_src/dist/hls.min.js" "$hls_src/LICENSE" \
	"$dash_umd/dash.all.min.js" "$dash_umd/dash.all.min.js.LICENSE.txt" "$dash_src/LICENSE.md" \
	"$redoc_src/bundles/redoc.standalone.js" "$redoc_src/bundles/redoc.standalone.js.LICENSE.txt" "$redoc_src/LICENSE" \
	"$uplot_src/dist/uPlot.iife.min.js" "$uplot_src/dist/uPlot.min.css" "$uplot_src/LICENSE"; do
	if [[ ! -f "$f" ]]; then
		echo "vendor-players: expected file missing from the npm package: ${f#"$work"/}" >&2
		exit 1
	fi
done

mkdir -p "$dest"
install -m 0644 "$hls_src/dist/hls.min.js" "$dest/hls.min.js"
install -m 0644 "$hls_src/LICENSE" "$dest/hls.js.LICENSE"
install -m 0644 "$dash_umd/dash.all.min.js" "$dest/dash.all.min.js"
# dash.all.min.js points at this file by name for its bundled third-party notices.
install -m 0644 "$dash_umd/dash.all.min.js.LICENSE.txt" "$dest/dash.all.min.js.LICENSE.txt"
install -m 0644 "$dash_src/LICENSE.md" "$dest/dashjs.LICENSE"
install -m 0644 "$redoc_src/bundles/redoc.standalone.js" "$dest/redoc.standalone.js"
# redoc.standalone.js points at this file by name for its bundled third-party notices.
install -m 0644 "$redoc_src/bundles/redoc.standalone.js.LICENSE.txt" "$dest/redoc.standalone.js.LICENSE.txt"
install -m 0644 "$redoc_src/LICENSE" "$dest/redoc.LICENSE"
install -m 0644 "$uplot_src/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
install -m 0644 "$uplot_src/dist/uPlot.min.css" "$dest/uPlot.min.css"
install -m 0644 "$uplot_src/LICENSE" "$dest/uPlot.LICENSE"

echo "vendored hls.js $HLS_VERSION, dash.js $DASH_VERSION and Redoc $REDOC_VERSION and uPlot $UPLOT_VERSION into ${dest#"$root"/}"
ls -l "$dest"
