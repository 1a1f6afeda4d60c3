"""The Pulumi resources under the real engine: the basic example's lifecycle, and the
policy effects that ``pulumi preview`` shows before anything deploys."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from engine.conftest import EXAMPLES, StackFactory

HELLO = EXAMPLES.parent / "functions" / "hello"


def _jobs(keystore: Path) -> int:
    db = sqlite3.connect(keystore / "index.sqlite3")
    try:
        return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
    finally:
        db.close()


def test_basic_example_lifecycle(
    engine_stack: StackFactory, keystore: Path, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    shutil.copytree(HELLO, code)
    stack = engine_stack("basic", config={"code": str(code)})

    # Before anything exists, the program's graph decides: code signed by the profile the
    # config lists gets a fresh signature, which passes every check.
    preview = stack.preview()
    assert preview.error is None, preview.error
    allowed = preview.messages("info", "hello-function")
    assert any("would be allowed" in m and "fresh signature" in m for m in allowed), allowed

    up = stack.up()
    assert up.error is None, up.error
    for name in ("publisher", "enforce", "hello-package", "hello-function"):
        assert up.ops(name) == ["create"], (name, up.steps)
    # Auto-names are the same in the preview and the up.
    for name, key in (("hello-function", "function_name"), ("publisher", "profile_name")):
        planned, made = preview.step(name).outputs, up.step(name).outputs
        assert planned and made and planned[key] == made[key], (name, planned, made)
    assert up.outputs["verdict"]["decision"] == "ALLOW"
    assert Path(up.outputs["signed_package"]).is_file()
    assert _jobs(keystore) == 1

    # An unchanged source: no diff, and no new signing job.
    second = stack.up()
    assert second.error is None, second.error
    assert {step.op for step in second.steps if step.type.startswith("pulumi-python")} == {"same"}
    assert _jobs(keystore) == 1

    # A changed source file: a new signed package, and an update of the function only.
    (code / "app.py").write_text((code / "app.py").read_text() + "\n# changed\n")
    # The preview knows the new signature will be fresh, by a listed profile: allowed.
    resigning = stack.preview()
    assert resigning.error is None, resigning.error
    said = resigning.messages("info", "hello-function")
    assert any("would be allowed" in m and "fresh signature" in m for m in said), said
    changed = stack.up()
    assert changed.error is None, changed.error
    assert "replace" in changed.ops("hello-package") or "create-replacement" in changed.ops(
        "hello-package"
    )
    assert changed.ops("hello-function") == ["update"]
    assert changed.ops("publisher") == ["same"] and changed.ops("enforce") == ["same"]
    assert _jobs(keystore) == 2
    assert changed.outputs["signing_job_id"] != up.outputs["signing_job_id"]

    refreshed = stack.refresh()
    assert refreshed.error is None, refreshed.error
    assert "PRIVATE KEY" not in stack.state_text()

    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    assert "delete" in destroyed.ops("hello-function") and "delete" in destroyed.ops("publisher")


def test_preview_shows_each_verdict_under_warn(engine_stack: StackFactory) -> None:
    stack = engine_stack("policy-effects")
    preview = stack.preview()
    assert preview.error is None, preview.error
    allowed = preview.messages("info", "trusted")
    assert any("would be allowed" in message for message in allowed), preview.diagnostics
    expected = {
        "expired": "expiry",
        "revoked": "revocation",
        "signature-revoked": "revocation",
        "untrusted": "mismatch",
        "unsigned": "mismatch",
    }
    for name, check in expected.items():
        warnings = preview.messages("warning", name)
        assert any(check in message for message in warnings), (name, preview.diagnostics)
    assert not preview.messages("warning", "trusted")


def test_tampered_package_fails_the_preview_even_under_warn(engine_stack: StackFactory) -> None:
    stack = engine_stack("policy-effects", config={"include": "trusted,tampered"})
    preview = stack.preview()
    assert preview.error is not None
    assert "tampered" in preview.error and "InvalidCodeSignatureException" in preview.error
    assert "integrity" in preview.error


def test_switching_to_enforce_warns_naming_the_functions_it_would_block(
    engine_stack: StackFactory, keystore: Path
) -> None:
    stack = engine_stack("policy-effects", config={"include": "trusted,untrusted,expired"})
    up = stack.up()
    assert up.error is None, up.error
    # Warn deploys the untrusted code, and says so in the output of `pulumi up`.
    assert any("mismatch" in m for m in up.messages("warning", "untrusted")), up.diagnostics
    stack.set_config("policy", "Enforce")
    preview = stack.preview()
    # Lambda lets a config be tightened (deployed code keeps running), so the preview
    # passes, and names each function whose next deploy would then be rejected, and why.
    assert preview.error is None, preview.error
    assert preview.ops("policy") == ["update"]
    for name, check in (("untrusted", "mismatch"), ("expired", "expiry")):
        warnings = " ".join(preview.messages("warning", name))
        assert "next code deploy would be rejected" in warnings and check in warnings, (
            name,
            preview.diagnostics,
        )
        assert "keeps running" in warnings and "CodeVerificationFailedException" in warnings
    assert not preview.messages("warning", "trusted")
    assert not preview.messages("error")
    tightened = stack.up()
    assert tightened.error is None, tightened.error
    from provider.backends.local import LocalBackend

    configs = LocalBackend(str(keystore)).list_code_signing_configs()["CodeSigningConfigs"]
    assert [c["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] for c in configs] == [
        "Enforce"
    ]


def test_a_stack_with_no_config_previews(tmp_path: Path, pulumi_cli: Path) -> None:
    # The README's `pulumi stack init dev && pulumi preview`: no stack config at all (the
    # keystore comes from CODESIGN_HOME), which the language host must pass as {}.
    from engine.harness import EngineStack

    stack = EngineStack(
        tmp_path / "stack",
        EXAMPLES / "basic",
        config=None,
        env={"CODESIGN_HOME": str(tmp_path / "keystore")},
        bin_dir=pulumi_cli,
    )
    preview = stack.preview()
    assert preview.error is None, preview.error
    assert preview.ops("hello-function") == ["create"]
