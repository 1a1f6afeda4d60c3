"""samconfig.toml, as SAM CLI reads it: ``[ENV.package.parameters]`` over
``[ENV.global.parameters]``; ``--config-env`` picks ENV; options on the command line win."""

from __future__ import annotations

from pathlib import Path


def _config(app: Path, publisher, body: str) -> None:
    (app / "samconfig.toml").write_text(
        body.replace("ARN", publisher.version_arn), encoding="utf-8"
    )


def test_signing_profiles_string_is_honoured(sam_ext, app, publisher) -> None:
    _config(
        app,
        publisher,
        """version = 0.1
[default.global.parameters]
parameter_overrides = "TrustedProfileVersionArn=ARN"
[default.package.parameters]
signing_profiles = "HelloFunction=Publisher SharedLayer=Publisher"
""",
    )
    result = sam_ext("package")
    assert result.row("HelloFunction")[1] == "Publisher"
    assert result.row("HelloFunction")[-1] == "ALLOW"
    assert result.row("SharedLayer")[1] == "Publisher"
    assert sam_ext.jobs() == 2


def test_signing_profiles_list_is_honoured(sam_ext, app, publisher) -> None:
    _config(
        app,
        publisher,
        """version = 0.1
[default.package.parameters]
signing_profiles = ["HelloFunction=Publisher", "SharedLayer=Publisher:000000000000"]
parameter_overrides = ["TrustedProfileVersionArn=ARN"]
output_template_file = "from-config.yaml"
""",
    )
    result = sam_ext("package")
    assert result.out == ""
    assert (app / "from-config.yaml").is_file()
    assert result.row("HelloFunction")[1] == "Publisher"
    assert result.row("SharedLayer")[1] == "Publisher:000000000000"
    assert sam_ext.jobs() == 2


TWO_ENVS = """version = 0.1
[default.global.parameters]
parameter_overrides = "TrustedProfileVersionArn=ARN"
[default.package.parameters]
signing_profiles = "SharedLayer=Publisher"
[prod.global.parameters]
parameter_overrides = "TrustedProfileVersionArn=ARN"
[prod.package.parameters]
signing_profiles = "HelloFunction=Publisher SharedLayer=Publisher"
[prod.deploy.parameters]
signing_profiles = "NotForPackage=Publisher"
"""


def test_config_env_selects_another_environment(sam_ext, app, publisher) -> None:
    _config(app, publisher, TWO_ENVS)
    # The default environment leaves HelloFunction (Enforce) unsigned: refused.
    refused = sam_ext("package", status=2)
    assert "HelloFunction" in refused.err
    assert sam_ext.jobs() == 0
    # prod signs both; its deploy section does not leak into package.
    result = sam_ext("package", "--config-env", "prod")
    assert result.row("HelloFunction")[1] == "Publisher"
    assert result.row("SharedLayer")[1] == "Publisher"
    assert sam_ext.jobs() == 2


def test_command_line_options_override_samconfig(sam_ext, app, publisher, tools) -> None:
    other = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/Other/AAAAAAAAAA"
    _config(
        app,
        publisher,
        """version = 0.1
[default.package.parameters]
signing_profiles = "NoSuchFunction=Publisher"
parameter_overrides = "TrustedProfileVersionArn=OTHER"
output_template_file = "from-config.yaml"
""".replace("OTHER", other),
    )
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        *publisher.overrides,
        "--output-template-file",
        "from-cli.yaml",
    )
    assert not (app / "from-config.yaml").exists()
    assert (app / "from-cli.yaml").is_file()
    # The CLI's parameter value decided the verdict: Publisher is the trusted publisher.
    assert result.row("HelloFunction")[-1] == "ALLOW"
    assert result.row("GoodbyeFunction")[-1] == "WARN (mismatch)"
    assert sam_ext.jobs() == 2


def test_an_explicit_config_file_must_exist(sam_ext, app, publisher) -> None:
    result = sam_ext("package", "--config-file", "nope.toml", status=2)
    assert "nope.toml" in result.err
    assert sam_ext.jobs() == 0


def test_deploy_reads_its_own_section(sam_ext, app, publisher, backend) -> None:
    _config(
        app,
        publisher,
        """version = 0.1
[default.global.parameters]
parameter_overrides = "TrustedProfileVersionArn=ARN"
[default.package.parameters]
signing_profiles = "NotForDeploy=Publisher"
[default.deploy.parameters]
signing_profiles = "HelloFunction=Publisher SharedLayer=Publisher"
stack_name = "configured"
""",
    )
    sam_ext("deploy")
    function = backend.get_function("configured-HelloFunction")
    assert function["LastVerdict"]["decision"] == "ALLOW"
    assert sam_ext.jobs() == 2
