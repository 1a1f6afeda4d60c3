"""Nested applications on the local backend (examples/sam/nested: a parent, the Orders
application, and its Billing stack two levels down), end to end through the real
``sam-ext`` process: every level's functions and layers are signed, each child template is
rewritten into the artifact directory and its parent pointed at it, ``--signing-profiles``
takes ``ChildStack/FunctionId`` paths and stack-wide profiles, the summary shows the
paths, cfn-lint accepts every packaged template, and deploy verifies and registers the
nested functions (or changes nothing).

The same tree on the aws backend (moto S3) is tests/backends/aws/test_nested_aws.py.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from sam_ext.packaging.destination import LOCAL_BUCKET

#: Every signable artifact of the tree: path -> (template, property, source directory).
BILLING = "orders/billing"
ARTIFACTS = {
    "ApiFunction": ("template.yaml", "CodeUri", "src/api"),
    "Orders/OrdersFunction": ("orders/template.yaml", "CodeUri", "orders/src"),
    "Orders/OrdersLayer": ("orders/template.yaml", "ContentUri", "orders/layer"),
    "Orders/Billing/BillingFunction": (f"{BILLING}/template.yaml", "Code", f"{BILLING}/src"),
    "Orders/Billing/BillingLayer": (f"{BILLING}/template.yaml", "Content", f"{BILLING}/layer"),
}
SIGN_ALL = "ApiFunction=Publisher Orders=Publisher"


@pytest.fixture
def app(copy_example: Any) -> Path:
    """A copy of examples/sam/nested as the working directory."""
    return Path(copy_example("sam/nested"))


@pytest.fixture
def run(home: Path, app: Path, tools: Any):
    """``run(*args, status=0)``: the installed ``sam-ext`` console script in a subprocess
    (cwd the app, CODESIGN_HOME the test's keystore, the clock pinned)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_"))}
    env["CODESIGN_HOME"] = str(home)

    def invoke(*args: object, status: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(tools.bin / "sam-ext"), "--now", tools.now_text, *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=app,
            timeout=120,
        )
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr
        assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
        return done

    return invoke


def _overrides(publisher: Any) -> tuple[str, str]:
    return ("--parameter-overrides", f"TrustedProfileVersionArn={publisher.version_arn}")


def _row(err: str, path: str) -> list[str]:
    for line in err.splitlines():
        if line.split("  ", 1)[0] == path:
            return [cell.strip() for cell in line.split("  ") if cell.strip()]
    raise AssertionError(f"no summary row for {path} in:\n{err}")


def _templates(tools: Any, app: Path, packaged: str = "packaged.yaml") -> dict[str, Path]:
    """The packaged templates of the tree, by the original's path, following the
    rewritten Location and TemplateURL."""
    top = app / packaged
    child = Path(tools.load(top)["Resources"]["Orders"]["Properties"]["Location"])
    grandchild = Path(tools.load(child)["Resources"]["Billing"]["Properties"]["TemplateURL"])
    return {
        "template.yaml": top,
        "orders/template.yaml": child,
        "orders/billing/template.yaml": grandchild,
    }


def _code(tools: Any, templates: dict[str, Path], path: str) -> Path:
    template, prop, _ = ARTIFACTS[path]
    value = tools.load(templates[template])["Resources"][path.rsplit("/", 1)[-1]]["Properties"][
        prop
    ]
    if isinstance(value, dict):
        assert value["S3Bucket"] == LOCAL_BUCKET, value
        value = value["S3Key"]
    return Path(value)


def _package(run: Any, publisher: Any, profiles: str = SIGN_ALL, status: int = 0) -> Any:
    return run(
        "package",
        "--signing-profiles",
        profiles,
        *_overrides(publisher),
        "--output-template-file",
        "packaged.yaml",
        status=status,
    )


def test_every_level_is_signed_and_each_template_rewritten_into_the_artifacts(
    run, app, publisher, backend: LocalBackend, tools
) -> None:
    done = _package(run, publisher)
    artifacts = (app / ".sam-ext" / "artifacts").resolve()
    templates = _templates(tools, app)
    for original, packaged in templates.items():
        if original != "template.yaml":
            assert packaged.parent == artifacts and packaged.name.endswith(".template.yaml")
        # Only code and template locations changed, in the original key order.
        expected = copy.deepcopy(tools.load(app / original))
        found = tools.load(packaged)
        for logical_id, resource in found["Resources"].items():
            for prop in ("CodeUri", "ContentUri", "Code", "Content", "Location", "TemplateURL"):
                if prop in resource.get("Properties", {}):
                    expected["Resources"][logical_id]["Properties"][prop] = resource["Properties"][
                        prop
                    ]
        assert found == expected and list(found["Resources"]) == list(expected["Resources"])

    for path, (_, _, source) in ARTIFACTS.items():
        signed = _code(tools, templates, path)
        assert signed.parent == artifacts and signed.name.startswith("signed_"), (path, signed)
        assert tools.members(signed) == tools.tree(app / source), path
        verdict = tools.verdict(backend, signed, publisher.version_arn)
        assert verdict.decision is tools.allow, (path, verdict.message)
        job = backend.describe_signing_job(signed.stem.removeprefix("signed_"))
        assert job["profileName"] == "Publisher"

    # Progress and the summary name nested resources by their path; the nested
    # functions' verdicts come from the parent's Enforce config passed down to them.
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert sorted(line.split()[-1] for line in progress) == sorted(ARTIFACTS)
    assert all("/5] signed " in line for line in progress)
    for path in ARTIFACTS:
        row = _row(done.stderr, path)
        assert row[1] == "Publisher" and row[2].startswith("signed_")
        # a layer is judged under the config of the function of its stack that uses it
        user = path.removesuffix("Layer") + "Function"
        assert row[-1] == (f"ALLOW as a layer of {user}" if path.endswith("Layer") else "ALLOW")
    assert "warning:" not in done.stderr


def test_cfn_lint_accepts_every_packaged_template(run, app, publisher, tools) -> None:
    _package(run, publisher)
    templates = list(_templates(tools, app).values())
    # One cfn-lint process for the three (its findings name the file).
    lint = subprocess.run(
        [str(tools.bin / "cfn-lint"), *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_second_run_signs_nothing_and_writes_the_same_templates(
    run, app, publisher, sam_ext, tools
) -> None:
    _package(run, publisher)
    first = {name: path.read_text() for name, path in _templates(tools, app).items()}
    jobs = sam_ext.jobs()
    again = _package(run, publisher)
    assert {name: path.read_text() for name, path in _templates(tools, app).items()} == first
    assert sam_ext.jobs() == jobs
    assert _row(again.stderr, "Orders/Billing/BillingFunction")[2].endswith("(cached)")


def test_paths_name_nested_resources_and_the_longest_path_wins(
    sam_ext, app, publisher, backend: LocalBackend, tools
) -> None:
    backend.put_signing_profile("Second", now=tools.now)
    result = sam_ext(
        "package",
        "--signing-profiles",
        "ApiFunction=Publisher Orders=Second Orders/OrdersLayer=Publisher "
        "Orders/Billing/BillingFunction=Publisher",
        *_overrides(publisher),
        "--output-template-file",
        "packaged.yaml",
    )
    expected = {
        "ApiFunction": "Publisher",
        "Orders/OrdersFunction": "Second",  # the stack-wide profile
        "Orders/OrdersLayer": "Publisher",  # its own path
        "Orders/Billing/BillingFunction": "Publisher",
        "Orders/Billing/BillingLayer": "Second",  # Orders=Second reaches Billing too
    }
    templates = _templates(tools, app)
    for path, profile in expected.items():
        job_id = _code(tools, templates, path).stem.removeprefix("signed_")
        assert backend.describe_signing_job(job_id)["profileName"] == profile, path
        assert result.row(path)[1] == profile
    # Second is not in the Enforce config's publishers: Lambda would reject that code.
    assert result.row("Orders/OrdersFunction")[-1] == "REJECT (mismatch)"


def test_unsigned_nested_code_under_enforce_is_refused_by_path_before_any_work(
    sam_ext, app, publisher
) -> None:
    result = sam_ext(
        "package",
        "--signing-profiles",
        "ApiFunction=Publisher Orders/OrdersFunction=Publisher Orders/OrdersLayer=Publisher",
        *_overrides(publisher),
        status=2,
    )
    message = result.err.splitlines()[-1]
    assert "Orders/Billing/BillingFunction" in message and "must be signed" in message
    assert "'Orders/Billing/BillingFunction=PROFILE'" in message
    assert not (app / ".sam-ext").exists() and sam_ext.jobs() == 0


@pytest.mark.parametrize(
    ("profiles", "says"),
    [
        ("Orders/Nope=Publisher", "no resource named Orders/Nope (nested stack Orders"),
        ("Nope/ApiFunction=Publisher", "no resource named Nope/ApiFunction in the template"),
        ("EnforceConfig/X=Publisher", "EnforceConfig is a AWS::Lambda::CodeSigningConfig, not a"),
        ("Orders/=Publisher", "'Orders/' is not a resource path"),
        ("Orders/Billing/BillingRole=Publisher", "Orders/Billing/BillingRole is a AWS::IAM::Role"),
    ],
)
def test_a_path_that_names_nothing_signable_is_refused(
    sam_ext, app, publisher, profiles: str, says: str
) -> None:
    result = sam_ext("package", "--signing-profiles", profiles, *_overrides(publisher), status=2)
    assert says in result.err.splitlines()[-1]
    assert not (app / ".sam-ext").exists() and sam_ext.jobs() == 0


def test_deploy_verifies_and_registers_every_nested_function(
    run, app, publisher, backend: LocalBackend, tools
) -> None:
    done = run("deploy", "--signing-profiles", SIGN_ALL, *_overrides(publisher))
    for name, path in (
        ("nested-ApiFunction", "ApiFunction"),
        ("nested-Orders-OrdersFunction", "Orders/OrdersFunction"),
        ("nested-Orders-Billing-BillingFunction", "Orders/Billing/BillingFunction"),
    ):
        assert f"created {name} ({path}): ALLOW" in done.stderr
    api = backend.get_function("nested-ApiFunction")
    orders = backend.get_function("nested-Orders-OrdersFunction")
    billing = backend.get_function("nested-Orders-Billing-BillingFunction")
    # The parent's one Enforce config reached both levels, and the layers are attached.
    assert orders["CodeSigningConfigArn"] == billing["CodeSigningConfigArn"]
    assert orders["CodeSigningConfigArn"] == api["CodeSigningConfigArn"]
    config = backend.get_code_signing_config(api["CodeSigningConfigArn"])["CodeSigningConfig"]
    assert config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert len(orders["Layers"]) == len(billing["Layers"]) == 1
    assert billing["LastVerdict"]["decision"] == "ALLOW"


def test_a_tampered_nested_package_is_rejected_and_changes_nothing(
    run, app, publisher, sam_ext, tools
) -> None:
    _package(run, publisher)
    run("deploy", "-t", "packaged.yaml", *_overrides(publisher))
    deployments = sam_ext.deployments()
    billing = _code(tools, _templates(tools, app), "Orders/Billing/BillingFunction")
    tools.flip_code_byte(billing)
    done = run("deploy", "-t", "packaged.yaml", *_overrides(publisher), status=1)
    last = done.stderr.splitlines()[-1]
    assert "Orders/Billing/BillingFunction" in last and "nothing was changed" in last
    assert sam_ext.deployments() == deployments


def test_deploying_an_unpackaged_nested_template_asks_for_package(sam_ext, app, publisher):
    result = sam_ext("deploy", *_overrides(publisher), status=2)
    assert "ApiFunction" in result.err and "run sam-ext package" in result.err
    assert sam_ext.deployments() == 0


NESTS_ITSELF = """\
Resources:
  Again:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: loop.yaml
"""

UNDECLARED = """\
Resources:
  Orders:
    Type: AWS::Serverless::Application
    Properties:
      Location: orders/template.yaml
      Parameters:
        CodeSigningConfigArn: arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-1
        Colour: blue
"""

REMOTE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  FromRepository:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/thing
        SemanticVersion: 1.0.0
"""


def test_templates_that_nest_themselves_or_pass_undeclared_parameters_are_refused(
    sam_ext, app, publisher
) -> None:
    (app / "loop.yaml").write_text(NESTS_ITSELF)
    result = sam_ext("package", "-t", "loop.yaml", status=2)
    assert "Again: " in result.err and "nests itself" in result.err
    (app / "undeclared.yaml").write_text(UNDECLARED)
    result = sam_ext("package", "-t", "undeclared.yaml", status=2)
    assert "Orders: Parameters: the nested template declares no parameter Colour" in result.err
    assert not (app / ".sam-ext").exists()


def test_a_nested_application_from_the_repository_is_left_alone(
    sam_ext, app, publisher, tools
) -> None:
    (app / "remote.yaml").write_text(REMOTE)
    result = sam_ext("package", "-t", "remote.yaml", "--signing-profiles", "FromRepository=P")
    assert "FromRepository: its template is not a local file (Location)" in result.err
    assert tools.parse(result.out) == tools.parse(REMOTE)
