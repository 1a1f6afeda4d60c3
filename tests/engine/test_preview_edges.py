"""What previews say, each thing once (issue 20, section 4), through the real Pulumi CLI:
a config's policy change is a change of policy, not of every function's config ARN; the
example's outputs are one line per function; one failure has one remedy at every level of
``predicted_verdict`` and in the finding."""

from __future__ import annotations

from typing import Any

from engine.conftest import StackFactory

KINDS = ("trusted", "expired", "revoked", "signature_revoked", "untrusted", "unsigned")


def _functions(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each LambdaFunction's outputs in state, by logical name."""
    return {
        r["urn"].rsplit("::", 1)[-1]: r.get("outputs") or {}
        for r in state.get("resources", [])
        if r["type"].endswith("codesign:LambdaFunction")
    }


def _section(text: str, title: str) -> list[str]:
    """The lines of a section of the CLI's output (``Outputs:``), up to the next blank."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_a_policy_change_previews_as_one_change_with_short_outputs(
    engine_stack: StackFactory,
) -> None:
    stack = engine_stack("policy-effects", config={"include": "trusted,untrusted"})
    up = stack.up()
    assert up.error is None, up.error
    assert up.outputs == {"verdicts": {"trusted": "ALLOW", "untrusted": "WARN (mismatch)"}}

    stack.set_config("policy", "Enforce")
    preview = stack.preview()
    assert preview.error is None, preview.error
    for name in ("trusted", "untrusted"):
        step = preview.step(name)
        assert step.op == "update"
        # The config is updated in place: its ARN (the function's input) stays known.
        assert "code_signing_config_arn" not in step.changed_inputs, step.changed_inputs
        assert "code_signing_policy" in step.changed_inputs
    shown = stack.cli("preview")
    assert shown.returncode == 0, shown.stderr
    assert "code_signing_config_arn" not in shown.stdout, shown.stdout
    assert _section(shown.stdout, "Outputs:") == [
        "  ~ verdicts: {",
        '        trusted  : "ALLOW"',
        '      ~ untrusted: "WARN (mismatch)" => "REJECT (mismatch)"',
        "    }",
    ], shown.stdout


def test_one_failure_has_one_remedy_at_every_level(engine_stack: StackFactory) -> None:
    stack = engine_stack("policy-effects")
    up = stack.up()
    assert up.error is None, up.error
    assert set(up.outputs["verdicts"]) == set(KINDS)
    functions = _functions(stack.state())
    assert set(functions) == {kind.replace("_", "-") for kind in KINDS}
    for name, outputs in functions.items():
        verdict = outputs["predicted_verdict"]
        per_artifact = [r for a in verdict["artifacts"] for r in a["remedies"]]
        assert verdict["remedies"] == list(dict.fromkeys(per_artifact)), (name, verdict)
        if name == "trusted":
            assert verdict["remedies"] == []
            continue
        [remedy] = verdict["remedies"]
        # The warning said on the function during `pulumi up` gives the same advice.
        findings = [f["message"] for f in outputs["findings"]]
        said = " ".join([*up.messages("warning", name), *findings])
        assert remedy in said, (name, remedy, said)
