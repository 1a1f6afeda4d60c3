#!/usr/bin/env bash
# Installs Chromium from the system packages for the tests that open pages in a real headless
# browser (tests/audit/test_html_report.py): `apt-get install chromium` (Debian's package;
# with the fonts pages are drawn in), non-interactive, when no Chromium is found. Idempotent:
# a Chromium already there is left alone. Run as root (CI) or with passwordless sudo;
# otherwise it says what to run and exits 1.
#
# The browser the tests use: $CHROMIUM if set, else the first of chromium, chromium-browser,
# google-chrome, google-chrome-stable on PATH.
#
#   bash scripts/install-chromium.sh               # install if missing (stderr only)
#   bash scripts/install-chromium.sh --print-bin   # ... then print the browser's path
set -euo pipefail

packages=(chromium fonts-liberation fonts-dejavu-core)

if [ -n "${CHROMIUM:-}" ] && ! command -v "$CHROMIUM" >/dev/null 2>&1; then
  echo "install-chromium: CHROMIUM=$CHROMIUM is not an executable" >&2
  exit 1
fi

find_chromium() {
  if [ -n "${CHROMIUM:-}" ]; then
    command -v "$CHROMIUM"
    return 0
  fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" 2>/dev/null && return 0
  done
  return 1
}

cannot() {
  echo "install-chromium: $1;" \
    "install it with: apt-get install -y ${packages[*]} (as root), or set CHROMIUM=/path/to/chromium" >&2
  exit 1
}

if ! bin=$(find_chromium); then
  command -v apt-get >/dev/null 2>&1 || cannot "no Chromium found, and no apt-get to install it"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    cannot "no Chromium found, and this user cannot install packages (not root, no passwordless sudo)"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt=(${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get -q -y
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  echo "install-chromium: installing ${packages[*]} with apt-get" >&2
  # A fresh machine (a CI image) may have no package lists yet.
  if ! "${apt[@]}" install --no-install-recommends "${packages[@]}" >&2; then
    "${apt[@]}" update >&2 || cannot "apt-get update failed"
    "${apt[@]}" install --no-install-recommends "${packages[@]}" >&2 \
      || cannot "apt-get install failed"
  fi
  bin=$(find_chromium) || cannot "apt-get installed no chromium executable"
fi
# Some distributions ship a stub that only points at another installer (Ubuntu's snap).
if ! "$bin" --headless=new --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
  cannot "$bin does not run (try: $bin --version)"
fi
if [ "${1:-}" = "--print-bin" ]; then
  echo "$bin"
fi
