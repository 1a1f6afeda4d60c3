#!/usr/bin/env bash
# Installs the pinned Pulumi CLI and a Python language host, built from Go modules, into a
# cache directory outside the repository:
#
#     ${XDG_CACHE_HOME:-$HOME/.cache}/lambda-codesign/pulumi-<version>/bin
#
# Nothing is done when a suitable `pulumi` is already on PATH (v3, at least $MIN_VERSION, with
# pulumi-language-python and pulumi-resource-pulumi-python beside it or on PATH), or when the
# cache already holds this build: a second run takes about a second.
#
# What is built (the Go module wrapper is scripts/pulumi-build/, pinned by its go.mod/go.sum):
#   pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at $PULUMI_VERSION
#   pulumi-language-python          scripts/pulumi-build/pulumi-language-python, against sdk/v3
#                                   at $PULUMI_VERSION (Pulumi's own host module is not served by
#                                   the Go module proxy here; see that file's comment)
#   pulumi-language-python-exec     copied from the sdk/v3 module (python/cmd/)
#   pulumi-resource-pulumi-python   copied from the sdk/v3 module (python/dist/), runs dynamic
#                                   providers
#
# Usage:
#   scripts/install-pulumi.sh                  install if needed; progress on stderr
#   scripts/install-pulumi.sh --force          rebuild into the cache even if pulumi is on PATH
#   scripts/install-pulumi.sh --print-bin-dir  print only the directory holding the pulumi to
#                                              use (never builds): the one on PATH if suitable,
#                                              else the cache directory
#
# Needs Go >= 1.26.6 and the Go module proxy; uses Go's default GOMODCACHE and GOCACHE, so a
# rebuild on the same machine is fast. Measured on 2 cores with empty Go caches: 10 minutes
# (downloads ~30 s, the CLI ~9 min), peak memory 1.9 GB; disk: 1.4 GB of modules, 1.7 GB of
# build cache, 141 MB installed.
set -euo pipefail

PULUMI_VERSION=v3.274.1
MIN_VERSION=3.200.0

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_module="$repo_root/scripts/pulumi-build"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-codesign/pulumi-${PULUMI_VERSION#v}"
bin_dir="$cache_root/bin"
tools=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# version_of BIN: prints BIN's version without the leading v, or nothing.
version_of() {
  local out
  out=$("$1" version 2>/dev/null | head -n1) || return 0
  out=${out#v}
  [[ $out =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] && printf '%s\n' "${BASH_REMATCH[0]}"
  return 0
}

# version_at_least A B: whether dotted version A >= B.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# suitable_dir_on_path: prints the directory of a suitable pulumi on PATH, or nothing.
suitable_dir_on_path() {
  local pulumi dir version helper
  pulumi=$(command -v pulumi 2>/dev/null) || return 0
  dir=$(dirname "$pulumi")
  version=$(version_of "$pulumi")
  [ -n "$version" ] && [ "${version%%.*}" = 3 ] && version_at_least "$version" "$MIN_VERSION" || return 0
  for helper in pulumi-language-python pulumi-resource-pulumi-python; do
    [ -x "$dir/$helper" ] || command -v "$helper" >/dev/null 2>&1 || return 0
  done
  printf '%s\n' "$dir"
}

# The stamp names the release and the wrapper module's exact contents, so editing the
# language host or the pins rebuilds.
build_stamp() {
  (
    cd "$build_module"
    printf '%s\n' "$PULUMI_VERSION"
    find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum
  ) | sha256sum | cut -d' ' -f1
}

cache_is_complete() {
  local tool
  for tool in "${tools[@]}"; do
    [ -x "$bin_dir/$tool" ] || return 1
  done
  [ "$(cat "$bin_dir/.build-stamp" 2>/dev/null)" = "$(build_stamp)" ] || return 1
  [ "$(version_of "$bin_dir/pulumi")" = "${PULUMI_VERSION#v}" ]
}

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  --print-bin-dir)
    dir=$(suitable_dir_on_path)
    printf '%s\n' "${dir:-$bin_dir}"
    exit 0
    ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

if [ "$force" = 0 ]; then
  dir=$(suitable_dir_on_path)
  if [ -n "$dir" ]; then
    log "using the Pulumi CLI on PATH: $dir/pulumi ($(version_of "$dir/pulumi")); nothing to build"
    exit 0
  fi
fi
if [ "$force" = 0 ] && cache_is_complete; then
  log "Pulumi $PULUMI_VERSION is already built in $bin_dir"
  exit 0
fi

step=""
trap 'status=$?; [ $status -ne 0 ] && [ -n "$step" ] && log "FAILED at step: $step (exit $status)"; exit $status' EXIT
begin() {
  step="$*"
  log "$step"
}

begin "[1/5] checking Go"
command -v go >/dev/null 2>&1 || die "Go is not on PATH; Go >= 1.26.6 builds Pulumi $PULUMI_VERSION"
log "      $(go version)"

staging="$cache_root/bin.partial.$$"
rm -rf "$staging"
mkdir -p "$staging"
trap 'status=$?; rm -rf "$staging"; [ $status -ne 0 ] && [ -n "$step" ] && log "FAILED at step: $step (exit $status)"; exit $status' EXIT
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
cd "$build_module"

begin "[2/5] downloading the Go modules that build Pulumi $PULUMI_VERSION (first time: ~30 s, 1.4 GB into $(go env GOMODCACHE))"
targets=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./pulumi-language-python)
go list -deps "${targets[@]}" >/dev/null

begin "[3/5] building pulumi $PULUMI_VERSION (first time on 2 cores: ~9 minutes, 1.7 GB of build cache)"
start=$SECONDS
go build -trimpath -ldflags "$ldflags" -o "$staging/pulumi" "${targets[0]}"
log "      built in $((SECONDS - start)) s"

begin "[4/5] building pulumi-language-python against sdk/v3 $PULUMI_VERSION"
go build -trimpath -ldflags "$ldflags" -o "$staging/pulumi-language-python" "${targets[1]}"

begin "[5/5] installing the Python helper scripts from sdk/v3 and checking the result"
sdk_dir=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
[ -n "$sdk_dir" ] && [ -d "$sdk_dir/python" ] || die "sdk/v3 module directory not found"
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$staging/"
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$staging/"
chmod 0755 "$staging/pulumi" "$staging/pulumi-language-python"
built_version=$(version_of "$staging/pulumi")
[ "$built_version" = "${PULUMI_VERSION#v}" ] ||
  die "the built pulumi reports version '$built_version', expected ${PULUMI_VERSION#v}"
build_stamp >"$staging/.build-stamp"

rm -rf "$bin_dir.old"
[ -d "$bin_dir" ] && mv "$bin_dir" "$bin_dir.old"
mv "$staging" "$bin_dir"
rm -rf "$bin_dir.old"
step=""
log "installed Pulumi $PULUMI_VERSION into $bin_dir ($(du -sh "$bin_dir" | cut -f1))"
log "add it to PATH with: export PATH=\"$bin_dir:\$PATH\""
