#!/usr/bin/env bash
# Sets up a development environment on a fresh machine: a virtualenv in .venv with the
# project (editable) and its dev dependencies, and the pinned Pulumi CLI (built from Go
# modules unless a suitable one is already on PATH). Safe to run again: it only does
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating virtualenv .venv" >&2
  "$python" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its dev dependencies" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
if [ "${SKIP_PULUMI:-}" != "1" ]; then
  bash scripts/install-pulumi.sh
fi
