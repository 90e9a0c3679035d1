#!/usr/bin/env bash
# Runs every native fuzz target in the tree, each for FUZZTIME (default 30s).
# The targets are listed by `go test -list '^Fuzz'`, so a new FuzzXxx is
# picked up without editing anything. Arguments narrow the packages
# (default ./...). A target that fails does not stop the others; the script
# names the failures at the end and exits non-zero. Crashers are written
# under the package's testdata/fuzz/, where they stay as regression cases.
#
#   scripts/fuzz.sh                       every target, 30 s each
#   FUZZTIME=5m scripts/fuzz.sh ./internal/storage/
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-$(scripts/ensure-go.sh)}"
FUZZTIME="${FUZZTIME:-30s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-5s}"
[ "$#" -gt 0 ] || set -- ./...

# go test -list prints each package's matching names, then "ok <package>".
list="$(mktemp)"
trap 'rm -f "$list"' EXIT
if ! "$GO" test -run='^$' -list '^Fuzz' "$@" >"$list"; then
	cat "$list" >&2
	echo "fuzz: listing the fuzz targets failed" >&2
	exit 1
fi
targets=()
names=()
while IFS=$'\t' read -r first pkg _; do
	case "$first" in
	Fuzz*) names+=("$first") ;;
	ok*)
		for n in "${names[@]}"; do
			targets+=("$pkg $n")
		done
		names=()
		;;
	esac
done <"$list"
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz target in $*" >&2
	exit 1
fi

echo "fuzz: ${#targets[@]} targets, $FUZZTIME each" >&2
failed=()
for t in "${targets[@]}"; do
	pkg="${t% *}"
	name="${t#* }"
	printf '\n==> %s %s\n' "$name" "$pkg" >&2
	if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime="$FUZZMINIMIZETIME" "$pkg"; then
		failed+=("$name ($pkg)")
	fi
done

if [ "${#failed[@]}" -gt 0 ]; then
	printf '\nfuzz: %d of %d targets failed:\n' "${#failed[@]}" "${#targets[@]}" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
printf '\nfuzz: all %d targets passed\n' "${#targets[@]}" >&2
