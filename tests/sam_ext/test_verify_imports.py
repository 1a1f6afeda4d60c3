"""What ``sam-ext verify`` imports: its start-up is most of its whole-process time on a
package (BENCHMARKS.md (b)), so what it must not import is checked in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

#: Modules a local ``verify --code-signing-config-arn`` of a signed package does not need.
#: (cryptography's OpenSSL backend object is imported: ``ec.ECDSA()`` asks it about
#: deterministic nonces, and since issue 21 the algorithm object is cryptography's own.)
NOT_IMPORTED = (
    "cryptography.hazmat.primitives.serialization",  # P-384 points are read directly
    "jsonschema",  # the verdict is built from typed data
)

_PROBE = """
import json, sys
from sam_ext.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported_by(home, *args):
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "--home", str(home), "verify", *map(str, args)],
        capture_output=True, text=True, env={**os.environ}, check=False, timeout=60,
    )  # fmt: skip
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["status"] == 0 and json.loads(done.stdout)["decision"] == "ALLOW"
    return [name for name in NOT_IMPORTED if name in report["modules"]]


def test_a_verify_of_a_signed_package_imports_none_of_the_heavy_modules(
    cli, make_zip, tmp_path, home
):
    csc = cli.csc(cli.profile())
    signed = cli.sign(make_zip(compression=zipfile.ZIP_STORED), tmp_path / "out")
    config = cli(
        "csc", "get", "--code-signing-config-arn", csc
    ).json  # a GetCodeSigningConfig response, as --csc-file
    csc_file = tmp_path / "csc.json"
    csc_file.write_text(json.dumps(config))

    assert _imported_by(home, signed, "--code-signing-config-arn", csc) == []
    # A valid --csc-file is judged by provider/csc_file.py, not jsonschema.
    assert _imported_by(home, signed, "--csc-file", csc_file) == []
