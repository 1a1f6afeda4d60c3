"""Trust files: ``sam-ext profile export-trust`` on a keystore, then ``sam-ext verify
--trust-file`` and ``sam-ext deploy --trust-file`` in real processes whose CODESIGN_HOME is
empty, with the keystore's verdicts; a changed or re-signed trust file is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from provider import schemas

SAM_EXT = Path(sys.executable).parent / "sam-ext"
AT = "2026-01-20T12:00:00Z"


@pytest.fixture
def elsewhere(tmp_path: Path):
    """Run the real console script on "another machine": a CODESIGN_HOME that is empty
    (and must stay so for verify), no passphrase, no AWS configuration."""
    empty = tmp_path / "elsewhere-home"
    empty.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "AWS_"))}
    env["CODESIGN_HOME"] = str(empty)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")

    def invoke(
        *args: object,
        expect: int = 0,
        anchor_env: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Any:
        extra = {} if anchor_env is None else {"CODESIGN_TRUST_ANCHOR": anchor_env}
        extra.update(extra_env or {})
        done = subprocess.run(
            [str(SAM_EXT), *map(str, args)],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=60,
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert "internal error" not in done.stderr, done.stderr
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        return done

    invoke.home = empty  # type: ignore[attr-defined]
    return invoke


def _sign(cli: Any, profile: str, source: Path, out: Path, at: str) -> Any:
    return cli(
        "--now", at, "sign", "--profile-name", profile, "--source", source, "--destination", out
    ).json


@pytest.fixture
def keystore(cli: Any, make_zip: Any, tmp_path: Path) -> dict[str, Any]:
    """A keystore with the packages of every verdict, a CSC file (Enforce) allowing three
    profiles, and a trust file exported at 2026-01-15T13:00Z."""
    out = tmp_path / "signed"
    source = make_zip(compression=zipfile.ZIP_STORED)
    cli.profile("good")
    cli.profile("short", "--signature-validity-period", "value=1,type=DAYS")
    cli.profile("rev")
    cli.profile("other")  # not exported, not allowed
    packages: dict[str, Path] = {}
    packages["good"] = Path(
        _sign(cli, "good", source, out, "2026-01-15T12:00:00Z")["signedObject"]["path"]
    )
    packages["expired"] = Path(
        _sign(cli, "short", source, out, "2026-01-15T12:00:00Z")["signedObject"]["path"]
    )
    packages["before_revocation"] = Path(
        _sign(cli, "rev", source, out, "2026-01-15T12:00:00Z")["signedObject"]["path"]
    )
    packages["after_revocation"] = Path(
        _sign(cli, "rev", source, out, "2026-01-15T12:10:00Z")["signedObject"]["path"]
    )
    packages["other"] = Path(
        _sign(cli, "other", source, out, "2026-01-15T12:00:00Z")["signedObject"]["path"]
    )
    revoked = _sign(cli, "good", source, out, "2026-01-15T12:01:00Z")
    packages["revoked_signature"] = Path(revoked["signedObject"]["path"])
    cli(
        "--now",
        "2026-01-15T12:30:00Z",
        "signature",
        "revoke",
        "--job-id",
        revoked["jobId"],
        "--reason",
        "leaked",
    )
    cli(
        "--now", "2026-01-15T12:30:00Z", "profile", "revoke", "--profile-name", "rev",
        "--profile-version", cli("profile", "get", "--profile-name", "rev").json["profileVersion"],
        "--reason", "key compromised", "--effective-time", "2026-01-15T12:05:00Z",
    )  # fmt: skip
    tampered = tmp_path / "tampered.zip"
    data = bytearray(packages["good"].read_bytes())
    data[data.index(b"statusCode")] ^= 0x20
    tampered.write_bytes(bytes(data))
    packages["tampered"] = tampered
    packages["unsigned"] = source
    arns = [
        cli("profile", "get", "--profile-name", n).json["profileVersionArn"]
        for n in ("good", "short", "rev")
    ]
    csc = tmp_path / "csc.json"
    csc.write_text(json.dumps({
        "AllowedPublishers": {"SigningProfileVersionArns": arns},
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
    }))  # fmt: skip
    trust = tmp_path / "trust.json"
    exported = cli(
        "--now", "2026-01-15T13:00:00Z", "profile", "export-trust",
        "--profile-name", "good", "--profile-name", "short", "--profile-name", "rev",
        "--output", trust, schema="export-trust-response",
    )  # fmt: skip
    return {
        "packages": packages,
        "csc": csc,
        "trust": trust,
        "anchor": exported.json["trustKeyFingerprint"],
        "exported": exported,
        "good_job": json.loads(zipfile.ZipFile(packages["good"]).read(".codesign/signature.json"))[
            "jobId"
        ],
    }


EXPECTED = {
    "good": ("ALLOW", None),
    "expired": ("REJECT", "expiry"),
    "before_revocation": ("ALLOW", None),
    "after_revocation": ("REJECT", "revocation"),
    "revoked_signature": ("REJECT", "revocation"),
    "tampered": ("REJECT", "integrity"),
    "unsigned": ("REJECT", "mismatch"),
    "other": ("REJECT", "mismatch"),
}


def _comparable(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict without what names the trust source."""
    return {k: v for k, v in verdict.items() if k not in ("message", "trustFileExportedAt")}


def test_the_trust_file_alone_gives_the_keystores_verdicts(
    cli: Any, keystore: Any, elsewhere: Any
) -> None:
    document = json.loads(keystore["trust"].read_text())
    assert not list(schemas.validator("trust-file").iter_errors(document))
    assert [p["profileName"] for p in document["profiles"]] == ["good", "short", "rev"]
    assert document["profiles"][2]["revocationRecord"]["revocationEffectiveFrom"].startswith(
        "2026-01-15T12:05"
    )
    assert [r["revocationRecord"]["reason"] for r in document["revokedSignatures"]] == ["leaked"]
    assert "PRIVATE" not in keystore["trust"].read_text()
    assert keystore["anchor"] in keystore["exported"].err
    for name, (decision, failed) in EXPECTED.items():
        package = keystore["packages"][name]
        status = 0 if decision != "REJECT" else 1
        own = cli(
            "verify",
            package,
            "--csc-file",
            keystore["csc"],
            "--at",
            AT,
            status=status,
            schema="verdict",
        ).json
        done = elsewhere(
            "verify", package, "--csc-file", keystore["csc"], "--at", AT,
            "--trust-file", keystore["trust"], "--trust-anchor", keystore["anchor"], expect=status,
        )  # fmt: skip
        theirs = json.loads(done.stdout)
        assert not list(schemas.validator("verdict").iter_errors(theirs))
        assert (theirs["decision"], [f["check"] for f in theirs["failedChecks"]][:1] or [None]) == (
            decision,
            [failed],
        ), name
        assert _comparable(theirs) == _comparable(own), name
        assert theirs["message"].startswith(own["message"]), name
        if theirs.get("signed") and name not in ("tampered", "other"):
            assert theirs["trustFileExportedAt"] == "2026-01-15T13:00:00.000Z", name
            assert "trust file exported at 2026-01-15T13:00:00.000Z" in theirs["message"]
    assert list(elsewhere.home.iterdir()) == []  # no keystore was created or needed


def test_a_revocation_after_the_export_is_not_seen_and_the_verdict_says_the_date(
    cli: Any, keystore: Any, elsewhere: Any, tmp_path: Path
) -> None:
    good = keystore["packages"]["good"]
    cli(
        "--now",
        "2026-01-16T09:00:00Z",
        "signature",
        "revoke",
        "--job-id",
        keystore["good_job"],
        "--reason",
        "bad release",
    )
    own = cli("verify", good, "--csc-file", keystore["csc"], "--at", AT, status=1).json
    assert own["failedChecks"][0]["check"] == "revocation"
    stale = elsewhere(
        "verify", good, "--csc-file", keystore["csc"], "--at", AT,
        "--trust-file", keystore["trust"], "--trust-anchor", keystore["anchor"],
    )  # fmt: skip
    verdict = json.loads(stale.stdout)
    assert verdict["decision"] == "ALLOW"
    assert verdict["trustFileExportedAt"] == "2026-01-15T13:00:00.000Z"
    assert "revocations made later are not known" in verdict["message"]
    fresh = tmp_path / "fresh.json"
    cli(
        "--now",
        "2026-01-16T10:00:00Z",
        "profile",
        "export-trust",
        "--profile-name",
        "good",
        "--output",
        fresh,
    )
    again = elsewhere(
        "verify", good, "--csc-file", keystore["csc"], "--at", AT,
        "--trust-file", fresh, "--trust-anchor", keystore["anchor"], expect=1,
    )  # fmt: skip
    assert json.loads(again.stdout)["failedChecks"][0]["check"] == "revocation"
    assert "bad release" in again.stderr


def _resign(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` signed again by a key of an attacker's own."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from provider.clock import parse_instant
    from provider.trust import sign_trust_document

    return sign_trust_document(
        profiles=document["profiles"],
        revoked_signatures=document["revokedSignatures"],
        exported_at=parse_instant(document["exportedAt"], field="exportedAt"),
        issuer=document["issuer"],
        key=ec.generate_private_key(ec.SECP384R1()),
    )


def test_a_changed_or_re_signed_trust_file_is_refused(
    keystore: Any, elsewhere: Any, tmp_path: Path
) -> None:
    original = json.loads(keystore["trust"].read_text())
    package = keystore["packages"]["revoked_signature"]

    def verify(trust: Path, *anchor: str, expect: int = 2) -> str:
        done = elsewhere(
            "verify",
            package,
            "--csc-file",
            keystore["csc"],
            "--at",
            AT,
            "--trust-file",
            trust,
            *anchor,
            expect=expect,
        )
        assert done.stdout == ""
        return str(done.stderr)

    dropped = dict(original, revokedSignatures=[])  # hide the revoked signature
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(dropped))
    assert "its signature does not verify; the file was changed" in verify(
        changed, "--trust-anchor", keystore["anchor"]
    )

    resigned = tmp_path / "resigned.json"
    resigned.write_text(json.dumps(_resign(dropped)))
    err = verify(resigned, "--trust-anchor", keystore["anchor"])
    assert "which is not a pinned trust anchor" in err and str(resigned) in err

    assert "--trust-anchor: required with --trust-file" in verify(keystore["trust"])
    assert "is not a trust-key fingerprint" in verify(
        keystore["trust"], "--trust-anchor", "SHA256:abc"
    )
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    assert "is not JSON" in verify(not_json, "--trust-anchor", keystore["anchor"])
    shaped = tmp_path / "shaped.json"
    shaped.write_text(json.dumps(dict(original, profiles="good")))
    assert "profiles" in verify(shaped, "--trust-anchor", keystore["anchor"])
    # The untouched file, pinned through the environment variable, still works.
    done = elsewhere(
        "verify", package, "--csc-file", keystore["csc"], "--at", AT,
        "--trust-file", keystore["trust"], anchor_env=keystore["anchor"], expect=1,
    )  # fmt: skip
    assert "leaked" in done.stderr


def test_export_trust_refuses_bad_input_by_name(cli: Any, tmp_path: Path) -> None:
    cli.profile("good")
    out = tmp_path / "t.json"
    cli.fails("profile", "export-trust", "--profile-name", "ghost", "--output", out, naming="ghost")
    cli.fails(
        "profile", "export-trust", "--profile-name", "x", "--output", out, naming="--profile-name"
    )
    assert not out.exists()
    cli.fails(
        "--backend",
        "aws",
        "profile",
        "export-trust",
        "--profile-name",
        "good",
        "--output",
        out,
        naming="aws backend has no keys",
    )
    cli.fails(
        "verify",
        "x.zip",
        "--csc-file",
        "c.json",
        "--trust-anchor",
        "SHA256:" + "0" * 64,
        naming="--trust-anchor",
    )


def test_the_trust_key_is_made_once_and_signs_every_export(
    cli: Any, home: Path, tmp_path: Path
) -> None:
    cli.profile("good")
    first = cli(
        "profile", "export-trust", "--profile-name", "good", "--output", tmp_path / "a.json"
    ).json
    second = cli(
        "profile", "export-trust", "--profile-name", "good", "--output", tmp_path / "b.json"
    ).json
    assert first["trustKeyFingerprint"] == second["trustKeyFingerprint"]
    assert oct((home / "keys" / "trust-key.pem").stat().st_mode & 0o777) == "0o600"


# --- the trust file's age: said on stderr, and bounded by --trust-max-age ----------------
STALENESS = (
    "trust file {trust}: exported at 2026-01-15T13:00:00.000Z, {age} ago; revocations made "
    "after that are not known to these verdicts\n"
)


def _verify_on_trust_file(
    keystore: Any, elsewhere: Any, *extra: object, expect: int = 0, **options: Any
) -> Any:
    return elsewhere(
        "verify", keystore["packages"]["good"], "--csc-file", keystore["csc"],
        "--trust-file", keystore["trust"], "--trust-anchor", keystore["anchor"], *extra,
        expect=expect, **options,
    )  # fmt: skip


def test_a_verdict_on_a_trust_file_says_its_age_on_stderr(keystore: Any, elsewhere: Any) -> None:
    done = _verify_on_trust_file(keystore, elsewhere, "--at", AT)

    assert json.loads(done.stdout)["decision"] == "ALLOW"  # nothing else on stderr
    assert done.stderr == STALENESS.format(trust=keystore["trust"], age="4 days 23 hours")
    soon = _verify_on_trust_file(keystore, elsewhere, "--at", "2026-01-15T13:20:00Z")
    assert soon.stderr == STALENESS.format(trust=keystore["trust"], age="20 minutes")


def test_trust_max_age_refuses_an_older_trust_file_and_accepts_a_younger_one(
    keystore: Any, elsewhere: Any
) -> None:
    trust = keystore["trust"]
    accepted = _verify_on_trust_file(keystore, elsewhere, "--at", AT, "--trust-max-age", "5d")
    assert json.loads(accepted.stdout)["decision"] == "ALLOW"
    assert STALENESS.format(trust=trust, age="4 days 23 hours") in accepted.stderr

    refused = _verify_on_trust_file(
        keystore, elsewhere, "--at", AT, "--trust-max-age", "4d", expect=1
    )
    assert refused.stdout == ""
    assert refused.stderr == (
        f"error: StaleTrustFile: --trust-file {trust}: exported at 2026-01-15T13:00:00.000Z, "
        "4 days 23 hours before 2026-01-20T12:00:00.000Z, longer ago than --trust-max-age 4d "
        "allows; refusing it (export it again from the keystore: revocations made since are "
        "not in it)\n"
    )
    # Counted to --now when there is no --at; from the environment when not given.
    young = ("--now", "2026-01-15T14:00:00Z")
    old = ("--now", "2026-01-16T14:00:00Z")
    bound = {"CODESIGN_TRUST_MAX_AGE": "12h"}
    elsewhere(
        *young, "verify", keystore["packages"]["good"], "--csc-file", keystore["csc"],
        "--trust-file", trust, "--trust-anchor", keystore["anchor"], extra_env=bound,
    )  # fmt: skip
    stale = elsewhere(
        *old, "verify", keystore["packages"]["good"], "--csc-file", keystore["csc"],
        "--trust-file", trust, "--trust-anchor", keystore["anchor"], extra_env=bound, expect=1,
    )  # fmt: skip
    assert "longer ago than CODESIGN_TRUST_MAX_AGE 12h allows" in stale.stderr
    assert "1 day 1 hour before 2026-01-16T14:00:00.000Z" in stale.stderr
    # The option wins over the environment variable.
    _verify_on_trust_file(
        keystore, elsewhere, "--at", AT, "--trust-max-age", "1w",
        extra_env={"CODESIGN_TRUST_MAX_AGE": "1m"},
    )  # fmt: skip


@pytest.mark.parametrize("bad", ["seven", "7", "7 d", "1.5d", "-1d", "7D", "0h", "7d\n"])
def test_a_bad_trust_max_age_is_bad_input_naming_the_option(
    elsewhere: Any, tmp_path: Path, bad: str
) -> None:
    # Said before any file is read (none of these exists).
    verify = (
        "verify", tmp_path / "app.zip", "--csc-file", tmp_path / "csc.json",
        "--trust-file", tmp_path / "trust.json", "--trust-anchor", "SHA256:" + "0" * 64,
    )  # fmt: skip
    done = elsewhere(*verify, "--trust-max-age", bad, expect=2)
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: ValidationException: --trust-max-age: {bad!r} ")
    from_env = elsewhere(*verify, extra_env={"CODESIGN_TRUST_MAX_AGE": bad}, expect=2)
    assert from_env.stderr.startswith(
        f"error: ValidationException: CODESIGN_TRUST_MAX_AGE: {bad!r} "
    )


def test_trust_max_age_without_a_trust_file_is_a_usage_error(keystore: Any, elsewhere: Any) -> None:
    done = elsewhere(
        "verify", keystore["packages"]["good"], "--csc-file", keystore["csc"],
        "--trust-max-age", "7d", expect=2,
    )  # fmt: skip
    assert "--trust-max-age: only means something with --trust-file" in done.stderr
