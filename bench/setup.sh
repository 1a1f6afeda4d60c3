#!/usr/bin/env bash
# Sets up what the benchmarks compare against, apart from the project's own .venv:
# the SAM CLI and moto's server (the S3 endpoint for `sam package`), from PyPI, in
# .bench-venv (kept separate: their pins differ from the project's). The figures in
# BENCHMARKS.md were taken with SAM CLI 1.170.0 and moto 5.2.5. bench_sign.py also needs
# `zip` and `openssl` (any recent version) on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_PULUMI=${SKIP_PULUMI:-1} bash scripts/setup.sh
if [ ! -x .bench-venv/bin/sam ] || [ ! -x .bench-venv/bin/moto_server ]; then
  echo "bench: installing aws-sam-cli and moto[server] into .bench-venv" >&2
  python3 -m venv .bench-venv
  .bench-venv/bin/python -m pip install --quiet --upgrade pip
  .bench-venv/bin/python -m pip install --quiet "aws-sam-cli>=1.170,<2" "moto[server]>=5.2,<6"
fi
.venv/bin/python -m pip install --quiet matplotlib >/dev/null 2>&1 || true
