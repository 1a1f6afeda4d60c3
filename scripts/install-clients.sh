#!/usr/bin/env bash
# Installs the real AWS clients the endpoint tests drive, each into its own virtualenv
# (their pins conflict with this project's): the AWS CLI (`awscli`), SAM CLI
# (`aws-sam-cli`) and the AWS CDK's Python libraries (`aws-cdk-lib` and `constructs`, which
# synthesize examples/cdk with the machine's Node.js), from PyPI. Idempotent: a client
# already installed at the pinned version is left alone. Prints nothing on stdout except
# with --print-bin NAME (aws | sam | cdk), which prints the path of that client's executable
# (for cdk: the virtualenv's python, which runs a CDK app) after installing it if needed.
#
#   bash scripts/install-clients.sh            # all three
#   bash scripts/install-clients.sh aws        # only the AWS CLI
#   bash scripts/install-clients.sh --print-bin sam
set -euo pipefail

AWSCLI_SPEC=${AWSCLI_SPEC:-"awscli>=1.36,<2"}
SAMCLI_SPEC=${SAMCLI_SPEC:-"aws-sam-cli>=1.130,<2"}
# Space-separated requirements (one virtualenv holds both).
CDK_SPEC=${CDK_SPEC:-"aws-cdk-lib>=2.150,<3 constructs>=10.3,<11"}
root=${LAMBDA_CODESIGN_CLIENTS:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-codesign/clients}
python=${PYTHON:-python3}

spec_for() { case "$1" in aws) echo "$AWSCLI_SPEC" ;; sam) echo "$SAMCLI_SPEC" ;; cdk) echo "$CDK_SPEC" ;; *) echo "install-clients: unknown client '$1' (aws, sam or cdk)" >&2; exit 2 ;; esac; }
# The executable --print-bin prints: the client's command, or for cdk the python that runs
# a CDK app (the CDK CLI is an npm package; the libraries synthesize without it).
bin_of() { case "$1" in cdk) echo python ;; *) echo "$1" ;; esac; }

install_one() {
  local name=$1 spec venv stamp bin
  spec=$(spec_for "$name")
  bin=$(bin_of "$name")
  venv="$root/$name"
  stamp="$venv/.installed-$(printf '%s' "$spec" | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && [ -x "$venv/bin/$bin" ] && return 0
  mkdir -p "$root"
  # One installer at a time per client: parallel test setups share the cache.
  exec 9>"$root/.$name.lock"
  flock 9
  if [ -f "$stamp" ] && [ -x "$venv/bin/$bin" ]; then exec 9>&-; return 0; fi
  echo "install-clients: installing $spec into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # $spec: one or more requirements, split on spaces
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $spec >&2
  touch "$stamp"
  exec 9>&-
}

if [ "${1:-}" = "--print-bin" ]; then
  install_one "${2:?--print-bin needs aws, sam or cdk}"
  echo "$root/$2/bin/$(bin_of "$2")"
  exit 0
fi
if [ $# -eq 0 ]; then set -- aws sam cdk; fi
for c in "$@"; do install_one "$c"; done
