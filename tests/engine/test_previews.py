"""What ``pulumi preview`` tells, through the real CLI: every rejection of an update in one
preview (and ``pulumi up`` changing nothing then), predictions on a brand-new stack from the
program's graph, and layers judged like code."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

from engine.conftest import EXAMPLES, StackFactory
from engine.harness import EngineResult

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import format_instant, utcnow

HELLO = EXAMPLES.parent / "functions" / "hello"
LAYER = EXAMPLES.parent / "sam" / "app" / "layers" / "shared"

#: policy-effects' kinds that Enforce rejects, and the check each fails.
UNTRUSTED = {
    "expired": "expiry",
    "revoked": "revocation",
    "signature-revoked": "revocation",
    "untrusted": "mismatch",
    "unsigned": "mismatch",
}


def _rows(keystore: Path, table: str) -> int:
    db = sqlite3.connect(keystore / "index.sqlite3")
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


def test_one_preview_names_every_rejection_and_up_changes_nothing(
    engine_stack: StackFactory, keystore: Path
) -> None:
    stack = engine_stack("policy-effects", config={"policy": "Enforce"})
    preview = stack.preview()
    assert preview.error is not None, "a predicted rejection fails the preview"
    for name, check in UNTRUSTED.items():
        [error] = preview.messages("error", name)
        assert f"function {name}-" in error and f"{check}: " in error, (name, error)
        assert "CodeVerificationFailedException" in error and "To fix: " in error
    assert not preview.messages("error", "trusted")
    assert any("would be allowed" in m for m in preview.messages("info", "trusted"))
    assert "5 deploy(s) in this update would be rejected" in preview.error
    assert "Traceback" not in preview.error and "CodesignStepError" not in preview.error

    # A plain `pulumi up` fails in its preview phase, before any step: nothing is created.
    up = stack.cli("up", "--yes")
    assert up.returncode != 0, up.stdout
    assert "5 deploy(s) in this update would be rejected" in up.stdout + up.stderr
    assert not stack.state().get("resources")
    assert _rows(keystore, "code_signing_configs") == 0 and _rows(keystore, "functions") == 0

    # The Automation API's up skips the preview: then Lambda's own check rejects each
    # deploy as it comes, and the engine shows the plain message.
    skipped = stack.up()
    assert skipped.error is not None
    assert "CodesignStepError" not in skipped.error and "Traceback" not in skipped.error
    assert "rejected by code signing config" in skipped.error
    assert _rows(keystore, "functions") <= 1  # only `trusted` can deploy


def _tampered_layer(keystore: Path, folder: Path) -> Path:
    """A layer .zip signed by a keystore profile, with one byte of its code changed."""
    backend = LocalBackend(str(keystore))
    now = utcnow()
    backend.put_signing_profile(
        "layer_builder", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=now
    )
    folder.mkdir(parents=True)
    unsigned = folder / "layer.zip"
    unsigned.write_bytes(zip_directory(LAYER))
    job = backend.sign_package(unsigned, str(folder), "layer_builder", now=now)
    signed = Path(job["signedObject"]["path"])
    data = bytearray(signed.read_bytes())
    member = zipfile.ZipFile(signed).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    signed.write_bytes(bytes(data))
    return signed


def test_a_new_stack_is_predicted_from_the_program_graph(
    engine_stack: StackFactory, keystore: Path, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    shutil.copytree(HELLO, code)
    tampered = _tampered_layer(keystore, tmp_path / "layer")
    config = {"code": str(code), "tampered_layer": str(tampered), "layer_dir": str(LAYER)}
    stack = engine_stack("graph", config=config)

    # Nothing exists yet: code signed by the listed profile is ALLOW; by the other one, a
    # mismatch; a tampered layer fails integrity, named as the layer of its function.
    preview = stack.preview()
    assert preview.error is not None
    assert any("would be allowed" in m for m in preview.messages("info", "mine-function"))
    [mismatch] = preview.messages("error", "theirs-function")
    assert "mismatch" in mismatch and "::outsider" in mismatch, mismatch
    assert "CodeVerificationFailedException" in mismatch and "allowed_publishers" in mismatch
    [tampered_error] = preview.messages("error", "layered-function")
    assert "layer shared-" in tampered_error and "integrity" in tampered_error, tampered_error
    assert "InvalidCodeSignatureException" in tampered_error
    assert "2 deploy(s) in this update would be rejected" in (preview.error or "")

    # The remedies, as printed: list the outsider; sign the layer from its source.
    stack.set_config("trust_outsider", "true")
    stack.set_config("layer", "package")
    fixed = stack.preview()
    assert fixed.error is None, fixed.error
    for name in ("mine-function", "theirs-function", "layered-function"):
        said = [d for d in fixed.diagnostics if d.severity != "debug"]
        assert any("would be allowed" in m for m in fixed.messages("info", name)), (name, said)
    up = stack.up()
    assert up.error is None, up.error
    deployed = LocalBackend(str(keystore)).get_function(up.outputs["layered_function"])
    assert [layer["Location"] for layer in deployed["Layers"]] == [up.outputs["layer_version_arn"]]
    assert deployed["LastVerdict"]["decision"] == "ALLOW"


def _sources(tmp_path: Path, *names: str) -> dict[str, str]:
    sources = {}
    for name in names:
        shutil.copytree(HELLO, tmp_path / name)
        (tmp_path / name / "app.py").write_text((HELLO / "app.py").read_text() + f"\n# {name}\n")
        sources[name] = str(tmp_path / name)
    return sources


def _only(result: EngineResult, severity: str, name: str) -> str:
    """The one message of a severity on a resource (else fail, showing what was said)."""
    found = result.messages(severity, name)
    said = [
        f"{(d.urn or '').rsplit('::', 1)[-1]}: {d.message}"
        for d in result.diagnostics
        if d.severity in ("info", "warning", "error")
    ]
    assert len(found) == 1, (severity, name, said)
    return found[0]


def _code_sha(keystore: Path, function: str) -> str:
    return str(LocalBackend(str(keystore)).get_function(function)["CodeSha384"])


def test_deployed_code_standing_refresh_and_signing_again(
    engine_stack: StackFactory, keystore: Path, tmp_path: Path
) -> None:
    stack = engine_stack("standing", config=_sources(tmp_path, "renewed", "expiring", "revoked"))
    up = stack.up()
    assert up.error is None, up.error
    assert _rows(keystore, "jobs") == 3
    expiring_code = _code_sha(keystore, up.outputs["expiring_function"])
    renewed_code = _code_sha(keystore, up.outputs["renewed_function"])

    # A revocation outside Pulumi: refresh re-evaluates the deployed code and records it.
    backend = LocalBackend(str(keystore))
    retiring = backend.get_signing_profile(up.outputs["retiring_profile"])
    now = utcnow()
    backend.revoke_signing_profile(
        retiring["profileName"],
        retiring["profileVersion"],
        "key retired",
        now - timedelta(hours=1),
        now=now,
    )
    refreshed = stack.refresh()
    assert refreshed.error is None, refreshed.error
    standing = {
        r["urn"].rsplit("::", 1)[-1]: (r.get("outputs") or {}).get("deployed_code_standing")
        for r in stack.state()["resources"]
    }
    assert standing["revoked-function"]["decision"] == "REJECT", standing
    [failed] = standing["revoked-function"]["artifacts"][0]["failed_checks"]
    assert failed.startswith("revocation: ")
    assert standing["expiring-function"]["decision"] == "ALLOW"
    assert refreshed.summary.get("update", 0) >= 1, refreshed.stdout

    # Two days on, the one-day signatures have expired; an unrelated change (the config's
    # description) goes ahead, and the preview says what each deployed code would meet.
    stack.set_config("codesign:now", format_instant(now + timedelta(days=2)))
    stack.set_config("renew_before", "12h")
    stack.set_config("description", "an unrelated change")
    preview = stack.preview()
    assert preview.error is None, preview.error
    assert not preview.messages("error")
    expired = _only(preview, "warning", "expiring-function")
    assert "expiry: the signature expired at" in expired and "keeps running" in expired
    assert "next code deploy would be rejected" in expired and "--replace" in expired
    revoked = _only(preview, "warning", "revoked-function")
    assert "revocation: profile version" in revoked and "keeps running" in revoked
    assert "new SigningProfile" in revoked, "its profile can sign no more: a new one can"
    assert "its SignedPackage cannot be signed again: profile 'retiring_" in revoked
    assert "is Revoked" in revoked
    renewing = _only(preview, "info", "renewed-package")
    assert "signed again" in renewing and "within renew_before 12h" in renewing
    assert set(preview.ops("renewed-package")) & {"replace", "create-replacement"}
    assert preview.ops("enforce") == ["update"]
    applied = stack.up()
    assert applied.error is None, applied.error
    assert _rows(keystore, "jobs") == 4, "renew_before signs again; nothing else does"
    assert applied.outputs["renewed_job"] != up.outputs["renewed_job"]
    assert _code_sha(keystore, up.outputs["renewed_function"]) != renewed_code
    assert _code_sha(keystore, up.outputs["expiring_function"]) == expiring_code

    # The remedies, as printed: --replace signs the expired package again; the revoked
    # profile's package is signed by a profile version the config lists.
    expiring_package = applied.step("expiring-package").urn
    stack.set_config("revoked_profile", "publisher")
    fixed = stack.up(replace=[expiring_package])
    assert fixed.error is None, fixed.error
    assert _rows(keystore, "jobs") == 6
    assert fixed.outputs["expiring_job"] != up.outputs["expiring_job"]
    assert _code_sha(keystore, up.outputs["expiring_function"]) != expiring_code

    # A signature revoked outside Pulumi, by a profile that can still sign: the next up
    # signs again, and says so in its preview.
    backend.revoke_signature(
        fixed.outputs["expiring_job"], "built from a bad branch", now=now + timedelta(days=2)
    )
    revoked_preview = stack.preview()
    assert revoked_preview.error is None, revoked_preview.error
    resign = _only(revoked_preview, "info", "expiring-package")
    assert "signed again" in resign and "built from a bad branch" in resign
    assert "would be allowed" in _only(revoked_preview, "info", "expiring-function")
    resigned = stack.up()
    assert resigned.error is None, resigned.error
    assert _rows(keystore, "jobs") == 7
    clean = stack.preview()
    assert clean.error is None, clean.error
    said = [m for m in clean.messages("warning") + clean.messages("error") if "code signing" in m]
    assert said == [], said


def test_outputs_of_the_program_predict_as_its_resources_do(
    engine_stack: StackFactory, tmp_path: Path
) -> None:
    """``allowed_publishers=[profile.profile_version_arn]``, ``code=package.location`` and
    ``code_signing_config=config.arn`` (the spelling pulumi-aws programs use) are traced to
    their resources: a new stack is predicted from the graph, as with the resources."""
    code = tmp_path / "code"
    shutil.copytree(HELLO, code)
    stack = engine_stack("outputs", config={"code": str(code), "layer_dir": str(LAYER)})

    preview = stack.preview()

    assert preview.error is not None, "a predicted rejection fails the preview"
    allowed = _only(preview, "info", "mine")
    assert "would be allowed" in allowed and "fresh signature" in allowed, allowed
    assert "layer shared-" in allowed, "its layer, given as layer_version_arn, is judged too"
    rejected = _only(preview, "error", "theirs")
    assert "mismatch" in rejected and "::outsider" in rejected, rejected
    assert "CodeVerificationFailedException" in rejected
    # An output derived with apply is not the package's: nothing is claimed of it.
    derived = _only(preview, "warning", "derived")
    assert "UNKNOWN until deploy" in derived, derived
    assert "1 deploy(s) in this update would be rejected" in (preview.error or "")
