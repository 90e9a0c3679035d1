#!/usr/bin/env bash
# Prints the path of a Go toolchain new enough to build Sluice, fetching one
# from the Go module proxy into the user's cache when the machine has none
# (Debian's own golang package is too old). Progress goes to stderr.
set -euo pipefail

want="$(awk '/^go /{print $2}' "$(dirname "$0")/../go.mod")"

version_ok() {
	local have
	have="$("$1" env GOVERSION 2>/dev/null | sed 's/^go//')" || return 1
	[ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]
}

for candidate in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
	if [ -n "$candidate" ] && [ -x "$candidate" ] && version_ok "$candidate"; then
		echo "$candidate"
		exit 0
	fi
done

case "$(uname -m)" in
	x86_64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*) echo "ensure-go: no Go toolchain for $(uname -m); install Go $want by hand" >&2; exit 1 ;;
esac
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/go$want"
gobin="$cache/golang.org/toolchain@v0.0.1-go$want.linux-$arch/bin/go"
if [ ! -x "$gobin" ]; then
	proxy="${GOPROXY:-https://proxy.golang.org}"
	proxy="${proxy%%,*}"
	url="$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
	echo "ensure-go: fetching Go $want from $url" >&2
	mkdir -p "$cache"
	tmp="$(mktemp "$cache/download.XXXXXX")"
	curl -fsSL --retry 3 -o "$tmp" "$url" >&2
	if command -v unzip >/dev/null; then
		unzip -q -o "$tmp" -d "$cache" >&2
	else
		python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tmp" "$cache"
	fi
	rm -f "$tmp"
	chmod -R u+x "$cache/golang.org/toolchain@v0.0.1-go$want.linux-$arch/bin" "$cache/golang.org/toolchain@v0.0.1-go$want.linux-$arch/pkg/tool"
fi
echo "$gobin"
