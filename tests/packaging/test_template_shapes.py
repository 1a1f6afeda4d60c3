"""Where templates keep their code: ``Globals.Function.CodeUri``, plain
``AWS::Lambda::Function``/``LayerVersion`` (``Code``/``Content``), and the layout
``sam build`` writes under ``.aws-sam/build``."""

from __future__ import annotations

from pathlib import Path

LOCAL_BUCKET = "sam-ext-local-artifacts"

GLOBALS_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: src/hello/
    Runtime: python3.12
    Handler: app.handler
Resources:
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 256
  AlsoFromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 5
  OwnCode:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/goodbye/
"""


def test_functions_without_code_uri_take_the_globals_one(
    sam_ext, app, publisher, tools, backend
) -> None:
    (app / "globals.yaml").write_text(GLOBALS_TEMPLATE)
    result = sam_ext(
        "package",
        "-t",
        "globals.yaml",
        "--signing-profiles",
        "FromGlobals=Publisher",
        "--output-template-file",
        "out.yaml",
    )
    resources = tools.load(app / "out.yaml")["Resources"]
    signed = Path(resources["FromGlobals"]["Properties"]["CodeUri"])
    plain = Path(resources["AlsoFromGlobals"]["Properties"]["CodeUri"])
    own = Path(resources["OwnCode"]["Properties"]["CodeUri"])
    assert tools.members(signed) == tools.tree(app / "src/hello")
    assert tools.members(plain) == tools.tree(app / "src/hello")
    assert tools.members(own) == tools.tree(app / "src/goodbye")
    assert signed.name.startswith("signed_")
    assert not plain.name.startswith("signed_")
    assert tools.verdict(backend, signed, publisher.version_arn).decision is tools.allow
    # Other properties stay as they were; Globals itself is left to the SAM transform.
    assert resources["FromGlobals"]["Properties"]["MemorySize"] == 256
    assert tools.load(app / "out.yaml")["Globals"] == tools.load(app / "globals.yaml")["Globals"]
    assert result.row("FromGlobals")[1] == "Publisher"
    assert sam_ext.jobs() == 1


CFN_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  TrustedProfileVersionArn:
    Type: String
Resources:
  Shared:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content: layers/shared
      CompatibleRuntimes: [python3.12]
  Config:
    Type: AWS::Lambda::CodeSigningConfig
    Properties:
      AllowedPublishers:
        SigningProfileVersionArns: [!Ref TrustedProfileVersionArn]
      CodeSigningPolicies:
        UntrustedArtifactOnDeployment: Enforce
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Code: src/hello
      Handler: app.handler
      Runtime: python3.12
      Role: arn:aws:iam::123456789012:role/lambda
      Layers: [!Ref Shared]
      CodeSigningConfigArn: !GetAtt Config.CodeSigningConfigArn
  Inline:
    Type: AWS::Lambda::Function
    Properties:
      Code:
        ZipFile: "def handler(event, context): return 1"
      Handler: index.handler
      Runtime: python3.12
      Role: arn:aws:iam::123456789012:role/lambda
"""


def test_plain_lambda_function_and_layer_are_packaged_and_signed(
    sam_ext, app, publisher, tools, backend
) -> None:
    (app / "cfn.yaml").write_text(CFN_TEMPLATE)
    result = sam_ext(
        "package",
        "-t",
        "cfn.yaml",
        "--signing-profiles",
        "Plain=Publisher Shared=Publisher",
        *publisher.overrides,
        "--output-template-file",
        "out.yaml",
    )
    original = tools.load(app / "cfn.yaml")
    packaged = tools.load(app / "out.yaml")
    code = packaged["Resources"]["Plain"]["Properties"]["Code"]
    content = packaged["Resources"]["Shared"]["Properties"]["Content"]
    for location, source in ((code, "src/hello"), (content, "layers/shared")):
        assert set(location) == {"S3Bucket", "S3Key"}
        assert location["S3Bucket"] == LOCAL_BUCKET
        key = Path(location["S3Key"])
        assert key.name.startswith("signed_")
        assert tools.members(key) == tools.tree(app / source)
        assert tools.verdict(backend, key, publisher.version_arn).decision is tools.allow
    # Everything else, inline code included, is as it was.
    original["Resources"]["Plain"]["Properties"]["Code"] = code
    original["Resources"]["Shared"]["Properties"]["Content"] = content
    assert packaged == original
    assert result.row("Plain")[-1] == "ALLOW"
    assert sam_ext.jobs() == 2
    lint = tools.cfn_lint(app / "out.yaml")
    assert lint.returncode == 0, lint.stdout + lint.stderr


BUILT_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: SharedLayer
      CompatibleRuntimes: [python3.12]
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: HelloFunction
      Handler: app.handler
      Runtime: python3.12
      Layers: [!Ref SharedLayer]
"""


def _sam_build(app: Path) -> Path:
    """What ``sam build`` leaves behind: one directory per function and layer."""
    build = app / ".aws-sam" / "build"
    (build / "HelloFunction").mkdir(parents=True)
    (build / "HelloFunction" / "app.py").write_text("# built\ndef handler(e, c):\n    return 2\n")
    (build / "HelloFunction" / "requirements.txt").write_text("")
    (build / "SharedLayer" / "python").mkdir(parents=True)
    (build / "SharedLayer" / "python" / "shared.py").write_text("# built layer\n")
    (build / "template.yaml").write_text(BUILT_TEMPLATE)
    return build


def test_sam_build_layout_is_packaged_from_the_build_directory(
    sam_ext, app, publisher, tools, backend
) -> None:
    build = _sam_build(app)
    sam_ext(
        "package",
        "-t",
        build / "template.yaml",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Publisher",
        "--output-template-file",
        "out.yaml",
    )
    resources = tools.load(app / "out.yaml")["Resources"]
    hello = Path(resources["HelloFunction"]["Properties"]["CodeUri"])
    layer = Path(resources["SharedLayer"]["Properties"]["ContentUri"])
    assert tools.members(hello) == tools.tree(build / "HelloFunction")
    assert tools.members(layer) == tools.tree(build / "SharedLayer")
    for signed in (hello, layer):
        assert tools.verdict(backend, signed, publisher.version_arn).decision is tools.allow


def test_without_template_file_the_built_template_is_picked_up(
    sam_ext, app, publisher, tools
) -> None:
    """From a directory holding both template.yaml and .aws-sam/build/template.yaml,
    ``sam-ext package`` packages the built one, as ``sam package`` does."""
    build = _sam_build(app)
    assert (app / "template.yaml").is_file()
    result = sam_ext("package", "--signing-profiles", "HelloFunction=Publisher")
    packaged = tools.parse(result.out)
    assert set(packaged["Resources"]) == {"SharedLayer", "HelloFunction"}
    hello = Path(packaged["Resources"]["HelloFunction"]["Properties"]["CodeUri"])
    assert tools.members(hello) == tools.tree(build / "HelloFunction")
    assert b"# built" in tools.members(hello)["app.py"]
    # The artifact directory (and its cache) sits in the project, not in the build output,
    # so a clean `sam build` does not wipe it.
    assert hello.parent == (app / ".sam-ext" / "artifacts").resolve()


BAD_CONFIG_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Config:
    Type: AWS::Lambda::CodeSigningConfig
    Properties:
      AllowedPublishers: x
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/hello/
      Runtime: python3.12
      Handler: app.handler
      CodeSigningConfigArn: !Ref Config
"""


def test_a_config_whose_publishers_are_no_mapping_is_bad_input_to_package(
    sam_ext, app, publisher
) -> None:
    """Was an AttributeError ("internal error"): bad input naming the resource and property."""
    (app / "bad.yaml").write_text(BAD_CONFIG_TEMPLATE)
    result = sam_ext(
        "package",
        "-t",
        "bad.yaml",
        "--signing-profiles",
        "Fn=Publisher",
        "--output-template-file",
        "out.yaml",
        status=2,
    )
    assert "resource Config: AllowedPublishers must be a mapping, not str" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_nested_stacks_deeper_than_the_limit_are_bad_input_to_package(sam_ext, app) -> None:
    """600 distinct nested stacks were a RecursionError ("internal error"): bad input
    naming the path down, before any work."""
    for level in range(600):
        (app / f"t{level}.yaml").write_text(
            f"Resources:\n  Down:\n    Type: AWS::CloudFormation::Stack\n"
            f"    Properties:\n      TemplateURL: t{level + 1}.yaml\n"
        )
    (app / "t600.yaml").write_text("Resources: {}\n")
    result = sam_ext("package", "-t", "t0.yaml", "--output-template-file", "out.yaml", status=2)
    assert len(result.err.strip().splitlines()) == 1
    assert "/".join(["Down"] * 101) + ": nested stacks go more than 100 levels deep" in result.err
