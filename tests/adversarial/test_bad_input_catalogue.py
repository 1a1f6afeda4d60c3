"""A catalogue of bad inputs, caught at the edge: each message names the input at fault,
and nothing in the keystore changes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.envelope import open_envelope
from provider.errors import ValidationError
from provider.resources.code_signing_config import CodeSigningConfigProvider
from provider.resources.signed_package import SignedPackageProvider
from provider.resources.signing_profile import SigningProfileProvider
from sam_ext.cli import main

NOW = parse_instant("2026-03-01T00:00:00Z", field="now")
FAR_ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p{n:02d}/abcdefghij"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A keystore with active, canceled and revoked profiles, a CSC used by a function."""
    root = tmp_path_factory.mktemp("catalogue")
    home = root / "home"
    backend = LocalBackend(home)
    earlier = NOW - timedelta(days=10)
    arn = backend.put_signing_profile(
        "active", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=earlier
    )["profileVersionArn"]
    backend.put_signing_profile(
        "canceled", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=earlier
    )
    backend.cancel_signing_profile("canceled", now=earlier)
    revoked = backend.put_signing_profile(
        "revoked", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=earlier
    )
    backend.revoke_signing_profile(
        "revoked", revoked["profileVersion"], "leak", NOW - timedelta(days=5), now=NOW
    )
    source = root / "app.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("app.py", "x = 1\n")
    job = backend.sign_package(source, str(root / "out"), "active", now=earlier)
    csc = backend.create_code_signing_config([arn], policy="Enforce", now=earlier)
    csc_arn = csc["CodeSigningConfig"]["CodeSigningConfigArn"]
    backend.create_function(
        "in_use", Path(job["signedObject"]["path"]), csc_arn=csc_arn, now=earlier
    )
    (root / "bad.json").write_text("{not json")
    (root / "warn-lower.json").write_text(
        json.dumps(
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [arn]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "warn"},
            }
        )
    )
    (root / "bad.yaml").write_text("Resources: [unclosed\n")
    (root / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: src\n      Handler: app.handler\n"
    )
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("x = 1\n")
    return {
        "root": root,
        "home": home,
        "arn": arn,
        "csc": csc_arn,
        "job": job["jobId"],
        "signed": job["signedObject"]["path"],
        "revoked_version": revoked["profileVersion"],
    }


def _snapshot(home: Path) -> str:
    """Everything a command could change: the index's rows and every file's bytes."""
    digest = hashlib.sha256()
    db = sqlite3.connect(home / "index.sqlite3")
    try:
        for line in db.iterdump():
            digest.update(line.encode())
    finally:
        db.close()
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.startswith("index.sqlite3"):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


LONG = "r" * 501
CLI_CASES: list[tuple[str, list[str], int, str]] = [
    ("short profile name", ["profile", "put", "--profile-name", "x"], 2, "profileName"),
    ("dash in profile name", ["profile", "put", "--profile-name", "a-b"], 2, "profileName"),
    ("65-char profile name", ["profile", "put", "--profile-name", "a" * 65], 2, "profileName"),
    (
        "zero validity",
        [
            "profile",
            "put",
            "--profile-name",
            "new1",
            "--signature-validity-period",
            "value=0,type=DAYS",
        ],
        2,
        "signatureValidityPeriod",
    ),
    (
        "136 months",
        [
            "profile",
            "put",
            "--profile-name",
            "new1",
            "--signature-validity-period",
            "value=136,type=MONTHS",
        ],
        2,
        "135 months",
    ),
    (
        "validity type",
        [
            "profile",
            "put",
            "--profile-name",
            "new1",
            "--signature-validity-period",
            "value=1,type=WEEKS",
        ],
        2,
        "signatureValidityPeriod.type",
    ),
    (
        "validity value",
        [
            "profile",
            "put",
            "--profile-name",
            "new1",
            "--signature-validity-period",
            "value=abc,type=DAYS",
        ],
        2,
        "value",
    ),
    (
        "platform",
        ["profile", "put", "--profile-name", "new1", "--platform-id", "Notation-OCI-SHA384-ECDSA"],
        2,
        "platformId",
    ),
    ("duplicate profile", ["profile", "put", "--profile-name", "canceled"], 1, "canceled"),
    (
        "empty reason",
        [
            "profile",
            "revoke",
            "--profile-name",
            "active",
            "--profile-version",
            "abcdefghij",
            "--reason",
            "",
        ],
        2,
        "reason",
    ),
    (
        "501-char reason",
        [
            "profile",
            "revoke",
            "--profile-name",
            "active",
            "--profile-version",
            "abcdefghij",
            "--reason",
            LONG,
        ],
        2,
        "reason",
    ),
    (
        "future effective time",
        [
            "profile",
            "revoke",
            "--profile-name",
            "revoked",
            "--profile-version",
            "{revoked_version}",
            "--reason",
            "r",
            "--effective-time",
            "2027-01-01T00:00:00Z",
        ],
        2,
        "effectiveTime",
    ),
    (
        "effective time moved later",
        [
            "profile",
            "revoke",
            "--profile-name",
            "revoked",
            "--profile-version",
            "{revoked_version}",
            "--reason",
            "r",
            "--effective-time",
            "2026-02-28T00:00:00Z",
        ],
        2,
        "effectiveTime",
    ),
    (
        "effective time not ISO",
        [
            "profile",
            "revoke",
            "--profile-name",
            "active",
            "--profile-version",
            "abcdefghij",
            "--reason",
            "r",
            "--effective-time",
            "yesterday",
        ],
        2,
        "--effective-time",
    ),
    (
        "profile version shape",
        [
            "profile",
            "revoke",
            "--profile-name",
            "active",
            "--profile-version",
            "short",
            "--reason",
            "r",
        ],
        2,
        "profileVersion",
    ),
    ("unknown profile", ["profile", "get", "--profile-name", "nobody"], 2, "nobody"),
    (
        "21 publishers",
        [
            "csc",
            "create",
            "--allowed-publishers",
            "SigningProfileVersionArns=" + ",".join(FAR_ARN.format(n=n) for n in range(21)),
        ],
        2,
        "SigningProfileVersionArns",
    ),
    (
        "publisher not an ARN",
        ["csc", "create", "--allowed-publishers", "SigningProfileVersionArns=arn:nope"],
        2,
        "SigningProfileVersionArns",
    ),
    (
        "policy casing",
        [
            "csc",
            "create",
            "--allowed-publishers",
            "SigningProfileVersionArns={arn}",
            "--code-signing-policies",
            "UntrustedArtifactOnDeployment=enforce",
        ],
        2,
        "UntrustedArtifactOnDeployment",
    ),
    (
        "257-char description",
        [
            "csc",
            "create",
            "--allowed-publishers",
            "SigningProfileVersionArns={arn}",
            "--description",
            "d" * 257,
        ],
        2,
        "Description",
    ),
    (
        "publishers shorthand",
        ["csc", "create", "--allowed-publishers", "Arns=x"],
        2,
        "--allowed-publishers",
    ),
    (
        "CSC ARN shape",
        ["csc", "get", "--code-signing-config-arn", "csc-123"],
        2,
        "CodeSigningConfigArn",
    ),
    ("delete a CSC in use", ["csc", "delete", "--code-signing-config-arn", "{csc}"], 1, "in_use"),
    (
        "sign with canceled profile",
        ["sign", "--profile-name", "canceled", "--source", "{signed}", "--destination", "{root}/o"],
        2,
        "canceled",
    ),
    (
        "sign with revoked profile",
        ["sign", "--profile-name", "revoked", "--source", "{signed}", "--destination", "{root}/o"],
        2,
        "revoked",
    ),
    (
        "profile owner shape",
        [
            "sign",
            "--profile-name",
            "active",
            "--profile-owner",
            "123",
            "--source",
            "{signed}",
            "--destination",
            "{root}/o",
        ],
        2,
        "profileOwner",
    ),
    (
        "revoke reason 501",
        ["signature", "revoke", "--job-id", "{job}", "--reason", LONG],
        2,
        "reason",
    ),
    ("unknown job", ["signature", "describe", "--job-id", "no-such-job"], 2, "no-such-job"),
    (
        "missing package",
        ["verify", "{root}/none.zip", "--code-signing-config-arn", "{csc}"],
        2,
        "none.zip",
    ),
    ("csc file not JSON", ["verify", "{signed}", "--csc-file", "{root}/bad.json"], 2, "--csc-file"),
    (
        "csc file policy casing",
        ["verify", "{signed}", "--csc-file", "{root}/warn-lower.json"],
        2,
        "UntrustedArtifactOnDeployment",
    ),
    (
        "--at not ISO",
        ["verify", "{signed}", "--code-signing-config-arn", "{csc}", "--at", "noon"],
        2,
        "--at",
    ),
    ("--now not ISO", ["--now", "soon", "profile", "put", "--profile-name", "new2"], 2, "--now"),
    ("--region shape", ["--region", "mars", "profile", "list"], 2, "region"),
    ("missing template", ["package", "--template-file", "{root}/none.yaml"], 2, "--template-file"),
    ("unreadable template", ["package", "--template-file", "{root}/bad.yaml"], 2, "bad.yaml"),
    (
        "unknown logical id",
        ["package", "--template-file", "{root}/template.yaml", "--signing-profiles", "Nope=active"],
        2,
        "Nope",
    ),
    (
        "signing profile with two owners",
        [
            "package",
            "--template-file",
            "{root}/template.yaml",
            "--signing-profiles",
            "Fn=active:1:2",
        ],
        2,
        "--signing-profiles",
    ),
]


@pytest.mark.parametrize(
    ("args", "status", "naming"),
    [case[1:] for case in CLI_CASES],
    ids=[case[0] for case in CLI_CASES],
)
def test_cli_bad_input(
    world: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    status: int,
    naming: str,
) -> None:
    before = _snapshot(world["home"])
    argv = ["--home", str(world["home"]), "--now", "2026-03-01T00:00:00Z"] + [
        a.format(**world) for a in args
    ]
    if args[0] == "--now" or args[0] == "--region":
        argv = ["--home", str(world["home"])] + [a.format(**world) for a in args]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert naming.format(**world) in err, err
    assert "Traceback" not in err
    assert _snapshot(world["home"]) == before


def test_wrong_passphrase_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "right")
    home = tmp_path / "home"
    assert main(["--home", str(home), "profile", "put", "--profile-name", "locked"]) == 0
    source = tmp_path / "a.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("a.py", "x")
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "wrong")
    capsys.readouterr()
    assert (
        main(
            [
                "--home",
                str(home),
                "sign",
                "--profile-name",
                "locked",
                "--source",
                str(source),
                "--destination",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "CODESIGN_PASSPHRASE" in err and "locked" in err
    assert not list((tmp_path / "o").glob("*.zip"))


def test_corrupted_index_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    LocalBackend(home)
    (home / "index.sqlite3").write_bytes(b"this is not a database" * 100)
    before = (home / "index.sqlite3").read_bytes()
    assert main(["--home", str(home), "profile", "list"]) == 1
    err = capsys.readouterr().err
    assert "index.sqlite3" in err and "corrupt" in err and "Traceback" not in err
    assert (home / "index.sqlite3").read_bytes() == before


RESOURCE_CASES = [
    (
        "SigningProfile name",
        SigningProfileProvider(),
        {
            "logical_name": "p",
            "profile_name": "x",
            "platform_id": "AWSLambda-SHA384-ECDSA",
            "signature_validity_period": {"value": 1, "type": "DAYS"},
        },
        "profile_name",
    ),
    (
        "SigningProfile validity",
        SigningProfileProvider(),
        {
            "logical_name": "p",
            "profile_name": None,
            "platform_id": "AWSLambda-SHA384-ECDSA",
            "signature_validity_period": {"value": 12, "type": "YEARS"},
        },
        "signature_validity_period",
    ),
    (
        "CodeSigningConfig policy",
        CodeSigningConfigProvider(),
        {"allowed_publishers": [FAR_ARN.format(n=1)], "policy": "enforce"},
        "policy",
    ),
    (
        "CodeSigningConfig no publishers",
        CodeSigningConfigProvider(),
        {"allowed_publishers": [], "policy": "Warn"},
        "allowed_publishers",
    ),
    (
        "SignedPackage source",
        SignedPackageProvider(),
        {"source": "/nonexistent/src", "profile_name": "active"},
        "source",
    ),
]


@pytest.mark.parametrize(
    ("provider", "inputs", "field"),
    [c[1:] for c in RESOURCE_CASES],
    ids=[c[0] for c in RESOURCE_CASES],
)
def test_resource_bad_input_fails_check(
    world: dict[str, Any], provider: Any, inputs: dict[str, Any], field: str
) -> None:
    before = _snapshot(world["home"])
    settings = {"backend": "local", "home": str(world["home"]), "region": None, "now": None}
    failures = provider.check({}, {**inputs, "settings": settings}).failures
    assert [f.property for f in failures] == [field]
    assert field in failures[0].reason
    assert _snapshot(world["home"]) == before


def test_envelope_with_an_extra_field_names_it(world: dict[str, Any]) -> None:
    with zipfile.ZipFile(world["signed"]) as archive:
        envelope = json.loads(archive.read(".codesign/signature.json"))
    envelope["extra"] = "field"
    raw = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(ValidationError, match="extra"):
        open_envelope(raw)
