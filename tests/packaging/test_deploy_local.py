"""``sam-ext deploy`` on the local backend: the packaged example app in the local function
registry, verified as Lambda verifies it; a tampered package changes nothing."""

from __future__ import annotations

from pathlib import Path

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")
HELLO, GOODBYE = "app-HelloFunction", "app-GoodbyeFunction"
METRIC = "SignatureValidationErrors"


def _package(sam_ext, publisher, output: str = "packaged.yaml"):
    return sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", output)


def _deploy(sam_ext, publisher, template: str = "packaged.yaml", status: int = 0):
    return sam_ext("deploy", "-t", template, *publisher.overrides, status=status)


def _code(tools, app: Path, logical_id: str, template: str = "packaged.yaml") -> Path:
    properties = tools.load(app / template)["Resources"][logical_id]["Properties"]
    return Path(properties.get("CodeUri") or properties["ContentUri"])


def test_the_packaged_app_is_deployed_with_its_configs_and_verdicts(
    sam_ext, app, publisher, backend, tools
) -> None:
    _package(sam_ext, publisher)
    result = _deploy(sam_ext, publisher)
    assert f"created {HELLO} (HelloFunction): ALLOW" in result.err
    assert f"created {GOODBYE} (GoodbyeFunction): WARN" in result.err

    hello = backend.get_function(HELLO)
    assert hello["CodeSha384"] == tools.sha384(_code(tools, app, "HelloFunction"))
    assert hello["LastVerdict"]["decision"] == "ALLOW"
    assert [layer["CodeSha384"] for layer in hello["Layers"]] == [
        tools.sha384(_code(tools, app, "SharedLayer"))
    ]
    config = backend.get_code_signing_config(hello["CodeSigningConfigArn"])["CodeSigningConfig"]
    assert config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert config["AllowedPublishers"]["SigningProfileVersionArns"] == [publisher.version_arn]

    goodbye = backend.get_function(GOODBYE)
    assert goodbye["LastVerdict"]["decision"] == "WARN"
    warn_config = backend.get_code_signing_config(goodbye["CodeSigningConfigArn"])
    assert warn_config["CodeSigningConfig"]["CodeSigningPolicies"] == {
        "UntrustedArtifactOnDeployment": "Warn"
    }
    assert goodbye["CodeSha384"] == tools.sha384(_code(tools, app, "GoodbyeFunction"))


def test_a_warn_deployment_prints_a_warning_and_counts_the_metric(
    sam_ext, app, publisher, backend
) -> None:
    _package(sam_ext, publisher)
    result = _deploy(sam_ext, publisher)
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert any(GOODBYE in line and "Warn" in line for line in warnings), result.err
    assert not any(HELLO in line for line in warnings)
    assert backend.metric_count(METRIC, GOODBYE) == 1
    assert backend.metric_count(METRIC, HELLO) == 0
    _deploy(sam_ext, publisher)
    assert backend.metric_count(METRIC, GOODBYE) == 2


def test_redeploy_updates_the_functions(sam_ext, app, publisher, backend, tools) -> None:
    _package(sam_ext, publisher)
    _deploy(sam_ext, publisher)
    before = backend.get_function(HELLO)["CodeSha384"]
    with (app / "src/hello/app.py").open("a") as handle:
        handle.write("\n# second release\n")
    _package(sam_ext, publisher)
    result = _deploy(sam_ext, publisher)
    assert f"updated {HELLO} (HelloFunction): ALLOW" in result.err
    assert f"updated {GOODBYE} (GoodbyeFunction): WARN" in result.err
    after = backend.get_function(HELLO)
    assert after["CodeSha384"] != before
    assert after["CodeSha384"] == tools.sha384(_code(tools, app, "HelloFunction"))
    assert after["LastVerdict"]["decision"] == "ALLOW"


def test_a_tampered_signed_package_is_rejected_and_changes_nothing(
    sam_ext, app, publisher, backend, tools
) -> None:
    _package(sam_ext, publisher)
    _deploy(sam_ext, publisher)
    hello, goodbye = backend.get_function(HELLO), backend.get_function(GOODBYE)
    deployments, warnings = sam_ext.deployments(), backend.metric_count(METRIC)

    tools.flip_code_byte(_code(tools, app, "HelloFunction"))
    result = _deploy(sam_ext, publisher, status=1)
    assert "HelloFunction" in result.err
    assert "integrity" in result.err
    assert "InvalidCodeSignatureException" in result.err
    assert "nothing was changed" in result.err

    assert backend.get_function(HELLO) == hello
    assert backend.get_function(GOODBYE) == goodbye
    assert sam_ext.deployments() == deployments
    assert backend.metric_count(METRIC) == warnings


def test_a_tampered_layer_is_rejected_under_enforce(sam_ext, app, publisher, backend, tools):
    _package(sam_ext, publisher)
    _deploy(sam_ext, publisher)
    hello = backend.get_function(HELLO)
    tools.flip_code_byte(_code(tools, app, "SharedLayer"), member="python/shared.py")
    result = _deploy(sam_ext, publisher, status=1)
    assert "HelloFunction layer SharedLayer" in result.err
    assert "integrity" in result.err
    assert backend.get_function(HELLO) == hello


def test_deploy_with_signing_profiles_packages_first(sam_ext, app, publisher, backend, tools):
    """As ``sam deploy --signing-profiles``: the source template is packaged and signed,
    then deployed."""
    result = sam_ext("deploy", *SIGN_ALL, *publisher.overrides)
    assert "[3/3]" in result.err
    assert sam_ext.jobs() == 2
    hello = backend.get_function(HELLO)
    assert hello["LastVerdict"]["decision"] == "ALLOW"
    signed = sorted((app / ".sam-ext" / "artifacts").glob("signed_*.zip"))
    assert hello["CodeSha384"] in {tools.sha384(path) for path in signed}
    assert backend.get_function(GOODBYE)["LastVerdict"]["decision"] == "WARN"
    # The source template itself is left as it was.
    assert "src/hello/" in (app / "template.yaml").read_text()
