#!/usr/bin/env bash
# Installs the real AWS clients the endpoint tests drive, each into its own virtualenv
# (their pins conflict with this project's): the AWS CLI (`awscli`) and SAM CLI
# (`aws-sam-cli`), from PyPI. Idempotent: a client already installed at the pinned version
# is left alone. Prints nothing on stdout except with --print-bin NAME (aws | sam), which
# prints the path of that client's executable (after installing it if needed).
#
#   bash scripts/install-clients.sh            # both
#   bash scripts/install-clients.sh aws        # only the AWS CLI
#   bash scripts/install-clients.sh --print-bin sam
set -euo pipefail

AWSCLI_SPEC=${AWSCLI_SPEC:-"awscli>=1.36,<2"}
SAMCLI_SPEC=${SAMCLI_SPEC:-"aws-sam-cli>=1.130,<2"}
root=${LAMBDA_CODESIGN_CLIENTS:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-codesign/clients}
python=${PYTHON:-python3}

spec_for() { case "$1" in aws) echo "$AWSCLI_SPEC" ;; sam) echo "$SAMCLI_SPEC" ;; *) echo "install-clients: unknown client '$1' (aws or sam)" >&2; exit 2 ;; esac; }

install_one() {
  local name=$1 spec venv stamp
  spec=$(spec_for "$name")
  venv="$root/$name"
  stamp="$venv/.installed-$(printf '%s' "$spec" | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && [ -x "$venv/bin/$name" ] && return 0
  mkdir -p "$root"
  # One installer at a time per client: parallel test setups share the cache.
  exec 9>"$root/.$name.lock"
  flock 9
  if [ -f "$stamp" ] && [ -x "$venv/bin/$name" ]; then exec 9>&-; return 0; fi
  echo "install-clients: installing $spec into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
  touch "$stamp"
  exec 9>&-
}

if [ "${1:-}" = "--print-bin" ]; then
  install_one "${2:?--print-bin needs aws or sam}"
  echo "$root/$2/bin/$2"
  exit 0
fi
if [ $# -eq 0 ]; then set -- aws sam; fi
for c in "$@"; do install_one "$c"; done
