#!/usr/bin/env bash
# The whole test suite with its quality gates, as CI runs it on a fresh
# Debian machine (as root, no prompts): installs what the tests need, then
# gofmt, go vet, golangci-lint, go mod tidy -diff and go test -race ./...
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "system packages (ffmpeg, chromium, fonts)"
scripts/deps.sh test

GO="$(scripts/ensure-go.sh)"
export PATH="$(dirname "$GO"):$PATH"
export GOTOOLCHAIN=local
step "$(go version)"

step "go mod download"
go mod download

step "merge leftovers"
if git grep -nI -E '^(<<<<<<< |>>>>>>> )' -- . ':!*.golden' 2>/dev/null; then
	echo "the lines above are conflict markers left by a merge" >&2
	exit 1
fi

step "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))"
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "golangci-lint"
lint_version="v2.15.0"
tools="$PWD/.tools"
if ! "$tools/golangci-lint" version 2>/dev/null | grep -q "${lint_version#v}"; then
	echo "installing golangci-lint $lint_version into $tools" >&2
	GOBIN="$tools" GOFLAGS= go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$lint_version"
fi
"$tools/golangci-lint" run ./...

step "go mod tidy -diff"
go mod tidy -diff

step "go test -race ./..."
export SLUICE_REQUIRE_TOOLS=1
go test -race -count=1 -timeout 30m ./...

step "all checks passed"
