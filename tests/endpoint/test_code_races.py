"""The bytes judged are the bytes deployed, whatever another client does meanwhile.

Each test runs a real ``sam-ext serve`` and one client overwriting an S3 key in a loop
(the signed package, then an unsigned one whose handler returns ``'EVIL'``) while another
deploys from that key under an ``Enforce`` code signing config: CreateFunction,
UpdateFunctionCode (with and without Publish), layers attached with
UpdateFunctionConfiguration, and CloudFormation's create and update of a function. Some
deployments are refused (the check read the unsigned package) and some accepted; none
accepted may run the unsigned package. Loops are bounded (iterations and seconds).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import (
    Server,
    clients_for,
    package_bytes,
    sign,
    unique,
    upload,
    versioned_bucket,
)

PLATFORM = "AWSLambda-SHA384-ECDSA"
#: Deployments per test, and the seconds they may take (whichever ends first).
ITERATIONS = 120
SECONDS = 15.0
#: Lambda's code signing refusals: what a deployment that read the unsigned package gets.
REFUSED = {"CodeVerificationFailedException", "InvalidCodeSignatureException"}
EVIL = package_bytes({"app.py": b"def handler(e, c):\n    return 'EVIL'\n"})


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


class Race:
    """A profile, an Enforce config trusting it, its signed package, and a key that one
    thread keeps overwriting with that package and with :data:`EVIL`."""

    def __init__(self, server: Server, role: str) -> None:
        self.url = server.url
        self.aws = clients_for(server.url)
        self.role = role
        self.s3, self.lambda_ = self.aws("s3"), self.aws("lambda")
        profile = unique("race_")
        arn = self.aws("signer").put_signing_profile(profileName=profile, platformId=PLATFORM)[
            "profileVersionArn"
        ]
        self.bucket = versioned_bucket(self.s3)
        job = sign(self.aws, profile, self.bucket, "source.zip")
        signed_key = job["signedObject"]["s3"]["key"]
        self.signed = self.s3.get_object(Bucket=self.bucket, Key=signed_key)["Body"].read()
        self.key = unique("racing/") + ".zip"
        self.signed_version = upload(self.s3, self.bucket, self.key, self.signed)
        self.evil_version = upload(self.s3, self.bucket, self.key, EVIL)
        upload(self.s3, self.bucket, self.key, self.signed)
        self.csc = self.lambda_.create_code_signing_config(
            AllowedPublishers={"SigningProfileVersionArns": [arn]},
            CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
        )["CodeSigningConfig"]["CodeSigningConfigArn"]
        self.writes = 0

    @property
    def code(self) -> dict[str, str]:
        return {"S3Bucket": self.bucket, "S3Key": self.key}

    @contextmanager
    def overwriting(self) -> Iterator[None]:
        """A thread with its own client writing the key, signed then unsigned, until the
        block ends."""
        stop = threading.Event()
        failures: list[BaseException] = []

        def run() -> None:
            s3 = clients_for(self.url)("s3")
            try:
                while not stop.is_set() and self.writes < 20 * ITERATIONS:
                    for body in (self.signed, EVIL):
                        s3.put_object(Bucket=self.bucket, Key=self.key, Body=body)
                        self.writes += 1
            except BaseException as exc:  # reported by the test
                failures.append(exc)

        writer = threading.Thread(target=run, daemon=True)
        writer.start()
        try:
            yield
        finally:
            stop.set()
            writer.join(30)
        assert not failures, failures
        assert self.writes > 10, "the key was hardly overwritten: no race happened"

    def deploy_loop(self, deploy: Callable[[int], bool]) -> int:
        """Run ``deploy(i)`` (True: accepted, False or a refusal raised: refused) while
        the key is overwritten; returns how many were accepted."""
        accepted = refused = 0
        deadline = time.monotonic() + SECONDS
        with self.overwriting():
            for i in range(ITERATIONS):
                if time.monotonic() > deadline:
                    break
                try:
                    taken = deploy(i)
                except ClientError as error:
                    assert error.response["Error"]["Code"] in REFUSED, error.response
                    taken = False
                accepted += taken
                refused += not taken
        # Both outcomes, or the loop did not race: the check saw both packages.
        assert accepted and refused, (accepted, refused)
        return accepted

    def function_code(self, name: str, qualifier: str | None = None) -> tuple[str, bytes]:
        """A function's CodeSha256 and the zip its Code.Location downloads."""
        extra = {"Qualifier": qualifier} if qualifier else {}
        answer = self.lambda_.get_function(FunctionName=name, **extra)
        return answer["Configuration"]["CodeSha256"], download(answer["Code"]["Location"])

    def assert_signed(self, deployed: list[tuple[str, bytes]], what: str) -> None:
        unsigned = [sha for sha, data in deployed if sha != code_sha256(self.signed)]
        wrong_bytes = [sha for sha, data in deployed if data != self.signed]
        assert not unsigned and not wrong_bytes, (
            f"{len(unsigned)} of {len(deployed)} accepted {what} deployed other code than "
            f"the signed package ({sum(1 for s, _ in deployed if s == code_sha256(EVIL))} "
            "the unsigned one)"
        )


@pytest.fixture
def race(server: Server, role: str) -> Race:
    return Race(server, role)


def test_create_function_from_an_overwritten_key_deploys_what_it_judged(race: Race) -> None:
    names: list[str] = []

    def create(i: int) -> bool:
        name = unique(f"create-{i}-")
        race.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=race.role,
            Handler="app.handler",
            Code=race.code,
            CodeSigningConfigArn=race.csc,
            Publish=i % 2 == 1,
        )
        names.append(name)
        return True

    race.deploy_loop(create)
    deployed = [race.function_code(name) for name in names]
    versions = [
        race.function_code(name, version["Version"])
        for name in names
        for version in race.lambda_.list_versions_by_function(FunctionName=name)["Versions"]
        if version["Version"] != "$LATEST"
    ]
    assert versions, "no creation published a version"
    race.assert_signed(deployed + versions, "CreateFunction")


def _enforced_function(race: Race, prefix: str) -> str:
    name = unique(prefix)
    race.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=race.role,
        Handler="app.handler",
        Code={"ZipFile": race.signed},
        CodeSigningConfigArn=race.csc,
    )
    return name


def test_update_function_code_from_an_overwritten_key_deploys_what_it_judged(
    race: Race,
) -> None:
    name = _enforced_function(race, "update-")
    deployed: list[tuple[str, bytes]] = []

    def update(i: int) -> bool:
        answer = race.lambda_.update_function_code(
            FunctionName=name, Publish=i % 2 == 1, **race.code
        )
        # Read back before the next update replaces it.
        deployed.append(race.function_code(name))
        assert answer["CodeSha256"] == deployed[-1][0]
        if answer["Version"] != "$LATEST":
            deployed.append(race.function_code(name, answer["Version"]))
        return True

    race.deploy_loop(update)
    race.assert_signed(deployed, "UpdateFunctionCode")


def test_a_layer_published_from_an_overwritten_key_is_judged_as_published(race: Race) -> None:
    """A layer is judged on the function that adds it: what it was published with (one
    read of the key, or of the version named) is what the check reads and what the
    function gets."""
    name = _enforced_function(race, "host-")
    layer = unique("racing-layer-")
    attached: list[str] = []

    def publish_and_attach(i: int) -> bool:
        content = dict(race.code)
        if i % 3 == 2:  # the unsigned version, named while the key's latest flips
            content["S3ObjectVersion"] = race.evil_version
        arn = race.lambda_.publish_layer_version(LayerName=layer, Content=content)[
            "LayerVersionArn"
        ]
        race.lambda_.update_function_configuration(FunctionName=name, Layers=[arn])
        attached.append(arn)
        return True

    race.deploy_loop(publish_and_attach)
    for arn in attached:
        content = race.lambda_.get_layer_version_by_arn(Arn=arn)["Content"]
        assert content["CodeSha256"] == code_sha256(race.signed), arn
        assert download(content["Location"]) == race.signed, arn


def _function_template(race: Race, code: dict[str, Any], description: str = "") -> str:
    return json.dumps(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.12",
                        "Handler": "app.handler",
                        "Role": race.role,
                        "Code": code,
                        "CodeSigningConfigArn": race.csc,
                        "Description": description,
                    },
                }
            }
        }
    )


def _stack_function(race: Race, stack: str) -> str:
    resources = race.aws("cloudformation").describe_stack_resources(StackName=stack)
    return next(
        r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["LogicalResourceId"] == "Fn"
    )


def _refused_by_lambda(race: Race, stack: str, status: str) -> bool:
    """False when the stack failed on its function with Lambda's code signing refusal."""
    assert status in ("ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"), status
    events = race.aws("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    reason = next(e for e in events if e["ResourceStatus"].endswith("_FAILED"))[
        "ResourceStatusReason"
    ]
    assert reason.split(":", 1)[0] in REFUSED, reason
    return False


def test_a_stacks_function_from_an_overwritten_key_deploys_what_it_judged(race: Race) -> None:
    cloudformation = race.aws("cloudformation")
    created: list[str] = []

    def create_stack(i: int) -> bool:
        stack = unique(f"race-{i}-")
        cloudformation.create_stack(
            StackName=stack, TemplateBody=_function_template(race, race.code)
        )
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status != "CREATE_COMPLETE":
            return _refused_by_lambda(race, stack, status)
        created.append(stack)
        return True

    race.deploy_loop(create_stack)
    race.assert_signed(
        [race.function_code(_stack_function(race, s)) for s in created], "stack creations"
    )


def test_a_stack_update_from_an_overwritten_key_deploys_what_it_judged(race: Race) -> None:
    cloudformation = race.aws("cloudformation")
    stack = unique("race-update-")
    pinned = {**race.code, "S3ObjectVersion": race.signed_version}
    cloudformation.create_stack(StackName=stack, TemplateBody=_function_template(race, pinned))
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    function = _stack_function(race, stack)
    deployed: list[tuple[str, bytes]] = []

    def update(i: int) -> bool:
        change_set = unique("change-")
        cloudformation.create_change_set(
            StackName=stack,
            ChangeSetName=change_set,
            ChangeSetType="UPDATE",
            TemplateBody=_function_template(race, race.code, description=f"update {i}"),
        )
        cloudformation.execute_change_set(StackName=stack, ChangeSetName=change_set)
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        # Accepted or refused, the function runs signed code.
        deployed.append(race.function_code(function))
        if status != "UPDATE_COMPLETE":
            return _refused_by_lambda(race, stack, status)
        return True

    race.deploy_loop(update)
    race.assert_signed(deployed, "stack updates")
