#!/usr/bin/env bash
# Fetches moto's own Signer and Lambda tests (tests/test_signer, tests/test_awslambda and
# the helpers they import) from moto's source distribution on PyPI, at the moto version
# `sam-ext serve` pins, into a cache directory; tests/endpoint/test_moto_fidelity.py runs
# them against moto_server and against sam-ext serve. They are not part of this repository
# (moto's licence and size). Idempotent: a version already fetched is left alone. Prints
# the directory (holding tests/ and pytest.ini) on stdout, nothing else.
#
#   bash scripts/fetch-moto-tests.sh            # the pinned version
#   bash scripts/fetch-moto-tests.sh 5.2.5
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-$(sed -n 's/^PINNED_MOTO = "\(.*\)"$/\1/p' provider/endpoint/moto_hook.py)}
[ -n "$version" ] || { echo "fetch-moto-tests: no moto version given or pinned" >&2; exit 2; }
root=${LAMBDA_CODESIGN_MOTO_TESTS:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-codesign/moto-tests}
python=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
target="$root/$version"
stamp="$target/.fetched"
# What is taken from the sdist: the two suites, and what they import from moto's tests.
members=(
  tests/__init__.py tests/conftest.py tests/markers.py
  tests/test_signer tests/test_awslambda
  tests/test_s3/__init__.py tests/test_ecr/__init__.py tests/test_ecr/test_ecr_helpers.py
)

if [ ! -f "$stamp" ]; then
  mkdir -p "$root"
  # One fetch at a time: parallel test runs share the cache.
  exec 9>"$root/.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    echo "fetch-moto-tests: fetching moto $version's tests from its sdist" >&2
    scratch=$(mktemp -d "$root/.fetch.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
      --no-binary :all: "moto==$version" -d "$scratch/sdist" >&2
    sdist=$(ls "$scratch"/sdist/moto-*.tar.gz)
    mkdir "$scratch/tree"
    tar -xzf "$sdist" -C "$scratch/tree" --strip-components=1 \
      "${members[@]/#/moto-$version/}"
    # moto's markers (its own pytest configuration is not in the sdist's tests/)
    printf '%s\n' '[pytest]' 'markers =' '    network: requires network connection' \
      '    requires_docker: requires running docker' \
      '    aws_verified: verified against AWS' \
      '    requires_clean_slate: requires a clean slate' > "$scratch/tree/pytest.ini"
    rm -rf "$target"
    mv "$scratch/tree" "$target"
    touch "$stamp"
  fi
  exec 9>&-
fi
echo "$target"
