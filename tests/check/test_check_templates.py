"""``sam-ext check`` on SAM and CloudFormation templates, on the local backend: what each
function and layer would meet at its next deploy, the exit status, and the JSON document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.errors import ValidationError
from tests.check.conftest import WriteTemplate
from tests.sam_ext.conftest import Cli, Result

LATER = ("--now", "2026-03-01T12:00:00Z")


def check(
    cli: Cli, path: Path, *args: object, status: int = 0, now: tuple[str, str] | None = None
) -> Result:
    return cli(*(now or cli.now), "check", path, *args, status=status)


def findings(cli: Cli, path: Path, *args: object, status: int = 0) -> dict[str, dict[str, Any]]:
    """The JSON document's findings by resource path, the document checked by its schema."""
    result = cli(
        *cli.now, "check", path, "--output", "json", *args, status=status, schema="check-report"
    )
    return {"/".join([*f["nested_in"], f["logical_id"]]): f for f in result.json["findings"]}


def function(code: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": code,
            "Handler": "app.handler",
            "Runtime": "python3.12",
            **properties,
        },
    }


def config(*publishers: Any, policy: Any = "Enforce") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::CodeSigningConfig",
        "Properties": {
            "AllowedPublishers": {"SigningProfileVersionArns": list(publishers)},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
        },
    }


SAM = "AWS::Serverless-2016-10-31"


def test_plain_cloudformation_json_with_a_literal_config_rejects_unsigned_local_code(
    cli: Cli, write_template: WriteTemplate
) -> None:
    arn = cli.profile("publisher")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Resources": {
                "Checkout": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Code": "src/",
                        "Handler": "app.handler",
                        "Role": "r",
                        "Runtime": "python3.12",
                        "CodeSigningConfigArn": csc,
                    },
                },
            },
        },
        "template.json",
    )
    found = findings(cli, path, status=1)["Checkout"]
    assert found["standing"] == "REJECT"
    assert found["policy"] == "Enforce"
    assert found["check"] == "mismatch"
    assert found["exception"] == "CodeVerificationFailedException"
    assert found["resource_type"] == "AWS::Lambda::Function"
    assert "the package is not signed" in found["message"]
    assert found["message"].startswith("Checkout: the deploy would be rejected")
    # The remedy is the command that signs it, with a profile the config lists.
    assert found["remedy"] == (
        f"sam-ext package --template-file {path} --signing-profiles Checkout=publisher"
    )
    table = check(cli, path, status=1).out
    assert "REJECT" in table and "Checkout" in table and "Checkout=publisher" in table


def test_sam_yaml_globals_and_a_ref_config_warn_and_fail_on(
    cli: Cli, write_template: WriteTemplate
) -> None:
    arn = cli.profile("publisher")
    path = write_template(
        {
            "Transform": SAM,
            "Parameters": {"Policy": {"Type": "String", "Default": "Enforce"}},
            "Globals": {"Function": {"CodeUri": "src/", "CodeSigningConfigArn": {"Ref": "Csc"}}},
            "Resources": {
                "Csc": config(arn, policy={"Ref": "Policy"}),
                "One": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"Handler": "app.handler"},
                },
                "Two": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"Handler": "app.handler"},
                },
            },
        }
    )
    by_id = findings(cli, path, status=1)
    assert {k: f["standing"] for k, f in by_id.items()} == {"One": "REJECT", "Two": "REJECT"}
    assert "code signing config Csc (Enforce)" in by_id["One"]["message"]
    # Warn through --parameter-overrides: deploys with a warning, said as such; exit 0
    # unless --fail-on warn.
    warned = findings(cli, path, "--parameter-overrides", "Policy=Warn")
    assert {f["standing"] for f in warned.values()} == {"WARN"}
    assert {f["policy"] for f in warned.values()} == {"Warn"}
    assert "with a warning under Warn" in warned["One"]["message"]
    check(cli, path, "--parameter-overrides", "Policy=Warn", "--fail-on", "warn", status=1)
    check(cli, path, "--parameter-overrides", "Policy=Warn", "--fail-on", "reject", status=0)


def test_signed_packages_are_judged_by_their_bytes_expiry_and_revocation(
    cli: Cli, write_template: WriteTemplate, app: Path
) -> None:
    arn = cli.profile("publisher", "--signature-validity-period", "value=30,type=DAYS")
    cli.profile("other")
    signed = cli.sign(app / "hello.zip", app / "signed")
    by_other = cli.sign(app / "hello.zip", app / "signed", name="other")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Transform": SAM,
            "Globals": {"Function": {"CodeSigningConfigArn": csc}},
            "Resources": {
                "Good": function(signed),
                "Foreign": function(by_other),
                "Unsigned": function("hello.zip"),
            },
        }
    )
    by_id = findings(cli, path, status=1)
    assert by_id["Good"]["standing"] == "ALLOW"
    assert by_id["Good"]["remedy"] is None
    assert by_id["Foreign"]["standing"] == "REJECT"
    assert "not among the code signing config's allowed publishers" in by_id["Foreign"]["message"]
    assert by_id["Unsigned"]["check"] == "mismatch"
    # 45 days later the 30-day signature has expired.
    later = cli(*LATER, "check", path, "--output", "json", status=1, schema="check-report").json
    good = next(f for f in later["findings"] if f["logical_id"] == "Good")
    assert (good["standing"], good["check"]) == ("REJECT", "expiry")
    # A revoked signature.
    job = Path(signed).stem
    cli(*cli.now, "signature", "revoke", "--job-id", job, "--reason", "leaked build")
    revoked = findings(cli, path, status=1)["Good"]
    assert (revoked["standing"], revoked["check"]) == ("REJECT", "revocation")
    assert "leaked build" in revoked["message"]


def test_signing_profiles_make_a_pending_signature_that_is_allowed(
    cli: Cli, write_template: WriteTemplate
) -> None:
    arn = cli.profile("publisher")
    cli.profile("other")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Transform": SAM,
            "Resources": {
                "Fn": function("src/", CodeSigningConfigArn=csc, Layers=[{"Ref": "Deps"}]),
                "Deps": {
                    "Type": "AWS::Serverless::LayerVersion",
                    "Properties": {"ContentUri": "src/"},
                },
            },
        }
    )
    by_id = findings(cli, path, "--signing-profiles", "Fn=publisher Deps=publisher")
    assert by_id["Fn"]["standing"] == "ALLOW"
    assert "a fresh signature made by this update's signing job" in by_id["Fn"]["message"]
    assert by_id["Deps"]["standing"] == "ALLOW"
    assert by_id["Deps"]["message"].startswith("Deps (a layer of Fn)")
    wrong = findings(cli, path, "--signing-profiles", "Fn=other", status=1)
    assert wrong["Fn"]["standing"] == "REJECT"
    assert wrong["Deps"]["standing"] == "REJECT"  # still unsigned
    cli.fails(
        *cli.now,
        "check",
        path,
        "--signing-profiles",
        "Nope=publisher",
        naming="--signing-profiles: no function or layer named Nope",
    )


def test_a_config_listing_only_a_profile_the_template_creates_cannot_be_satisfied(
    cli: Cli, write_template: WriteTemplate
) -> None:
    path = write_template(
        {
            "Transform": SAM,
            "Resources": {
                "Profile": {
                    "Type": "AWS::Signer::SigningProfile",
                    "Properties": {"PlatformId": "AWSLambda-SHA384-ECDSA"},
                },
                "Csc": config({"Fn::GetAtt": ["Profile", "ProfileVersionArn"]}),
                "Fn": function(
                    "src/", CodeSigningConfigArn={"Fn::GetAtt": ["Csc", "CodeSigningConfigArn"]}
                ),
            },
        }
    )
    found = findings(cli, path, status=1)["Fn"]
    assert found["standing"] == "REJECT"
    assert "lists only signing profiles this template creates (Profile)" in found["message"]
    assert "no package can be signed by a profile that does not exist yet" in found["message"]
    assert "sam-ext profile put" in found["remedy"]
    assert "signer.SigningProfile.from_signing_profile_attributes" in found["remedy"]
    assert "sam-ext package --template-file" in found["remedy"]


def test_no_config_container_image_inline_code_and_an_unused_layer(
    cli: Cli, write_template: WriteTemplate
) -> None:
    arn = cli.profile("publisher")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Resources": {
                "Bare": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Code": {"ZipFile": "x"}, "Role": "r", "Handler": "h"},
                },
                "Inline": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Code": {"ZipFile": "x"},
                        "Role": "r",
                        "Handler": "h",
                        "CodeSigningConfigArn": csc,
                    },
                },
                "Image": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "PackageType": "Image",
                        "Role": "r",
                        "Code": {"ImageUri": "1.dkr.ecr.us-east-1.amazonaws.com/x:1"},
                        "CodeSigningConfigArn": csc,
                    },
                },
                "Unused": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": "src/"}},
            }
        }
    )
    by_id = findings(cli, path, status=1)
    assert by_id["Bare"]["standing"] == "NO_CONFIG"
    assert "no code signing config" in by_id["Bare"]["message"]
    assert (by_id["Inline"]["standing"], by_id["Inline"]["check"]) == ("REJECT", "mismatch")
    assert by_id["Image"]["standing"] == "NOT_APPLICABLE"
    assert "code signing does not apply to container images" in by_id["Image"]["message"]
    assert by_id["Unused"]["standing"] == "NO_CONFIG"


def test_no_config_fails_only_with_fail_on_warn(cli: Cli, write_template: WriteTemplate) -> None:
    path = write_template(
        {
            "Resources": {
                "Bare": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Code": {"ZipFile": "x"}, "Role": "r", "Handler": "h"},
                },
                "Image": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"PackageType": "Image", "ImageUri": "x:1"},
                },
            }
        }
    )
    check(cli, path, status=0)
    check(cli, path, "--fail-on", "warn", status=1)
    image_only = write_template(
        {
            "Resources": {
                "Image": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"PackageType": "Image", "ImageUri": "x:1"},
                }
            }
        },
        "image.yaml",
    )
    check(cli, image_only, "--fail-on", "warn", status=0)  # NOT_APPLICABLE never fails


def test_a_config_parameter_with_override_default_or_no_value(
    cli: Cli, write_template: WriteTemplate
) -> None:
    arn = cli.profile("publisher")
    csc = cli.csc(arn)
    document = {
        "Transform": SAM,
        "Parameters": {"ConfigArn": {"Type": "String"}},
        "Resources": {"Fn": function("src/", CodeSigningConfigArn={"Ref": "ConfigArn"})},
    }
    path = write_template(document)
    unknown = findings(cli, path)["Fn"]
    assert unknown["standing"] == "UNKNOWN"
    assert "the parameter ConfigArn has no value" in unknown["message"]
    check(cli, path, "--fail-on", "warn", status=1)  # UNKNOWN is never "allowed"
    given = findings(cli, path, "--parameter-overrides", f"ConfigArn={csc}", status=1)["Fn"]
    assert given["standing"] == "REJECT"
    assert csc in given["message"]
    document["Parameters"]["ConfigArn"]["Default"] = csc
    assert (
        findings(cli, write_template(document, "default.yaml"), status=1)["Fn"]["standing"]
        == "REJECT"
    )


def test_a_config_the_backend_does_not_know_is_unknown_per_check(
    cli: Cli, write_template: WriteTemplate
) -> None:
    missing = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0a1b2c3d4e5f6a7b8"
    path = write_template(
        {"Transform": SAM, "Resources": {"Fn": function("src/", CodeSigningConfigArn=missing)}}
    )
    found = findings(cli, path)["Fn"]
    assert found["standing"] == "UNKNOWN"
    assert "could be" in found["message"]  # the decisions still possible, never "allowed"


def test_nested_stacks_follow_the_config_down_and_name_the_child(
    cli: Cli, write_template: WriteTemplate, app: Path
) -> None:
    arn = cli.profile("publisher")
    child = write_template(
        {
            "Transform": SAM,
            "Parameters": {"Config": {"Type": "String"}},
            "Resources": {"Inner": function("../src/", CodeSigningConfigArn={"Ref": "Config"})},
        },
        "stacks/child.yaml",
    )
    parent = write_template(
        {
            "Resources": {
                "Csc": config(arn),
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {
                        "TemplateURL": "stacks/child.yaml",
                        "Parameters": {"Config": {"Fn::GetAtt": ["Csc", "CodeSigningConfigArn"]}},
                    },
                },
            },
        }
    )
    found = findings(cli, parent, status=1)["Child/Inner"]
    assert found["standing"] == "REJECT"
    assert found["template"] == str(child)
    assert found["nested_in"] == ["Child"]
    assert "--signing-profiles Child/Inner=publisher" in found["remedy"]
    assert (
        findings(cli, parent, "--signing-profiles", "Child/Inner=publisher")["Child/Inner"][
            "standing"
        ]
        == "ALLOW"
    )


def test_bad_input_is_one_line_and_exit_2(
    cli: Cli, write_template: WriteTemplate, app: Path
) -> None:
    def bad(path: Path, *args: object, naming: str) -> None:
        result = cli.fails(*cli.now, "check", path, *args, naming=naming)
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert result.out == ""

    text = app / "notes.txt"
    text.write_text("just some words\n")
    bad(text, naming="notes.txt")
    bad(app / "missing.yaml", naming="missing.yaml")
    broken = app / "broken.yaml"
    broken.write_text("Resources: [\n  a: b\n")
    bad(broken, naming="not valid YAML or JSON")
    binary = app / "binary.yaml"
    binary.write_bytes(b"\x00\x01\xff")
    bad(binary, naming="TEMPLATE: cannot read")
    bad(app / "src", naming="not a CDK cloud assembly")
    refs = write_template(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Code": "src/", "CodeSigningConfigArn": {"Ref": "Nowhere"}},
                }
            }
        },
        "refs.yaml",
    )
    bad(refs, naming="'Nowhere'")
    ok = write_template({"Resources": {"Fn": function("src/")}}, "ok.yaml")
    bad(ok, "--parameter-overrides", "Nope=1", naming="--parameter-overrides")
    bad(ok, "--parameter-overrides", "=", naming="--parameter-overrides")
    gone = write_template({"Resources": {"Fn": function("gone/")}}, "gone.yaml")
    bad(gone, naming="'gone/' does not exist")
    empty = app / "cdk.out"
    empty.mkdir()
    (empty / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {}}))
    bad(empty, naming="no stack templates")
    escaping = app / "escape.out"
    escaping.mkdir()
    (escaping / "manifest.json").write_text(
        json.dumps(
            {
                "version": "36.0.0",
                "artifacts": {
                    "Shop": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Shop.template.json"},
                    }
                },
            }
        )
    )
    (escaping / "Shop.template.json").write_text(
        json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Code": {"S3Bucket": "b", "S3Key": "k.zip"},
                            "Role": "r",
                            "Handler": "h",
                        },
                        "Metadata": {"aws:asset:path": "../src", "aws:asset:property": "Code"},
                    }
                }
            }
        )
    )
    bad(escaping, naming="outside")


def test_the_table_is_worst_first(cli: Cli, write_template: WriteTemplate) -> None:
    arn = cli.profile("publisher")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Transform": SAM,
            "Resources": {
                "AaaBare": function("src/"),
                "ZzzRejected": function("src/", CodeSigningConfigArn=csc),
            },
        }
    )
    table = check(cli, path, status=1).out
    assert table.index("ZzzRejected") < table.index("AaaBare")
    assert "2 functions and layers: 1 REJECT, 1 NO_CONFIG" in table


def test_a_nested_template_in_s3_is_said_not_checked_on_the_local_backend(
    cli: Cli, write_template: WriteTemplate
) -> None:
    path = write_template(
        {
            "Resources": {
                "Bare": function("src/"),
                "Remote": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://s3.amazonaws.com/bucket/child.yaml"},
                },
            }
        }
    )
    result = cli(*cli.now, "check", path, "--output", "json", schema="check-report")
    assert [f["logical_id"] for f in result.json["findings"]] == ["Bare"]
    (note,) = result.json["notes"]
    assert note.startswith("Remote: its template https://s3.amazonaws.com/bucket/child.yaml")
    assert "--backend aws" in note
    assert "warning: Remote" in result.err


def test_a_yaml_alias_bomb_is_bad_input_not_a_hang(cli: Cli, app: Path) -> None:
    """Aliases of aliases ("billion laughs") load in microseconds and expand to 10^10
    values, which every reader of the template would walk: refused in one line."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    lines += [
        "Resources:",
        "  Fn:",
        "    Type: AWS::Lambda::Function",
        "    Properties: {Code: {ZipFile: x}, Description: *j}",
    ]
    bomb = app / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    result = cli.fails(*cli.now, "check", bomb, naming="bomb.yaml")
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "YAML aliases" in result.err and result.out == ""


def test_a_packaged_cdk_template_keeps_its_construct_paths(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """``sam-ext package`` keeps ``aws:cdk:path`` in the template it writes outside
    cdk.out: check (and --signing-profiles) still name resources by their construct paths."""
    arn = cli.profile("publisher")
    csc = cli.csc(arn)
    path = write_template(
        {
            "Resources": {
                "CheckoutB7CD3E82": {
                    "Type": "AWS::Lambda::Function",
                    "Metadata": {"aws:cdk:path": "Shop/Checkout/Resource"},
                    "Properties": {
                        "Code": "src/",
                        "Handler": "app.handler",
                        "Runtime": "python3.12",
                        "CodeSigningConfigArn": csc,
                    },
                }
            }
        },
        name="packaged.json",
    )
    found = findings(cli, path, status=1)["CheckoutB7CD3E82"]
    assert found["construct_path"] == "Shop/Checkout/Resource"
    assert found["message"].startswith("Shop/Checkout/Resource: ")
    signed = findings(cli, path, "--signing-profiles", "Shop/Checkout=publisher")
    assert signed["CheckoutB7CD3E82"]["standing"] == "ALLOW"


def test_the_table_shows_control_characters_never_sends_them(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """A logical id is the template author's text: ESC sequences in it (a terminal's title,
    a cleared screen) are shown as \\x1b, not sent to the terminal."""
    path = write_template(
        {"Resources": {"Fn\x1b]0;pwned\x07\x1b[2J": function("src/")}, "Transform": SAM}
    )
    table = check(cli, path).out
    assert "\x1b" not in table and "\x07" not in table
    assert "Fn\\x1b]0;pwned\\x07\\x1b[2J" in table


def test_properties_or_globals_of_the_wrong_shape_are_bad_input(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """Each was an AttributeError ("internal error"); CloudFormation and SAM refuse them."""
    shapes = {
        "list.json": {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": [1]}}},
        "text.json": {
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": "x"}}
        },
        "globals.json": {
            "Transform": SAM,
            "Globals": {"Function": "x"},
            "Resources": {"Fn": function("src/")},
        },
        "empty.json": {"Transform": SAM, "Globals": "x", "Resources": {"Fn": function("src/")}},
    }
    said = {
        "list.json": "resource Fn: Properties must be a mapping, not list",
        "text.json": "resource Fn: Properties must be a mapping, not str",
        "globals.json": "Globals.Function must be a mapping, not str",
        "empty.json": "Globals must be a mapping, not str",
    }
    for name, document in shapes.items():
        result = cli.fails(*cli.now, "check", write_template(document, name=name), naming=name)
        assert len(result.err.strip().splitlines()) == 1 and said[name] in result.err


def test_an_endless_template_file_is_bad_input(cli: Cli) -> None:
    """/dev/zero (or an endless pipe) was read until memory ran out (MemoryError)."""
    result = cli.fails(*cli.now, "check", Path("/dev/zero"), naming="/dev/zero")
    assert len(result.err.strip().splitlines()) == 1 and "larger than 64 MiB" in result.err


def test_a_config_whose_publishers_or_policies_are_no_mapping_is_bad_input(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """``AllowedPublishers: "x"`` (or a list of policies) was an AttributeError ("internal
    error"); it is bad input naming the config resource and the property."""
    for name, value in (("AllowedPublishers", "x"), ("CodeSigningPolicies", ["Enforce"])):
        csc = config("arn:aws:signer:us-east-1:123456789012:/signing-profiles/p/abcdefghij")
        csc["Properties"][name] = value
        path = write_template(
            {
                "Transform": SAM,
                "Resources": {
                    "Csc": csc,
                    "Fn": function("src/", CodeSigningConfigArn={"Ref": "Csc"}),
                },
            },
            name=f"{name}.json",
        )
        result = cli.fails(*cli.now, "check", path, naming="Csc")
        assert len(result.err.strip().splitlines()) == 1
        assert f"resource Csc: {name} must be a mapping, not" in result.err


def nest_chain(write_template: WriteTemplate, levels: int) -> Path:
    """A template nesting ``levels`` distinct templates, each the next's parent."""
    for level in range(levels, -1, -1):
        resources: dict[str, Any] = {"Fn": function("src/")} if level == levels else {}
        if level < levels:
            resources["Down"] = {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": f"t{level + 1}.json"},
            }
        path = write_template({"Resources": resources}, name=f"t{level}.json")
    return path


def test_nested_stacks_deeper_than_the_limit_are_bad_input(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """600 distinct nested stacks were a RecursionError ("internal error"); 100 levels
    are read, one more is bad input naming the path down."""
    assert check(cli, nest_chain(write_template, 100)).status == 0
    result = cli.fails(*cli.now, "check", nest_chain(write_template, 600), naming="Down/Down")
    assert len(result.err.strip().splitlines()) == 1
    assert "/".join(["Down"] * 101) + ": nested stacks go more than 100 levels deep" in result.err


def test_a_missing_keystore_is_bad_input_and_not_created(
    cli: Cli, write_template: WriteTemplate, tmp_path: Path, monkeypatch: Any
) -> None:
    """check only reads: CODESIGN_HOME naming no keystore was made one (index.sqlite3,
    keys/, objects/); now it is bad input naming the keystore and how to make one."""
    path = write_template({"Transform": SAM, "Resources": {"Fn": function("src/")}})
    missing = tmp_path / "nonexistent" / "x"
    monkeypatch.setenv("CODESIGN_HOME", str(missing))
    result = cli.fails(*cli.now, "check", path, naming=f"no keystore at {str(missing)!r}")
    assert len(result.err.strip().splitlines()) == 1 and "sam-ext profile put" in result.err
    assert not (tmp_path / "nonexistent").exists()
    result = cli.fails(*cli.now, "--home", missing, "check", path, naming="--home: no keystore")
    assert not (tmp_path / "nonexistent").exists()


def test_an_unsatisfiable_config_whose_policy_is_unknown_says_so(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """Was "... so this deploy cannot satisfy it ()" with the standing UNKNOWN: the
    message now says the policy is not known, so whether Lambda rejects is not either."""
    path = write_template(
        {
            "Transform": SAM,
            "Resources": {
                "Profile": {
                    "Type": "AWS::Signer::SigningProfile",
                    "Properties": {"PlatformId": "AWSLambda-SHA384-ECDSA"},
                },
                "Csc": config(
                    {"Fn::GetAtt": ["Profile", "ProfileVersionArn"]},
                    policy={"Fn::Select": [0, ["Enforce", "Warn"]]},
                ),
                "Fn": function(
                    "src/", CodeSigningConfigArn={"Fn::GetAtt": ["Csc", "CodeSigningConfigArn"]}
                ),
            },
        }
    )
    found = findings(cli, path)["Fn"]
    assert found["standing"] == "UNKNOWN"
    message = found["message"]
    assert "()" not in message and "cannot satisfy" not in message, message
    assert "lists only signing profiles this template creates (Profile)" in message
    assert "its policy is not known before deploy" in message
    assert "whether Lambda would reject the deploy or only warn is not known" in message
    assert "sam-ext profile put" in found["remedy"]


def test_s3_code_on_the_local_backend_points_to_the_clis_option(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """The message said "use --backend aws, or codesign:backend aws" (Pulumi's config
    wording) to a CLI user; the CLI's says its own option only."""
    csc = cli.csc(cli.profile("publisher"))
    path = write_template(
        {
            "Transform": SAM,
            "Resources": {"Fn": function("s3://bucket/key.zip", CodeSigningConfigArn=csc)},
        }
    )
    message = findings(cli, path)["Fn"]["message"]
    assert "use --backend aws for S3 objects" in message and "codesign:" not in message


def test_a_nested_template_in_s3_on_the_local_backend_points_to_the_clis_option(
    home: Path, write_template: WriteTemplate
) -> None:
    """The note for a nested template the local backend cannot read names how the front
    end picks aws (the CLI's --backend aws), read through the check's own backend wrapper."""
    from provider.clock import utcnow
    from sam_ext.check import CheckOptions, check_template
    from sam_ext.context import CliContext

    path = write_template(
        {
            "Resources": {
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://bucket.s3.amazonaws.com/t.yaml"},
                }
            }
        }
    )
    for hint in ("--backend aws", "SAM_EXT_BACKEND=aws"):
        context = CliContext(home=str(home), aws_backend_hint=hint)
        report = check_template(Path(path), CheckOptions(at=utcnow()), context.backend)
        assert any(f"(check it with {hint})" in note for note in report.notes), report.notes


def test_the_pulumi_wording_stays_for_a_backend_no_cli_opened(home: Path) -> None:
    """The provider's own backend (Pulumi's) names its stack config."""
    with pytest.raises(ValidationError, match="use codesign:backend aws for S3 objects"):
        LocalBackend(home).package_facts("s3://bucket/key.zip")


def test_a_signing_profile_that_does_not_exist_is_bad_input(
    cli: Cli, write_template: WriteTemplate
) -> None:
    """--signing-profiles naming no profile was UNKNOWN (or not looked up at all without a
    config); sam-ext package refuses it, and check now does the same way (exit 2)."""
    csc = cli.csc(cli.profile("publisher"))
    for properties in ({}, {"CodeSigningConfigArn": csc}):
        path = write_template(
            {"Transform": SAM, "Resources": {"Fn": function("src/", **properties)}}
        )
        result = cli.fails(
            *cli.now, "check", path, "--signing-profiles", "Fn=nosuch", naming="'nosuch'"
        )
        assert len(result.err.strip().splitlines()) == 1
        assert "signing profile 'nosuch' does not exist" in result.err


def test_the_resource_column_wraps_long_paths_at_a_slash(tmp_path: Path) -> None:
    """rich wraps at spaces only, so a long construct path was split mid-word
    ("Resourc e") at 100 columns; now each line of the cell ends after a "/"."""
    from sam_ext.check import CheckReport, Finding, Standing
    from sam_ext.commands.check import render_table

    construct = "ShopApplicationStack/PaymentsOrchestration/CheckoutHandlerFunction/Resource"
    finding = Finding(
        template=tmp_path / "t.json",
        logical_id="CheckoutHandler0A1B2C3D",
        resource_type="AWS::Lambda::Function",
        construct_path=construct,
        standing=Standing.REJECT,
        policy="Enforce",
        check="mismatch",
        exception="CodeVerificationFailedException",
        message="the deploy would be rejected",
        remedy=None,
        nested_in=("NestedStackOfPayments",),
    )
    table = render_table(CheckReport((finding,)), width=100)
    cells = [line.split("│")[2].strip() for line in table.splitlines() if line.count("│") > 2]
    assert cells == [
        "ShopApplicationStack/",
        "PaymentsOrchestration/",
        "CheckoutHandlerFunction/",
        "Resource",
        "NestedStackOfPayments/",
        "CheckoutHandler0A1B2C3D",
        "AWS::Lambda::Function",
    ], table
