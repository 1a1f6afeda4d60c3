#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite, engine tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The real AWS CLI and SAM CLI the endpoint tests drive, and the CDK libraries that
# synthesize examples/cdk (tests/cdk): own virtualenvs, idempotent.
bash scripts/install-clients.sh
# Chromium from the system packages (apt-get, when missing), for the tests that open a page
# in a real headless browser (the audit's HTML report).
bash scripts/install-chromium.sh
# moto's own Signer and Lambda tests, which the endpoint's fidelity test runs (a cache).
bash scripts/fetch-moto-tests.sh >/dev/null
PULUMI_BIN_DIR=$(bash scripts/install-pulumi.sh --print-bin-dir)
export PATH="$PULUMI_BIN_DIR:$PATH"
# pytest exits 5 when no test ran: that is a failure here too.
exec .venv/bin/python -m pytest "$@"
