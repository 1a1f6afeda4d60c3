"""``sam-ext deploy`` on the local backend of a template whose configs list a publisher
built with ``Fn::Join`` from the pseudo parameters, as CDK writes one: the local backend's
partition, region and account resolve it; CDK's ``from_signing_profile_attributes`` form
(``ACCOUNT://signing-profiles/``) is no profile version ARN, so the registry, comparing
ARNs as Lambda does, rejects even the package that profile signed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.packaging.test_deploy_local import GOODBYE, HELLO, SIGN_ALL


def _joined(tail: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":signer:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                tail,
            ],
        ]
    }


def _with_publishers(tools: Any, app: Path, enforce: Any, warn: Any) -> str:
    """The packaged example app with its two configs listing ``enforce`` and ``warn``."""
    template = tools.load(app / "packaged.yaml")
    for logical_id, publisher in (("EnforceConfig", enforce), ("WarnConfig", warn)):
        properties = template["Resources"][logical_id]["Properties"]
        properties["AllowedPublishers"]["SigningProfileVersionArns"] = [publisher]
    (app / "joined.json").write_text(json.dumps(template))
    return "joined.json"


def test_a_joined_publisher_deploys_and_cdks_double_slash_is_rejected(
    sam_ext: Any, app: Path, publisher: Any, backend: Any, tools: Any
) -> None:
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "packaged.yaml")
    name, version = publisher.version_arn.split("/")[-2:]
    good = _joined(f":/signing-profiles/{name}/{version}")
    bad = _joined(f"://signing-profiles/{name}/{version}")

    # CDK's double slash under Enforce: HelloFunction, signed by that very profile, is
    # rejected (mismatch), and nothing changes.
    template = _with_publishers(tools, app, bad, good)
    result = sam_ext("deploy", "-t", template, *publisher.overrides, status=1)
    assert "nothing was changed" in result.err
    assert "HelloFunction" in result.err and "mismatch" in result.err
    assert "CodeVerificationFailedException" in result.err
    assert sam_ext.deployments() == 0

    # The right ARN, joined from the pseudo parameters: the config the registry stores
    # lists the resolved ARN, and the signed code deploys.
    template = _with_publishers(tools, app, good, good)
    result = sam_ext("deploy", "-t", template, *publisher.overrides)
    assert f"created {HELLO} (HelloFunction): ALLOW" in result.err
    assert f"created {GOODBYE} (GoodbyeFunction): WARN" in result.err
    config = backend.get_code_signing_config(backend.get_function(HELLO)["CodeSigningConfigArn"])
    assert config["CodeSigningConfig"]["AllowedPublishers"] == {
        "SigningProfileVersionArns": [publisher.version_arn]
    }
