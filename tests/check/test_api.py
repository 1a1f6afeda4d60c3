"""The library entry points (INTERFACES B): ``check_document`` on an already-parsed template
(cfn-lint's entry point) and ``CheckReport``'s exit statuses and document."""

from __future__ import annotations

from pathlib import Path

from provider import schemas
from provider.backends.local import LocalBackend
from sam_ext.check import (
    CheckOptions,
    CheckReport,
    FailOn,
    Finding,
    Standing,
    check_document,
    check_template,
)
from sam_ext.signing_profiles import SigningProfileRef
from tests.local_keystore import T0


def test_check_document_judges_a_parsed_template_next_to_its_file(tmp_path: Path) -> None:
    backend = LocalBackend(home=tmp_path / "keystore")
    arn = backend.put_signing_profile("publisher", now=T0)["profileVersionArn"]
    csc = backend.create_code_signing_config([arn], policy="Enforce", description=None, now=T0)[
        "CodeSigningConfig"
    ]["CodeSigningConfigArn"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c): pass\n")
    document = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": "src", "CodeSigningConfigArn": csc},
            }
        }
    }
    template = tmp_path / "template.yaml"  # never read: the document is given
    report = check_document(
        document, template_path=template, options=CheckOptions(at=T0), backend=backend
    )
    (finding,) = report.findings
    assert finding == Finding(
        template=template,
        logical_id="Fn",
        resource_type="AWS::Lambda::Function",
        construct_path=None,
        standing=Standing.REJECT,
        policy="Enforce",
        check="mismatch",
        exception="CodeVerificationFailedException",
        message=finding.message,
        remedy=f"sam-ext package --template-file {template} --signing-profiles Fn=publisher",
    )
    assert report.exit_code(FailOn.REJECT) == 1
    assert list(schemas.validator("check-report").iter_errors(report.to_document())) == []
    pending = check_document(
        document,
        template_path=template,
        options=CheckOptions(at=T0, signing_profiles={"Fn": SigningProfileRef("publisher")}),
        backend=backend,
    )
    assert pending.findings[0].standing is Standing.ALLOW
    assert pending.exit_code(FailOn.WARN) == 0
    # The same through check_template, from the file.
    template.write_text(
        '{"Resources": {"Fn": {"Type": "AWS::Lambda::Function", '
        f'"Properties": {{"Code": "src", "CodeSigningConfigArn": "{csc}"}}}}}}}}'
    )
    assert (
        check_template(template, CheckOptions(at=T0), backend).findings[0].standing
        is Standing.REJECT
    )


def _report(*standings: Standing) -> CheckReport:
    return CheckReport(
        tuple(
            Finding(
                Path("t.yaml"),
                f"R{i}",
                "AWS::Lambda::Function",
                None,
                s,
                None,
                None,
                None,
                "m",
                None,
            )
            for i, s in enumerate(standings)
        )
    )


def test_exit_statuses_by_fail_on() -> None:
    assert _report(Standing.ALLOW, Standing.NOT_APPLICABLE).exit_code(FailOn.WARN) == 0
    for standing in (Standing.WARN, Standing.UNKNOWN, Standing.NO_CONFIG):
        assert _report(Standing.ALLOW, standing).exit_code(FailOn.REJECT) == 0
        assert _report(Standing.ALLOW, standing).exit_code(FailOn.WARN) == 1
    assert _report(Standing.REJECT).exit_code(FailOn.REJECT) == 1
    ordered = _report(Standing.ALLOW, Standing.NO_CONFIG, Standing.REJECT, Standing.UNKNOWN)
    assert [f.standing for f in ordered.sorted()] == [
        Standing.REJECT,
        Standing.UNKNOWN,
        Standing.NO_CONFIG,
        Standing.ALLOW,
    ]
