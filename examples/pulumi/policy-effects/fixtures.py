"""Packages in every state Lambda's checks distinguish, made once per keystore.

They are prepared with the local backend directly (signing in the past, revoking,
tampering), which a Pulumi program cannot express as resources, and remembered in
``HOME/policy-effects/manifest.json`` so every preview sees the same files.
"""

from __future__ import annotations

import json
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.validity import ValidityPeriod

KINDS = ("trusted", "expired", "revoked", "signature_revoked", "untrusted", "unsigned", "tampered")


def _flip_first_code_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    member = zipfile.ZipFile(path).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    path.write_bytes(bytes(data))


def prepare(home: str | None, source: Path) -> dict[str, object]:
    """Make (or reuse) the packages; returns paths and the publishers a CSC should allow."""
    backend = LocalBackend(home)
    folder = backend.store.home / "policy-effects"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        return dict(json.loads(manifest.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    unsigned = folder / "unsigned.zip"
    unsigned.write_bytes(zip_directory(source))
    suffix = now.strftime("%Y%m%d%H%M%S")

    def profile(name: str, validity: ValidityPeriod | None = None) -> str:
        created = backend.put_signing_profile(
            f"{name}_{suffix}",
            platform_id="AWSLambda-SHA384-ECDSA",
            validity=validity,
            tags=None,
            now=now - timedelta(days=30),
        )
        return str(created["profileVersionArn"])

    def sign(profile_arn: str, when_days_ago: float) -> Path:
        job = backend.sign_package(
            unsigned,
            str(folder),
            profile_arn.split("/")[-2],
            now=now - timedelta(days=when_days_ago),
        )
        return Path(job["signedObject"]["path"])

    trusted = profile("trusted")
    shortlived = profile("shortlived", ValidityPeriod(1, "DAYS"))
    retired = profile("retired")
    outsider = profile("outsider")
    packages = {
        "trusted": sign(trusted, 0),
        "expired": sign(shortlived, 3),
        "revoked": sign(retired, 2),
        "signature_revoked": sign(trusted, 0),
        "untrusted": sign(outsider, 0),
        "unsigned": unsigned,
        "tampered": sign(trusted, 0),
    }
    retired_version = retired.split("/")[-1]
    backend.revoke_signing_profile(
        retired.split("/")[-2],
        retired_version,
        "key retired after a leak",
        now - timedelta(days=3),
        now=now,
    )
    job_id = packages["signature_revoked"].stem
    backend.revoke_signature(job_id, "built from a compromised branch", now=now)
    _flip_first_code_byte(packages["tampered"])
    result: dict[str, object] = {
        "packages": {kind: str(path) for kind, path in packages.items()},
        "allowed_publishers": [trusted, shortlived, retired],
    }
    manifest.write_text(json.dumps(result, indent=2))
    return result
