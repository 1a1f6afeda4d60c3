"""The pack's own logic, in-process: one check per template for all its rules, where each
standing is said, and the global options read from the CLI's variables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.errors import ValidationError
from sam_ext.cfn_lint import RuleId, pack
from sam_ext.check import CheckOptions, CheckReport, Finding, Standing

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Rejected": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Code": "src/", "CodeSigningConfigArn": "arn"},
        },
        "Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {}},
        "Warned": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"CodeSigningConfigArn": "a"},
        },
        "Bare": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "x/"}},
        "Open": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Image": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Fine": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {}},
    }
}


def _finding(logical_id: str, standing: Standing, *nested_in: str) -> Finding:
    resource_type = TEMPLATE["Resources"].get(logical_id, {}).get("Type", "AWS::Lambda::Function")
    return Finding(
        template=Path("t.yaml"),
        logical_id=logical_id,
        resource_type=resource_type,
        construct_path=None,
        standing=standing,
        policy=None,
        check=None,
        exception=None,
        message=f"{logical_id} is {standing}",
        remedy=None,
        nested_in=nested_in,
    )


FINDINGS = (
    _finding("Rejected", Standing.REJECT),
    _finding("Layer", Standing.REJECT),
    _finding("Warned", Standing.WARN),
    _finding("Bare", Standing.NO_CONFIG),
    _finding("Open", Standing.UNKNOWN),
    _finding("Image", Standing.NOT_APPLICABLE),
    _finding("Fine", Standing.ALLOW),
    _finding("Inner", Standing.REJECT, "Child"),
)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch, home: Path) -> list[CheckOptions]:
    """Every check the pack runs (its options), answering FINDINGS."""
    LocalBackend(home)  # a keystore: the pack refuses none
    seen: list[CheckOptions] = []

    def check_document(document: Any, **kwargs: Any) -> CheckReport:
        assert document is TEMPLATE
        seen.append(kwargs["options"])
        return CheckReport(FINDINGS)

    monkeypatch.setattr(pack, "check_document", check_document)
    monkeypatch.setenv("SAM_EXT_NOW", "2026-01-15T12:00:00Z")
    return seen


class _Template:
    """What the pack reads of cfn-lint's Template (weakly referenced, as that is)."""

    def __init__(self, parameters: dict[str, Any] | None) -> None:
        self.template = TEMPLATE
        self.filename = "t.yaml"
        sets = [SimpleNamespace(parameters=parameters)] if parameters is not None else []
        self.context = SimpleNamespace(parameter_sets=sets)


def _cfn(parameters: dict[str, Any] | None = None) -> Any:
    return _Template(parameters)


def test_every_rule_shares_one_check_per_template(checks: list[CheckOptions]) -> None:
    cfn = _cfn()
    said = {rule: pack.matches(rule, cfn) for rule in RuleId}
    assert len(checks) == 1
    assert {rule: [(m.path, m.message) for m in found] for rule, found in said.items()} == {
        RuleId.FAILED: [],
        RuleId.REJECTED: [
            (("Resources", "Rejected", "Properties", "Code"), "Rejected is REJECT"),
            (("Resources", "Layer"), "Layer is REJECT"),  # no ContentUri of its own
            (("Resources", "Child"), "Inner is REJECT"),  # at the nesting resource
        ],
        RuleId.NO_CONFIG: [(("Resources", "Bare"), "Bare is NO_CONFIG")],
        RuleId.WARN_CONFIG: [
            (("Resources", "Warned", "Properties", "CodeSigningConfigArn"), "Warned is WARN")
        ],
        RuleId.UNKNOWN: [(("Resources", "Open"), "Open is UNKNOWN")],
        RuleId.NOT_APPLICABLE: [(("Resources", "Image"), "Image is NOT_APPLICABLE")],
    }
    pack.matches(RuleId.REJECTED, _cfn())  # another template (cfn-lint's next file)
    assert len(checks) == 2


def test_cfn_lint_parameters_are_the_checks_overrides(checks: list[CheckOptions]) -> None:
    pack.matches(RuleId.REJECTED, _cfn({"ConfigArn": "arn:x", "Subnets": ["a", "b"]}))
    assert [dict(o.parameter_overrides) for o in checks] == [
        {"ConfigArn": "arn:x", "Subnets": "a,b"}
    ]
    assert checks[0].at.isoformat() == "2026-01-15T12:00:00+00:00"


def test_a_failure_is_said_once_by_e9300(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    def broken(document: Any, **kwargs: Any) -> CheckReport:
        raise ConnectionError("backend down")

    monkeypatch.setattr(pack, "check_document", broken)
    LocalBackend(home)
    cfn = _cfn()
    said = {rule: [m.message for m in pack.matches(rule, cfn)] for rule in RuleId}
    assert said.pop(RuleId.FAILED) == ["sam-ext check could not run: ConnectionError: backend down"]
    assert all(found == [] for found in said.values())


def test_the_global_options_come_from_the_clis_variables() -> None:
    context = pack.context_from_environment(
        {
            "CODESIGN_HOME": "/keys",
            "CODESIGN_REGION": "eu-west-1",
            "SAM_EXT_BACKEND": "aws",
            "SAM_EXT_NOW": "2026-01-15T12:00:00Z",
        }
    )
    assert (context.home, context.region, context.backend_name) == ("/keys", "eu-west-1", "aws")
    assert context.now.isoformat() == "2026-01-15T12:00:00+00:00"
    unset = pack.context_from_environment({"SAM_EXT_BACKEND": "", "CODESIGN_HOME": ""})
    assert (unset.backend_name, unset.home) == ("local", None)
    with pytest.raises(ValidationError, match="SAM_EXT_BACKEND='gcp'"):
        pack.context_from_environment({"SAM_EXT_BACKEND": "gcp"})


def test_a_missing_keystore_is_said_by_e9300_and_not_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The check only reads: CODESIGN_HOME naming no keystore was made one (index,
    keys/, objects/); now one E9300 names it and how to make one, and nothing is made."""
    missing = tmp_path / "nonexistent" / "x"
    monkeypatch.setenv("CODESIGN_HOME", str(missing))
    said = {rule: [m.message for m in pack.matches(rule, _cfn())] for rule in RuleId}
    failed = said.pop(RuleId.FAILED)
    assert len(failed) == 1 and f"CODESIGN_HOME: no keystore at {str(missing)!r}" in failed[0]
    assert "sam-ext profile put" in failed[0]
    assert all(found == [] for found in said.values())
    assert not (tmp_path / "nonexistent").exists()


NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def test_s3_code_on_the_local_backend_points_to_the_packs_variable(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """The pack's user chooses the aws backend with SAM_EXT_BACKEND, not a CLI option nor
    Pulumi's codesign:backend."""
    backend = LocalBackend(home)
    arn = backend.put_signing_profile("publisher", now=NOW)["profileVersionArn"]
    csc = backend.create_code_signing_config([arn], policy="Enforce", now=NOW)
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": "bucket", "S3Key": "key.zip"},
            "CodeSigningConfigArn": csc["CodeSigningConfig"]["CodeSigningConfigArn"],
        },
    }
    cfn = _Template(None)
    cfn.template = {"Resources": {"Fn": function}}
    monkeypatch.setenv("SAM_EXT_NOW", "2026-01-15T12:00:00Z")
    [match] = pack.matches(RuleId.UNKNOWN, cfn)
    assert "use SAM_EXT_BACKEND=aws for S3 objects" in match.message, match.message
    assert "--backend" not in match.message and "codesign:" not in match.message
