#!/usr/bin/env bash
# Builds the MediaMTX peer of bench/latency into .tools/mediamtx, once:
# later runs print the path of the cached binary at once. Nothing of it is
# committed. Prints the binary's path on stdout, progress on stderr.
#
# MediaMTX's module lacks two files its release step generates: its
# version (internal/core/VERSION) and hls.js (internal/servers/hls/
# hls.min.js, of the hls.js version it pins in hlsjsdownloader/VERSION).
# The script adds them, from the npm registry for hls.js, and builds
# without cgo.
set -euo pipefail

version=v1.15.3
hlsjs=1.6.13

root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="$root/.tools"
bin="$tools/mediamtx"
stamp="$tools/mediamtx.version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
go="$("$root/scripts/ensure-go.sh")"
command -v npm >/dev/null || { echo "mediamtx.sh: npm is needed to fetch hls.js $hlsjs (Debian: apt-get install npm)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "mediamtx.sh: downloading github.com/bluenviron/mediamtx@$version" >&2
# Outside any module, so that Sluice's go.mod and go.sum stay as they are.
dir="$(cd "$work" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/bluenviron/mediamtx@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -d "$dir" ] || { echo "mediamtx.sh: go mod download gave no source directory" >&2; exit 1; }

src="$tools/mediamtx-src"
rm -rf "$src"
mkdir -p "$tools"
cp -r "$dir" "$src"
chmod -R u+w "$src"
printf '%s' "$version" >"$src/internal/core/VERSION"

echo "mediamtx.sh: fetching hls.js $hlsjs" >&2
(cd "$work" && npm pack --silent "hls.js@$hlsjs" >/dev/null)
tar -xzf "$work/hls.js-$hlsjs.tgz" -C "$work" package/dist/hls.min.js
cp "$work/package/dist/hls.min.js" "$src/internal/servers/hls/hls.min.js"

echo "mediamtx.sh: building (about 1.5 minutes on 2 cores)" >&2
(cd "$src" && CGO_ENABLED=0 "$go" build -trimpath -o "$bin" .)
printf '%s\n' "$version" >"$stamp"
echo "$bin"
