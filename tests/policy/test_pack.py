"""The pack's policies on recorded resource inputs, without the engine.

- tests/policy/recorded/*.json: what the real engine handed the pack for
  tests/engine/programs/policy-pack (each resource as a resource policy gets it, on a new
  stack; the stack, as a stack policy gets it, with ``policy=Warn``) and for
  recorded/deployed-program previewed after ``pulumi up``, recorded with
  recorded/dump-pack; paths are placeholders.
- recorded_aws: pulumi-aws and aws-native resources in the shapes those providers send
  (sources named in its docstring).
"""

from __future__ import annotations

import json
import struct
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policy import recorded_aws as aws

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.policy import joins, policies
from provider.policy.shapes import Resource, function_view
from provider.verdict import Check

RECORDED = Path(__file__).resolve().parent / "recorded"
REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "functions" / "hello"
#: What the SignedPackage "hello" of recorded/local-deployed-stack.json recorded.
DEPLOYED_SIGNED_AT = "2026-12-01T10:01:13.957Z"
LAYER = "layer arn:aws:lambda:us-east-1:000000000000:layer:deps-01rsfmo:1 of function deployed"


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


def by_label(judged: list[joins.Judged]) -> dict[str, joins.Judged]:
    return {j.label: j for j in judged}


def named(violations: list[tuple[str, str]]) -> dict[str, str]:
    """``urn -> message`` as ``name -> message``."""
    return {urn.rsplit("::", 1)[-1]: message for urn, message in violations}


def decision(judged: joins.Judged) -> str:
    return judged.prediction.decision


# -- this project's resources, as recorded from the engine -----------------------------------


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    member = zipfile.ZipFile(path).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def new_stack(tmp_path: Path) -> dict[str, Resource]:
    """The engine test's program on a new stack (each resource as a resource policy gets
    it), with its .zip files and keystore made here."""
    unsigned = tmp_path / "unsigned.zip"
    unsigned.write_bytes(zip_directory(HELLO))
    home = tmp_path / "keystore"
    backend = LocalBackend(home)
    now = at("2026-12-01T09:00:00Z")
    backend.put_signing_profile("outside_team", now=now)
    job = backend.sign_package(unsigned, str(tmp_path / "signed"), "outside_team", now=now)
    tampered = Path(job["signedObject"]["path"])
    _tamper(tampered)
    records = load(
        "local-new-stack.json", home=str(home), unsigned=str(unsigned), tampered=str(tampered)
    )
    return {r.name: r for r in records}


WHEN = "2026-12-01T10:00:00Z"


def test_each_function_is_judged_from_its_own_inputs(new_stack: dict[str, Resource]) -> None:
    rejected = {
        name: policies.function_rejections(resource, at(WHEN))
        for name, resource in new_stack.items()
    }
    assert sorted(name for name, found in rejected.items() if found) == ["tampered", "unsigned"]
    [tampered] = rejected["tampered"]
    assert "function tampered: the next deploy would be rejected" in tampered
    assert "InvalidCodeSignatureException" in tampered and "integrity:" in tampered
    [unsigned] = rejected["unsigned"]
    assert "CodeVerificationFailedException" in unsigned
    assert "mismatch: the package is not signed" in unsigned
    assert "To fix: deploy the code from a SignedPackage" in unsigned
    # The new package will be signed by the config's own (new) publisher: allowed, from
    # the program's graph alone (the package and the config name the same profile URN).
    signed = function_view(new_stack["signed"])
    assert signed is not None
    [prediction] = joins.own_predictions(signed, joins.EMPTY, at(WHEN))
    assert decision(prediction) == "ALLOW"
    assert prediction.prediction.checks[Check.MISMATCH] == "PASSED"


def test_the_pack_predicts_what_the_resources_own_check_predicted(
    new_stack: dict[str, Resource],
) -> None:
    # One prediction: the pack, with no backend, comes to the decision each function's
    # check (with the keystore) recorded in its predicted_verdict output.
    compared = {}
    for name in ("unsigned", "tampered", "signed"):
        function = function_view(new_stack[name])
        assert function is not None
        [judged] = joins.own_predictions(function, joins.EMPTY, at(WHEN))
        compared[name] = (decision(judged), new_stack[name].props["predicted_verdict"]["decision"])
    assert compared == {
        "unsigned": ("REJECT", "REJECT"),
        "tampered": ("REJECT", "REJECT"),
        "signed": ("ALLOW", "ALLOW"),
    }


def test_each_layer_of_a_function_is_judged_and_named(
    new_stack: dict[str, Resource], tmp_path: Path
) -> None:
    signed = new_stack["signed"]
    tampered = new_stack["tampered"].props["code"]
    layers = [
        {"arn": None, "name": "deps", "code": tampered, "package": None},
        {"arn": None, "name": "tools", "code": None, "package": signed.props["code_package"]},
    ]
    with_layers = Resource(signed.urn, signed.type, signed.name, {**signed.props, "layers": layers})
    [message] = policies.function_rejections(with_layers, at(WHEN))
    assert message.startswith("layer deps of function signed: the next deploy would be rejected")
    assert "InvalidCodeSignatureException" in message
    function = function_view(with_layers)
    assert function is not None
    judged = by_label(joins.own_predictions(function, joins.EMPTY, at(WHEN)))
    assert decision(judged["layer tools of function signed"]) == "ALLOW"
    # Layers this update does not deploy are their standing: never a rejection.
    kept = Resource(
        signed.urn,
        signed.type,
        signed.name,
        {**with_layers.props, "deploying": {"code": True, "layers": False}},
    )
    assert policies.function_rejections(kept, at(WHEN)) == []


def test_a_profile_the_config_does_not_list_is_a_predicted_mismatch(
    new_stack: dict[str, Resource],
) -> None:
    signed = new_stack["signed"]
    package = {**signed.props["code_package"], "signer_ref": "urn:other-profile"}
    other = Resource(
        signed.urn, signed.type, signed.name, {**signed.props, "code_package": package}
    )
    [message] = policies.function_rejections(other, at(WHEN))
    assert "mismatch: signed by the profile urn:other-profile" in message
    assert "CodeVerificationFailedException" in message


def test_new_stack_resource_policies(new_stack: dict[str, Resource]) -> None:
    required = {n: policies.required_violation(r) for n, r in new_stack.items()}
    assert [name for name, message in required.items() if message] == ["no-config"]
    enforce = {n: policies.enforce_violation(r) for n, r in new_stack.items()}
    assert [name for name, message in enforce.items() if message] == ["lenient"]
    # 12 months is within the default bound of 12.
    assert all(policies.validity_violation(r, 12) is None for r in new_stack.values())
    assert policies.validity_violation(new_stack["publisher"], 6) is not None


def test_new_warn_stack_warnings_and_the_expiry_of_a_signature_to_be_made(
    tmp_path: Path,
) -> None:
    unsigned = tmp_path / "unsigned.zip"
    unsigned.write_bytes(zip_directory(HELLO))
    stack = joins.Stack.of(
        load("local-new-stack-warn.json", home=str(tmp_path / "none"), unsigned=str(unsigned))
    )
    when = at(WHEN)
    warned = named(policies.warnings(stack, when))
    assert list(warned) == ["unsigned"]
    assert (
        "would deploy with a warning under code signing config enforced (Warn)"
        in (warned["unsigned"])
    )
    # Only pulumi-aws and aws-native functions are the stack's verdict policy's.
    assert policies.joined_rejections(stack, when) == []
    # The new package is signed now by a 12-month profile (the graph says which).
    soon = named(policies.expiry_violations(stack, when, 400))
    assert "SignedPackage hello's signature expires at 2027-12-01T10:00:00.000Z" in soon["signed"]
    assert policies.expiry_violations(stack, when, 30) == []


@pytest.fixture
def deployed() -> list[Resource]:
    return load("local-deployed-stack.json", home="/nonexistent-keystore")


def test_deployed_stack_layers_signature_expiry_window_and_expiry(
    deployed: list[Resource],
) -> None:
    stack = joins.Stack.of(deployed)
    day_later = at(DEPLOYED_SIGNED_AT) + timedelta(days=1)

    judged = by_label(joins.predictions(stack, day_later))
    assert {label: decision(j) for label, j in judged.items()} == {
        "function deployed": "ALLOW",
        LAYER: "ALLOW",
    }
    assert not any(j.deploying for j in judged.values())  # as its check recorded
    code, layer = (message for _, message in policies.expiry_violations(stack, day_later, 30))
    assert code.startswith(
        "function deployed: SignedPackage hello's signature expires at 2026-12-21T10:01:13.957Z"
    )
    assert layer.startswith(f"{LAYER}: SignedPackage deps's signature expires at")
    assert policies.expiry_violations(stack, day_later, 7) == []

    expired = at("2026-12-21T10:01:13.957Z")
    after = by_label(joins.predictions(stack, expired))["function deployed"].prediction
    assert after.decision == "REJECT"
    assert [f.check for f in after.failed] == [Check.EXPIRY]
    # Nothing is deployed to it in this update: its standing is a warning, not a failure.
    [function] = [r for r in deployed if r.name == "deployed"]
    assert policies.function_rejections(function, expired) == []
    standing = policies.warnings(stack, expired)
    assert len(standing) == 2
    assert all("its deployed code keeps running" in message for _, message in standing)
    assert "would be rejected by code signing config enforced (Enforce)" in standing[0][1]


def test_deployed_code_that_is_not_the_signed_object_fails_integrity(
    deployed: list[Resource],
) -> None:
    # New bytes at the package's path (check hashed them): a code deploy, judged.
    changed = [
        Resource(
            r.urn,
            r.type,
            r.name,
            {**r.props, "code_sha384": "00" * 48, "deploying": {"code": True, "layers": False}},
            r.property_dependencies,
        )
        if r.name == "deployed"
        else r
        for r in deployed
    ]
    stack = joins.Stack.of(changed)
    when = at(DEPLOYED_SIGNED_AT) + timedelta(days=1)
    judged = by_label(joins.predictions(stack, when))["function deployed"]
    assert judged.deploying and decision(judged) == "REJECT"
    assert "differs from the signed object of SignedPackage hello" in (
        judged.prediction.failed[0].message
    )


# -- pulumi-aws and aws-native, in their providers' shapes -----------------------------------


@pytest.fixture
def deployed_aws() -> joins.Stack:
    return joins.Stack.of(resources(aws.deployed_aws_stack()))


def test_aws_functions_are_joined_to_packages_and_configs(deployed_aws: joins.Stack) -> None:
    predictions = by_label(joins.predictions(deployed_aws, at(aws.JUDGED_AT)))

    def decision(label: str) -> str:
        return predictions[label].prediction.decision

    assert decision("function api") == "ALLOW"
    assert predictions["function api"].package.resource.name == "api-code"  # type: ignore[union-attr]
    assert decision("function api-copy") == "ALLOW"  # joined by bucket/key/version
    assert decision("function legacy") == "REJECT"
    assert decision("function partner") == "WARN"
    assert decision("function soon") == "ALLOW"
    assert decision("function with-layer") == "ALLOW"
    layer = predictions["layer deps of function with-layer"].prediction
    assert layer.decision == "REJECT"
    assert [f.check for f in layer.failed] == [Check.REVOCATION]
    assert decision("function native") == "REJECT"
    # A pulumi-aws function under this project's CodeSigningConfig, which lists the outsider.
    assert decision("function partner-enforced") == "ALLOW"
    assert predictions["function partner-enforced"].config.resource.name == "codesign-enforce"  # type: ignore[union-attr]
    # No config, or a container image: no verdict (the required policy speaks of them).
    assert "function unsigned" not in predictions
    assert "function image" not in predictions
    assert "function native-inline" not in predictions


def test_aws_violations_name_the_resource_and_the_fix(deployed_aws: joins.Stack) -> None:
    when = at(aws.JUDGED_AT)
    rejected = named(policies.joined_rejections(deployed_aws, when))
    assert sorted(rejected) == ["legacy", "native", "with-layer"]
    assert "expiry: the signature expired at 2026-11-01T12:00:00.000Z" in rejected["legacy"]
    assert rejected["with-layer"].startswith("layer deps of function with-layer:")
    assert "CodeVerificationFailedException" in rejected["native"]
    assert "To fix:" in rejected["native"]
    warned = named(policies.warnings(deployed_aws, when))
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


@pytest.mark.parametrize(("listed", "expected"), [(True, "ALLOW"), (False, "REJECT")])
def test_new_aws_stack_is_judged_from_the_graph(listed: bool, expected: str) -> None:
    stack = joins.Stack.of(resources(aws.new_aws_stack(listed=listed)))
    [judged] = joins.predictions(stack, at(aws.JUDGED_AT))
    assert judged.prediction.decision == expected
    # A fresh signature of a 10-day profile: inside the 30-day window, outside a 7-day one.
    assert len(policies.expiry_violations(stack, at(aws.JUDGED_AT), 30)) == 1
    assert policies.expiry_violations(stack, at(aws.JUDGED_AT), 7) == []


def test_unknown_inputs_leave_the_verdict_undecided_not_allowed() -> None:
    records = aws.new_aws_stack(listed=True)
    function = records[-1]
    function["property_dependencies"] = {}  # nothing links the code to a package
    [judged] = joins.predictions(joins.Stack.of(resources(records)), at(aws.JUDGED_AT))
    assert judged.prediction.decision == "UNKNOWN"
    assert "the code is not known until deploy" in judged.prediction.waiting_for


def test_publishers_not_known_and_not_traceable_leave_mismatch_unknown() -> None:
    records = aws.new_aws_stack(listed=True)
    records[2]["property_dependencies"] = {}  # the config's publishers: unknown, untraceable
    [judged] = joins.predictions(joins.Stack.of(resources(records)), at(aws.JUDGED_AT))
    assert judged.prediction.checks[Check.MISMATCH] == "UNKNOWN"
    assert judged.prediction.failed == ()
    assert judged.prediction.decision == "UNKNOWN"


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
def test_a_revocation_this_update_applies_is_judged_already(
    revoke: str, deployed: list[Resource]
) -> None:
    changed = []
    for r in deployed:
        props = dict(r.props)
        if revoke == "signature" and r.name == "hello" and "SignedPackage" in r.type:
            props["signature_revocation"] = {"reason": "built from a compromised branch"}
        if revoke == "profile" and r.name == "publisher":
            props["revocation"] = {"reason": "key leaked", "effective_time": "2026-12-01T00:00:00Z"}
        changed.append(Resource(r.urn, r.type, r.name, props, r.property_dependencies))
    when = at(DEPLOYED_SIGNED_AT) + timedelta(days=1)
    judged = by_label(joins.predictions(joins.Stack.of(changed), when))
    code = judged["function deployed"].prediction
    assert code.decision == "REJECT"
    assert [f.check for f in code.failed] == [Check.REVOCATION]
    expected = "compromised branch" if revoke == "signature" else "is revoked for signatures made"
    assert expected in code.failed[0].message
    # A profile revocation covers the layer's signature too; the package's only its own.
    assert decision(judged[LAYER]) == ("REJECT" if revoke == "profile" else "ALLOW")
    # Deployed code keeps running: its standing is a warning of this update.
    assert len(policies.warnings(joins.Stack.of(changed), when)) == (
        2 if revoke == "profile" else 1
    )


def test_this_projects_function_on_the_aws_backend_is_joined_by_its_s3_object() -> None:
    """A LambdaFunction on codesign:backend aws deploys the package's versioned object
    (or an object by s3_bucket/s3_key): joined to the package by value, judged as such."""
    stack = aws.deployed_aws_stack()
    package = next(r for r in stack if r["name"] == "api-code")["props"]
    versioned = f"{package['location']}?versionId={package['object_version']}"
    bucket, key, version = package["bucket"], package["key"], package["object_version"]
    functions = [
        aws.record(
            "pulumi-python:dynamic/codesign:LambdaFunction",
            name,
            {
                "code": code,
                "s3_bucket": s3[0],
                "s3_key": s3[1],
                "s3_object_version": s3[2],
                "code_signing_config_arn": aws.ENFORCE_ARN,
                "settings": {"backend": "aws", "region": "us-east-1"},
            },
        )
        for name, code, s3 in (
            ("own-versioned", versioned, (None, None, None)),
            ("own-by-key", None, (bucket, key, version)),
            ("own-latest", None, (bucket, key, None)),
            ("own-elsewhere", "s3://other-bucket/app.zip", (None, None, None)),
        )
    ]
    judged = by_label(
        joins.predictions(joins.Stack.of(resources(stack + functions)), at(aws.JUDGED_AT))
    )
    for name in ("own-versioned", "own-by-key"):
        assert decision(judged[f"function {name}"]) == "ALLOW"
        assert judged[f"function {name}"].package.resource.name == "api-code"  # type: ignore[union-attr]
    # The key's latest version may not be what was signed; an object no package of the
    # stack signed: undecided, never "allowed".
    assert decision(judged["function own-latest"]) == "UNKNOWN"
    assert decision(judged["function own-elsewhere"]) == "UNKNOWN"


def test_a_config_naming_an_unknown_policy_is_refused_naming_it_and_the_known_ones() -> None:
    known = [policy.name for policy in policies.policies()]
    said = policies.unknown_policies_message(
        ["all", "lambda-code-signing-verdit", policies.VERDICT, "Signature-Expiry-Window"], known
    )
    assert said is not None
    assert "does not have: Signature-Expiry-Window, lambda-code-signing-verdit" in said
    assert f"its policies are: {', '.join(known)}" in said
    assert policies.unknown_policies_message(["all", *known], known) is None
