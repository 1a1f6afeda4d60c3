"""The pack's policies on recorded resource inputs, without the engine.

- tests/policy/recorded/*.json: what the real engine handed a policy pack's stack policy
  for tests/engine/programs/policy-pack (a new stack) and for a deployed stack, recorded
  with ``pulumi_policy.deserialize.serialize_properties``; paths are placeholders.
- recorded_aws: pulumi-aws and aws-native resources in the shapes those providers send
  (sources named in its docstring).
"""

from __future__ import annotations

import json
import struct
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from policy import recorded_aws as aws

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.policy import joins, policies
from provider.policy.evidence import file_facts
from provider.policy.shapes import Resource
from provider.verdict import Check, Decision

RECORDED = Path(__file__).resolve().parent / "recorded"
REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "functions" / "hello"


def resources(records: list[dict[str, Any]]) -> list[Resource]:
    return [
        Resource(r["urn"], r["type"], r["name"], r["props"], r["property_dependencies"])
        for r in records
    ]


def load(name: str, **paths: str) -> list[Resource]:
    text = (RECORDED / name).read_text()
    for key, value in {"repo": str(REPO), **paths}.items():
        text = text.replace("{" + key + "}", value)
    return resources(json.loads(text))


def at(text: str) -> datetime:
    return parse_instant(text, field="test")


def by_label(predictions: list[joins.Prediction]) -> dict[str, joins.Prediction]:
    return {p.label: p for p in predictions}


def named(violations: list[tuple[str, str]]) -> dict[str, str]:
    """``urn -> message`` as ``name -> message``."""
    return {urn.rsplit("::", 1)[-1]: message for urn, message in violations}


# -- this project's resources, as recorded from the engine -----------------------------------


@pytest.fixture
def new_stack(tmp_path: Path) -> list[Resource]:
    """The engine test's program on a new stack, with its .zip files made here."""
    unsigned = tmp_path / "unsigned.zip"
    unsigned.write_bytes(zip_directory(HELLO))
    home = tmp_path / "keystore"
    backend = LocalBackend(home)
    now = at("2026-12-01T09:00:00Z")
    backend.put_signing_profile("outside_team", now=now)
    job = backend.sign_package(unsigned, str(tmp_path / "signed"), "outside_team", now=now)
    tampered = Path(job["signedObject"]["path"])
    data = bytearray(tampered.read_bytes())
    member = zipfile.ZipFile(tampered).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    tampered.write_bytes(bytes(data))
    return load(
        "local-new-stack.json", home=str(home), unsigned=str(unsigned), tampered=str(tampered)
    )


def test_new_stack_rejections_are_predicted_from_files_and_the_graph(
    new_stack: list[Resource],
) -> None:
    stack = joins.Stack.of(new_stack)
    predictions = by_label(joins.predict(stack, at("2026-12-01T10:00:00Z"), file_facts))

    assert set(predictions) == {"function unsigned", "function tampered", "function signed"}
    unsigned = predictions["function unsigned"].verdict
    assert unsigned is not None and unsigned.decision is Decision.REJECT
    assert [f.check for f in unsigned.failed] == [Check.MISMATCH]
    tampered = predictions["function tampered"].verdict
    assert tampered is not None and tampered.decision is Decision.REJECT
    assert tampered.exception == "InvalidCodeSignatureException"
    # The new package will be signed by the config's own (new) publisher: allowed, from
    # the program's graph alone.
    signed = predictions["function signed"]
    assert signed.verdict is not None and signed.verdict.decision is Decision.ALLOW, signed
    assert signed.package is not None and signed.package.resource.name == "hello"
    assert signed.verdict.checks[Check.MISMATCH] == "PASSED"


def test_new_stack_violations_per_policy(new_stack: list[Resource]) -> None:
    stack = joins.Stack.of(new_stack)
    when = at("2026-12-01T10:00:00Z")
    rejected = named(policies.verdict_violations(stack, when, Decision.REJECT))
    assert sorted(rejected) == ["tampered", "unsigned"]
    assert "code signing config enforced (Enforce)" in rejected["unsigned"]
    assert policies.verdict_violations(stack, when, Decision.WARN) == []
    required = {r.name: policies.required_violation(r) for r in new_stack}
    assert [name for name, message in required.items() if message] == ["no-config"]
    enforce = {r.name: policies.enforce_violation(r) for r in new_stack}
    assert [name for name, message in enforce.items() if message] == ["lenient"]
    # 12 months is within the default bound of 12.
    assert all(policies.validity_violation(r, 12) is None for r in new_stack)
    assert (
        policies.validity_violation(next(r for r in new_stack if r.name == "publisher"), 6)
        is not None
    )


def test_a_profile_the_config_does_not_list_is_a_predicted_mismatch(
    new_stack: list[Resource],
) -> None:
    # The same program with the package signed by a profile the config does not depend on.
    changed = [
        Resource(r.urn, r.type, r.name, r.props, {"profile_name": ["urn:other-profile"]})
        if r.name == "hello"
        else r
        for r in new_stack
    ]
    other = Resource(
        "urn:other-profile",
        "pulumi-python:dynamic/codesign:SigningProfile",
        "other",
        {"profile_name": "other_team", "signature_validity_period": {"value": 1.0, "type": "DAYS"}},
    )
    stack = joins.Stack.of([*changed, other])
    signed = by_label(joins.predict(stack, at("2026-12-01T10:00:00Z"), file_facts))[
        "function signed"
    ]
    assert signed.verdict is not None and signed.verdict.decision is Decision.REJECT
    assert "the new version of signing profile other" in signed.verdict.failed[0].message
    # A fresh signature by a one-day profile expires within the 30-day window.
    soon = named(policies.expiry_violations(stack, at("2026-12-01T10:00:00Z"), 30))
    assert "expires at 2026-12-02T10:00:00.000Z" in soon["signed"]


def test_deployed_stack_signature_expiry_window_and_expiry() -> None:
    stack = joins.Stack.of(load("local-deployed-stack.json", home="/nonexistent-keystore"))
    signed_at = at("2026-12-01T09:24:39.058Z")  # as recorded; validity 20 days

    day_later = by_label(joins.predict(stack, at("2026-12-02T09:00:00Z"), file_facts))
    deployed = day_later["function deployed"].verdict
    assert deployed is not None and deployed.decision is Decision.ALLOW
    assert deployed.facts.job_id == "a87c9fa0-f732-47c3-b8ff-a85869a20668"
    window = named(policies.expiry_violations(stack, at("2026-12-02T09:00:00Z"), 30))
    assert (
        "SignedPackage hello's signature expires at 2026-12-21T09:24:39.058Z"
        in (window["deployed"])
    )
    assert policies.expiry_violations(stack, at("2026-12-02T09:00:00Z"), 7) == []

    expired = at("2026-12-21T09:24:39.058Z")
    after = joins.predict(stack, expired, file_facts)[0].verdict
    assert after is not None and after.decision is Decision.REJECT
    assert [f.check for f in after.failed] == [Check.EXPIRY]
    assert signed_at < after.evaluated_at
    # Nothing is deployed to it in this update: its standing is a warning, not a failure.
    assert policies.verdict_violations(stack, expired, Decision.REJECT) == []
    standing = named(policies.verdict_violations(stack, expired, Decision.WARN))
    assert "its deployed code keeps running" in standing["deployed"]
    assert "would be rejected by code signing config enforced (Enforce)" in standing["deployed"]


def test_deployed_code_that_is_not_the_signed_object_fails_integrity() -> None:
    records = load("local-deployed-stack.json", home="/nonexistent-keystore")
    # The function deploys the package's path by value (no graph link), but other bytes.
    changed = [
        Resource(r.urn, r.type, r.name, {**r.props, "code_sha384": "00" * 48}, {})
        if r.name == "deployed"
        else r
        for r in records
    ]
    stack = joins.Stack.of(changed)
    verdict = joins.predict(stack, at("2026-12-02T09:00:00Z"), file_facts)[0]
    assert verdict.verdict is not None and verdict.verdict.decision is Decision.REJECT
    # New bytes are a code deploy: a failure.
    assert verdict.deploying
    assert named(policies.verdict_violations(stack, at("2026-12-02T09:00:00Z"), Decision.REJECT))
    assert "differs from the signed object of SignedPackage hello" in (
        verdict.verdict.failed[0].message
    )


# -- pulumi-aws and aws-native, in their providers' shapes -----------------------------------


@pytest.fixture
def deployed_aws() -> joins.Stack:
    return joins.Stack.of(resources(aws.deployed_aws_stack()))


def test_aws_functions_are_joined_to_packages_and_configs(deployed_aws: joins.Stack) -> None:
    predictions = by_label(joins.predict(deployed_aws, at(aws.JUDGED_AT), file_facts))

    def decision(label: str) -> Decision | None:
        verdict = predictions[label].verdict
        return verdict.decision if verdict else None

    assert decision("function api") is Decision.ALLOW
    assert predictions["function api"].package.resource.name == "api-code"  # type: ignore[union-attr]
    assert decision("function api-copy") is Decision.ALLOW  # joined by bucket/key/version
    assert decision("function legacy") is Decision.REJECT
    assert decision("function partner") is Decision.WARN
    assert decision("function soon") is Decision.ALLOW
    assert decision("function with-layer") is Decision.ALLOW
    layer = predictions["layer deps of function with-layer"].verdict
    assert layer is not None and layer.decision is Decision.REJECT
    assert [f.check for f in layer.failed] == [Check.REVOCATION]
    assert decision("function native") is Decision.REJECT
    # A pulumi-aws function under this project's CodeSigningConfig, which lists the outsider.
    assert decision("function partner-enforced") is Decision.ALLOW
    assert predictions["function partner-enforced"].config.resource.name == "codesign-enforce"  # type: ignore[union-attr]
    # No config, or a container image: no verdict (the required policy speaks of them).
    assert "function unsigned" not in predictions
    assert "function image" not in predictions
    assert "function native-inline" not in predictions


def test_aws_violations_name_the_resource_and_the_fix(deployed_aws: joins.Stack) -> None:
    when = at(aws.JUDGED_AT)
    rejected = named(policies.verdict_violations(deployed_aws, when, Decision.REJECT))
    assert sorted(rejected) == ["legacy", "native", "with-layer"]
    assert "expiry: the signature expired at 2026-11-01T12:00:00.000Z" in rejected["legacy"]
    assert rejected["with-layer"].startswith("layer deps of function with-layer:")
    assert "CodeVerificationFailedException" in rejected["native"]
    assert "To fix:" in rejected["native"]
    warned = named(policies.verdict_violations(deployed_aws, when, Decision.WARN))
    assert list(warned) == ["partner"]
    assert "code signing config warn (Warn)" in warned["partner"]
    soon = named(policies.expiry_violations(deployed_aws, when, 30))
    assert list(soon) == ["soon"] and "in 18 days" in soon["soon"]


def test_aws_resource_policies() -> None:
    records = {r.name: r for r in resources(aws.deployed_aws_stack())}
    required = {n: policies.required_violation(r) for n, r in records.items()}
    assert sorted(n for n, m in required.items() if m) == ["native-inline", "unsigned"]
    assert "code_signing_config_arn" in str(required["unsigned"])
    enforce = {n: policies.enforce_violation(r) for n, r in records.items()}
    assert sorted(n for n, m in enforce.items() if m) == ["native-warn", "warn"]
    assert 'policies={"untrusted_artifact_on_deployment": "Enforce"}' in str(enforce["warn"])
    validity = policies.validity_violation(records["publisher"], 12)
    assert validity is not None and "135 MONTHS" in validity
    assert policies.validity_violation(records["publisher"], 135) is None


@pytest.mark.parametrize(("listed", "expected"), [(True, Decision.ALLOW), (False, Decision.REJECT)])
def test_new_aws_stack_is_judged_from_the_graph(listed: bool, expected: Decision) -> None:
    stack = joins.Stack.of(resources(aws.new_aws_stack(listed=listed)))
    [prediction] = joins.predict(stack, at(aws.JUDGED_AT), file_facts)
    assert prediction.verdict is not None and prediction.verdict.decision is expected
    # A fresh signature of a 10-day profile: inside the 30-day window, outside a 7-day one.
    assert len(policies.expiry_violations(stack, at(aws.JUDGED_AT), 30)) == 1
    assert policies.expiry_violations(stack, at(aws.JUDGED_AT), 7) == []


def test_unknown_inputs_leave_the_verdict_undecided_not_allowed() -> None:
    records = aws.new_aws_stack(listed=True)
    function = records[-1]
    function["property_dependencies"] = {}  # nothing links the code to a package
    [prediction] = joins.predict(joins.Stack.of(resources(records)), at(aws.JUDGED_AT), file_facts)
    assert prediction.verdict is None
    assert prediction.undecided is not None and "not known until deploy" in prediction.undecided


def test_publishers_not_known_and_not_traceable_leave_mismatch_unknown() -> None:
    records = aws.new_aws_stack(listed=True)
    records[2]["property_dependencies"] = {}  # the config's publishers: unknown, untraceable
    [prediction] = joins.predict(joins.Stack.of(resources(records)), at(aws.JUDGED_AT), file_facts)
    assert prediction.verdict is not None
    assert prediction.verdict.checks[Check.MISMATCH] == "UNKNOWN"
    assert prediction.verdict.failed == ()


def _proxied(props: dict[str, Any]) -> Any:
    """Properties as pulumi-policy hands them to a policy (proxies that raise on unknowns)."""
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy(deserialize_properties(props))


def test_policies_read_pulumi_policy_arguments_and_their_config() -> None:
    from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

    records = {r["name"]: r for r in aws.deployed_aws_stack()}
    profile = records["publisher"]
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    def validity_args(config: dict[str, Any] | None) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            profile["type"],
            _proxied(profile["props"]),
            profile["urn"],
            profile["name"],
            None,
            None,
            config,
            {},
        )

    policies._validate_validity(validity_args(None), report)
    assert len(reported) == 1 and "more than the 12 months allowed" in reported[0]
    policies._validate_validity(validity_args({"months": 135}), report)
    assert len(reported) == 1

    stack_resources = []
    for r in aws.new_aws_stack(listed=True):
        stack_resources.append(
            PolicyResource(
                r["type"], _proxied(r["props"]), r["urn"], r["name"], None, None, None, [], {}
            )
        )
    by_urn = {r.urn: r for r in stack_resources}
    for r, raw in zip(stack_resources, aws.new_aws_stack(listed=True), strict=True):
        r.property_dependencies = {
            key: [by_urn[u] for u in urns] for key, urns in raw["property_dependencies"].items()
        }
    policies._validate_expiry(StackValidationArgs(stack_resources, {"days": 30}, {}), report)
    assert len(reported) == 2 and "function api:" in reported[1]
    policies._validate_expiry(StackValidationArgs(stack_resources, {"days": 5}, {}), report)
    assert len(reported) == 2


def test_image_functions_are_exempt_with_the_reason() -> None:
    from pulumi_policy import ResourceValidationArgs
    from pulumi_policy.policy import _NotApplicableError

    image = {r["name"]: r for r in aws.deployed_aws_stack()}["image"]
    args = ResourceValidationArgs(
        image["type"], _proxied(image["props"]), image["urn"], image["name"], None, None, None, {}
    )
    reported: list[str] = []
    with pytest.raises(_NotApplicableError) as raised:
        policies._validate_required(args, lambda message, urn=None: reported.append(message))
    assert reported == []
    assert "function image: container image functions are exempt" in str(raised.value.reason)


def test_a_config_arn_unknown_until_deploy_counts_as_a_config() -> None:
    [function] = [r for r in resources(aws.new_aws_stack(listed=True)) if r.name == "api"]
    assert policies.required_violation(function) is None


@pytest.mark.parametrize("revoke", ["signature", "profile"])
def test_a_revocation_this_update_applies_is_judged_already(revoke: str) -> None:
    records = load("local-deployed-stack.json", home="/nonexistent-keystore")
    changed = []
    for r in records:
        props = dict(r.props)
        if revoke == "signature" and r.name == "hello":
            props["signature_revocation"] = {"reason": "built from a compromised branch"}
        if revoke == "profile" and r.name == "publisher":
            props["revocation"] = {"reason": "key leaked", "effective_time": "2026-12-01T00:00:00Z"}
        changed.append(Resource(r.urn, r.type, r.name, props, r.property_dependencies))
    when = at("2026-12-02T09:00:00Z")
    [prediction] = joins.predict(joins.Stack.of(changed), when, file_facts)
    assert prediction.verdict is not None and prediction.verdict.decision is Decision.REJECT
    assert [f.check for f in prediction.verdict.failed] == [Check.REVOCATION]
    expected = "compromised branch" if revoke == "signature" else "is revoked for signatures made"
    assert expected in prediction.verdict.failed[0].message


def test_this_projects_function_on_the_aws_backend_is_joined_by_its_s3_object() -> None:
    """A LambdaFunction on codesign:backend aws deploys the package's versioned object
    (or an object by s3_bucket/s3_key): joined to the package by value, judged as such."""
    stack = aws.deployed_aws_stack()
    package = next(r for r in stack if r["name"] == "api-code")["props"]
    versioned = f"{package['location']}?versionId={package['object_version']}"
    functions = [
        aws.record("pulumi-python:dynamic/codesign:LambdaFunction", name, {
            "code": code, "s3_bucket": bucket, "s3_key": key,
            "code_signing_config_arn": aws.ENFORCE_ARN,
            "settings": {"backend": "aws", "region": "us-east-1"}})
        for name, code, bucket, key in (
            ("own-versioned", versioned, None, None),
            ("own-by-key", None, package["bucket"], package["key"]),
            ("own-elsewhere", "s3://other-bucket/app.zip", None, None),
        )
    ]
    predictions = by_label(joins.predict(
        joins.Stack.of(resources(stack + functions)), at(aws.JUDGED_AT), file_facts))
    for name in ("own-versioned", "own-by-key"):
        prediction = predictions[f"function {name}"]
        assert prediction.verdict is not None and prediction.verdict.decision is Decision.ALLOW
        assert prediction.package is not None and prediction.package.resource.name == "api-code"
    elsewhere = predictions["function own-elsewhere"]
    assert elsewhere.verdict is None  # undecided, never "allowed"
    assert "is no SignedPackage's object" in str(elsewhere.undecided)
