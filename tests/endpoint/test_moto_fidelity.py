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
#: moto tests that pass against moto_server and, on purpose, not against sam-ext serve:
#: ``file::test`` (every parametrisation of the test) -> why.
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
