#!/usr/bin/env bash
# The main job on the local backend, end to end and offline: create a signing profile and
# an Enforce code signing config, sign the example function's code, verify it, then tamper
# with a copy and show Lambda's rejection. Sets up .venv first (no Pulumi needed).
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_PULUMI=1 bash scripts/setup.sh
SAM_EXT=.venv/bin/sam-ext
PY=.venv/bin/python

work=$(mktemp -d "${TMPDIR:-/tmp}/codesign-demo.XXXXXX")
export CODESIGN_HOME="$work/keystore"
step() { printf '\n== %s\n' "$*" >&2; }
field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

step "1. Create a signing profile (AWS Signer) in the local keystore $CODESIGN_HOME"
profile_arn=$("$SAM_EXT" profile put --profile-name demo_publisher \
  --signature-validity-period value=12,type=MONTHS | tee /dev/stderr | field profileVersionArn)

step "2. Create a code signing config that allows it, with the Enforce policy"
csc_arn=$("$SAM_EXT" csc create --allowed-publishers "SigningProfileVersionArns=$profile_arn" \
  --code-signing-policies UntrustedArtifactOnDeployment=Enforce \
  --description "demo: only demo_publisher may deploy" \
  | tee /dev/stderr | field CodeSigningConfig.CodeSigningConfigArn)

step "3. Package examples/functions/hello and sign it"
(cd examples/functions/hello && "$OLDPWD/$PY" -m zipfile -c "$work/hello.zip" app.py)
signed=$("$SAM_EXT" sign --profile-name demo_publisher --source "$work/hello.zip" \
  --destination "$work/signed" --prefix signed_ | field signedObject.path)
echo "signed package: $signed" >&2

step "4. Verify the signed package under the Enforce config (Lambda would ALLOW it)"
"$SAM_EXT" verify "$signed" --code-signing-config-arn "$csc_arn" | field message

step "5. Verify the unsigned package (Lambda would REJECT it: mismatch)"
if "$SAM_EXT" verify "$work/hello.zip" --code-signing-config-arn "$csc_arn" >/dev/null; then
  echo "unexpected: the unsigned package was allowed" >&2; exit 1
fi

step "6. Tamper with a copy of the signed package (one bit of app.py) and verify it"
cp "$signed" "$work/tampered.zip"
"$PY" - "$work/tampered.zip" <<'PYEOF'
import struct, sys, zipfile
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
member = zipfile.ZipFile(path).getinfo("app.py")
name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
data[member.header_offset + 30 + name_len + extra_len] ^= 0x01  # first byte of app.py's data
open(path, "wb").write(data)
PYEOF
if "$SAM_EXT" verify "$work/tampered.zip" --code-signing-config-arn "$csc_arn" >/dev/null; then
  echo "unexpected: the tampered package was allowed" >&2; exit 1
fi

step "Done: signed code is allowed, unsigned and tampered code is rejected. Files in $work"
