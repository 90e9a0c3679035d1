#!/usr/bin/env bash
# Installs the Debian packages Sluice needs, only those that are missing:
#   scripts/deps.sh run    ffmpeg and fonts (to run the server)
#   scripts/deps.sh test   also chromium (browser tests), unzip/curl, numpy, PostgreSQL,
#                          and the MinIO server built into .tools
#   scripts/deps.sh bench  also chromium, wrk, nginx and npm (bench/latency, bench/origin;
#                          bench/latency fetches hls.js for its MediaMTX build with npm)
#   scripts/deps.sh bench-edge   also wrk, varnish and nginx (bench/edge)
# Runs apt-get as root, or through sudo. No prompts.
set -euo pipefail

mode="${1:-run}"
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf ] || need+=(fonts-dejavu-core)
command -v curl >/dev/null || need+=(curl ca-certificates)
command -v git >/dev/null || need+=(git)
if [ "$mode" = test ]; then
	command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
	command -v srt-live-transmit >/dev/null || need+=(srt-tools)
	command -v promtool >/dev/null || need+=(prometheus)
	command -v unzip >/dev/null || need+=(unzip)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
	{ python3 -c 'import numpy' || /usr/bin/python3 -c 'import numpy'; } 2>/dev/null || need+=(python3 python3-numpy)
fi
if [ "$mode" = bench ]; then
	command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
	command -v wrk >/dev/null || need+=(wrk)
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
	command -v npm >/dev/null || need+=(npm)
fi
if [ "$mode" = bench-edge ]; then
	command -v wrk >/dev/null || need+=(wrk)
	command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || need+=(varnish)
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
fi
if [ ${#need[@]} -gt 0 ]; then
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "deps: these packages are missing and installing them needs root: ${need[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q >&2
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# A real S3-compatible server for the storage and on-demand tests: MinIO,
# built once into .tools (slow the first time, cached afterwards).
minio_version="v0.0.0-20260212201848-7aac2a2c5b7c"
if [ "$mode" = test ]; then
	root="$(cd "$(dirname "$0")/.." && pwd)"
	stamp="$root/.tools/minio.version"
	if [ ! -x "$root/.tools/minio" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$minio_version" ]; then
		go="$("$root/scripts/ensure-go.sh")"
		echo "deps: building the MinIO server $minio_version into .tools (takes several minutes)" >&2
		mkdir -p "$root/.tools"
		CGO_ENABLED=0 GOBIN="$root/.tools" GOFLAGS= "$go" install "github.com/minio/minio@$minio_version" >&2
		echo "$minio_version" >"$stamp"
	fi
fi
