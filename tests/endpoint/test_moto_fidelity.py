"""``sam-ext serve`` against moto's own tests: moto's Signer and Lambda test suites (of the
moto version the endpoint pins, fetched by ``scripts/fetch-moto-tests.sh``), run in moto's
server mode once against ``moto_server`` and once against ``sam-ext serve``. Every test
that passes against moto_server passes against sam-ext serve, except the deliberate
differences below, each with its reason (README's "Try it without an AWS account" names
them too). Tests that need docker (invoking functions) are skipped in both runs
(``TESTS_SKIP_REQUIRES_DOCKER``); the few that need it unmarked fail in both, which is no
difference.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, Server, start_server

#: moto's suites run (relative to the fetched tree).
SUITES = ("tests/test_signer", "tests/test_awslambda")
_CODE_LOCATION = (
    "GetFunction's Code.Location is a URL on this server that downloads the zip (as "
    "Lambda's presigned URL does); moto's test expects moto's unreachable amazonaws.com URL"
)
_SOURCE_ARN = (
    "AddPermission's SourceArn 'arn:aws:lambda:us-west-2:account-id:function:helloworld' is "
    "refused, as Lambda's model refuses it (its ARN pattern takes 12 digits for the account)"
)
_ESM_VALUES = (
    "{operation} is refused, as Lambda's model refuses its values: KMSKeyArn 'arn:kms:key' "
    "(pattern (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()), destinations 's3' and 's4' (not "
    "ARNs){more}"
)
_PATTERN_QUOTED = (
    "the refusal quotes the pattern of Lambda's model today, as Lambda's answers do (its "
    "answers quote its model's pattern of the day: 'role' in aarondfrancis/sidecar#147, "
    "'layers' in appleboy/lambda-action#83); moto's test expects {expected}"
)
#: moto tests that pass against moto_server and, on purpose, not against sam-ext serve:
#: ``file::test`` (every parametrisation of the test) -> why. Most are requests moto
#: stores and AWS refuses (sam-ext serve validates every member against Lambda's model
#: first, issue 19); the rest are answers where AWS's words are not moto's.
DELIBERATE_DIFFERENCES: dict[str, str] = {
    "test_signer/test_signing_platforms.py::test_list_signing_platforms": (
        "ListSigningPlatforms lists AWS's five platforms (Notation-OCI-SHA384-ECDSA too); "
        "moto's list, and its test, have four"
    ),
    "test_signer/test_signing_profiles.py::test_put_signing_profile": (
        "PutSigningProfile refuses platformId 'pid', no Signer platform: profiles here are "
        "for AWSLambda-SHA384-ECDSA"
    ),
    "test_awslambda/test_lambda.py::test_get_function_code_signing_config": (
        "CreateFunction refuses the malformed CodeSigningConfigArn 'csc:arn' (Lambda's model "
        "requires a code signing config ARN)"
    ),
    "test_awslambda/test_lambda.py::test_list_create_list_get_delete_list": _CODE_LOCATION,
    "test_awslambda/test_lambda.py::test_get_function_created_with_zipfile": _CODE_LOCATION,
    "test_awslambda/test_lambda.py::test_update_function_zip": _CODE_LOCATION,
    "test_awslambda/test_lambda.py::test_update_function_s3": _CODE_LOCATION,
    "test_awslambda/test_awslambda_cloudformation.py::test_lambda_can_be_updated_by_cloudformation": (  # noqa: E501
        _CODE_LOCATION
    ),
    # Requests AWS refuses and moto stores.
    "test_awslambda/test_lambda.py::test_create_function_from_aws_bucket": (
        "CreateFunction refuses PackageType 'ZIP': Lambda's model's enum is exactly Zip or Image"
    ),
    "test_awslambda/test_lambda_policy.py::test_add_function_permission": _SOURCE_ARN,
    "test_awslambda/test_lambda_policy.py::test_add_permission_with_principalorgid": _SOURCE_ARN,
    "test_awslambda/test_lambda_policy.py::test_remove_function_permission": _SOURCE_ARN,
    "test_awslambda/test_lambda_policy.py::test_remove_function_permission__with_qualifier": (
        _SOURCE_ARN
    ),
    "test_awslambda/test_lambda_layers.py::test_add_layer_version_permission": (
        "AddLayerVersionPermission refuses OrganizationId 'o-123456', as Lambda's model does "
        "(pattern o-[a-z0-9]{10,32})"
    ),
    "test_awslambda/test_lambda_eventsourcemapping.py::test_create_event_source_mapping": (
        _ESM_VALUES.format(
            operation="CreateEventSourceMapping",
            more=", two Topics and two Queues (at most one each), a SelfManagedEventSource "
            "endpoint named 'key' (only KAFKA_BOOTSTRAP_SERVERS)",
        )
    ),
    "test_awslambda/test_lambda_eventsourcemapping.py::test_update_event_source_mapping": (
        _ESM_VALUES.format(operation="UpdateEventSourceMapping", more="")
    ),
    "test_awslambda/test_lambda_eventsourcemapping.py::test_list_event_source_mappings": (
        "ListEventSourceMappings refuses EventSourceArn '123', as Lambda's model does (an ARN "
        "pattern)"
    ),
    "test_awslambda/test_lambda.py::test_update_function_ecr": (
        "CreateFunction with Code.ImageUri and no PackageType 'Image' is a .zip function "
        "without Runtime and Handler, which Lambda refuses ('Runtime and Handler are "
        "mandatory parameters for functions created with deployment packages.', "
        "aws/boto3#2705); moto makes it an image function"
    ),
    "test_awslambda/test_lambda_eventsourcemapping.py::test_event_source_mapping_tagging_lifecycle": (  # noqa: E501
        "CreateFunction refuses Code.ZipFile b'any zip file', not a .zip, in Lambda's words "
        "('Could not unzip uploaded file. Please check your file, then try to upload again.')"
    ),
    # AWS's words where moto's test expects moto's own.
    "test_awslambda/test_lambda.py::test_create_function_with_invalid_arn": (
        _PATTERN_QUOTED.format(expected=r"moto's own arn:(aws[a-zA-Z-]*)?:iam::(\d{12}):role...")
    ),
    "test_awslambda/test_lambda.py::test_put_event_invoke_config_errors_1": (
        _PATTERN_QUOTED.format(
            expected="the DestinationArn pattern of an older API reference (before kafka:// "
            "destinations and the eusc and iso regions)"
        )
    ),
    "test_awslambda/test_lambda.py::test_put_event_invoke_config_errors_2": (
        _PATTERN_QUOTED.format(
            expected="the DestinationArn pattern of an older API reference (before kafka:// "
            "destinations and the eusc and iso regions)"
        )
    ),
    "test_awslambda/test_lambda.py::test_create_function_error_bad_architecture": (
        "Architectures ['foo'] is refused with Value '[null]': Lambda says an architecture "
        "outside its enum as null (aws-cloudformation/cfn-lint#4428 quotes its answer); "
        "moto's test expects Python's rendering '['foo']'"
    ),
}
#: Seconds for one suite run (it takes well under a minute on a quiet machine).
SUITE_TIMEOUT = 600
_RUNNING_ON = re.compile(r"Running on (http://\S+)")


@pytest.fixture(scope="module")
def moto_tests() -> Path:
    """The fetched tree (the script is idempotent: instant once cached)."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "fetch-moto-tests.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"fetching moto's tests failed: {done.stderr}"
    tree = Path(done.stdout.strip())
    import moto

    from provider.endpoint.moto_hook import PINNED_MOTO

    # moto's tests, moto_server and the endpoint's hook: one moto release
    assert tree.name == moto.__version__ == PINNED_MOTO
    return tree


@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto's own server (the pinned moto) on a free loopback port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = _RUNNING_ON.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(60) and found, "moto_server did not start"
        yield found[0]
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "serve-home")
    yield running
    running.stop()


def _run_suites(tree: Path, endpoint: str, junit: Path) -> subprocess.Popen[bytes]:
    """moto's suites in server mode against ``endpoint`` (a process; results in ``junit``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "MOTO_", "TEST_SERVER_MODE", "PYTEST_")) and k != "PYTHONPATH"
    }
    env.update(
        TEST_SERVER_MODE="true",
        TEST_SERVER_MODE_ENDPOINT=endpoint,
        TESTS_SKIP_REQUIRES_DOCKER="true",
        MOTO_TEST_ALLOW_AWS_REQUEST="false",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return subprocess.Popen(
        [
            sys.executable, "-m", "pytest", *SUITES,
            "-c", "pytest.ini", "--rootdir", str(tree), "-o", "addopts=",
            "-p", "no:cacheprovider", "-q", "--timeout", "120", "--junitxml", str(junit),
        ],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def outcomes(junit: Path) -> dict[str, str]:
    """``{file::test: "passed" | first line of what went wrong}`` of a junit report
    (parametrisations folded into their test: passed only if all passed)."""
    result: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").removeprefix("tests.").replace(".", "/") + ".py"
        test = f"{module}::{case.get('name', '').split('[', 1)[0]}"
        problem = next(
            (child for child in case if child.tag in ("failure", "error", "skipped")), None
        )
        if problem is None:
            result.setdefault(test, "passed")
        else:
            text = problem.get("message") or problem.tag
            result[test] = f"{problem.tag}: {text.splitlines()[0] if text else ''}"
    return result


def test_moto_tests_passing_on_moto_server_pass_on_serve(
    moto_tests: Path, moto_server: str, serve: Server, tmp_path: Path
) -> None:
    runs = {
        name: (_run_suites(moto_tests, url, tmp_path / f"{name}.xml"), tmp_path / f"{name}.xml")
        for name, url in (("moto_server", moto_server), ("serve", serve.url))
    }
    for name, (process, _) in runs.items():
        process.wait(timeout=SUITE_TIMEOUT)
        assert process.returncode in (0, 1), f"moto's suites did not run against {name}"
    on_moto = outcomes(runs["moto_server"][1])
    on_serve = outcomes(runs["serve"][1])
    passed_on_moto = {t for t, outcome in on_moto.items() if outcome == "passed"}
    # moto 5.2.5's two suites: 136 tests pass against moto_server without docker; far
    # fewer means the harness broke (an import error, a server that did not answer).
    assert len(passed_on_moto) >= 100, on_moto
    differing = {t for t in passed_on_moto if on_serve.get(t) != "passed"}
    unexpected = {t: on_serve.get(t, "not run") for t in differing - DELIBERATE_DIFFERENCES.keys()}
    assert not unexpected, f"pass on moto_server, not on sam-ext serve: {unexpected}"
    # The list stays exact: a difference that went away is taken off it.
    assert differing == DELIBERATE_DIFFERENCES.keys(), (
        "listed as deliberate differences but passing on both (or no longer passing on "
        f"moto_server): {sorted(DELIBERATE_DIFFERENCES.keys() - differing)}"
    )


def test_readme_names_each_deliberate_difference() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [t for t in DELIBERATE_DIFFERENCES if t.split("::")[1] not in readme]
    assert not missing, f"README's serve section does not name: {missing}"
