"""The cloud assembly reader on small hand-made assemblies: both ways CDK writes construct
paths and assets (template Metadata, as ``cdk synth`` writes it; STACK.metadata.json and
STACK.assets.json, as a bare ``app.synth()`` does), and every refusal naming its input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from provider.errors import CodesignError
from sam_ext.cdk.assembly import (
    AssetPackaging,
    CdkAsset,
    is_cloud_assembly,
    read_cloud_assembly,
    stack_of_template,
)

CODE_HASH = "a" * 64
LAYER_HASH = "b" * 64
ZIP_HASH = "c" * 64


def _function(key: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {
                "S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
                "S3Key": key,
            },
            "Handler": "app.handler",
            "Runtime": "python3.12",
        },
    }
    if metadata:
        resource["Metadata"] = metadata
    return resource


def make_assembly(
    root: Path,
    *,
    metadata: bool,
    code_path: str | None = None,
    layer_path: str | None = None,
    inline_metadata: bool = False,
) -> Path:
    """A cloud assembly with one stack ``Shop``: a function (staged directory asset), a layer
    (staged directory asset) and a second function from a .zip file asset. ``metadata``:
    template Metadata as ``cdk synth`` writes it; else only STACK.metadata.json."""
    out = root / "cdk.out"
    out.mkdir(parents=True)
    (out / f"asset.{CODE_HASH}").mkdir()
    (out / f"asset.{CODE_HASH}" / "app.py").write_text("def handler(e, c): return 1\n")
    (out / f"asset.{LAYER_HASH}" / "python").mkdir(parents=True)
    (out / f"asset.{LAYER_HASH}" / "python" / "dep.py").write_text("X = 1\n")
    (out / f"asset.{ZIP_HASH}.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    code_path = code_path or f"asset.{CODE_HASH}"
    layer_path = layer_path or f"asset.{LAYER_HASH}"
    resources = {
        "Checkout1234ABCD": _function(
            f"{CODE_HASH}.zip",
            {
                "aws:cdk:path": "Shop/Checkout/Resource",
                "aws:asset:path": code_path,
                "aws:asset:is-bundled": False,
                "aws:asset:property": "Code",
            }
            if metadata
            else None,
        ),
        "Zipped5678EF90": _function(
            f"{ZIP_HASH}.zip",
            {"aws:cdk:path": "Shop/Zipped/Resource", "aws:asset:path": f"asset.{ZIP_HASH}.zip"}
            if metadata
            else None,
        ),
        "Deps9F0A5805": {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {"Content": {"S3Bucket": "b", "S3Key": f"{LAYER_HASH}.zip"}},
            **(
                {
                    "Metadata": {
                        "aws:cdk:path": "Shop/Deps/Resource",
                        "aws:asset:path": layer_path,
                        "aws:asset:property": "Content",
                    }
                }
                if metadata
                else {}
            ),
        },
        "Role0000": {"Type": "AWS::IAM::Role", "Properties": {}},
    }
    (out / "Shop.template.json").write_text(json.dumps({"Resources": resources}))
    stack_metadata = {
        "/Shop": [{"type": "aws:cdk:templateFile", "data": "Shop.template.json"}],
        "/Shop/Checkout/Resource": [{"type": "aws:cdk:logicalId", "data": "Checkout1234ABCD"}],
        "/Shop/Zipped/Resource": [{"type": "aws:cdk:logicalId", "data": "Zipped5678EF90"}],
        "/Shop/Deps/Resource": [
            {"type": "aws:cdk:logicalId", "data": "Deps9F0A5805"},
            {"type": "aws:cdk:creationStack", "data": ["..."]},
        ],
        "/Shop/Checkout/ServiceRole/Resource": [{"type": "aws:cdk:logicalId", "data": "Role0000"}],
    }

    def file_asset(path: str, packaging: str, key: str) -> dict[str, Any]:
        return {
            "source": {"path": path, "packaging": packaging},
            "destinations": {"d": {"bucketName": "b", "objectKey": key}},
        }

    assets = {
        "version": "55.0.0",
        "files": {
            CODE_HASH: file_asset(code_path, "zip", f"{CODE_HASH}.zip"),
            LAYER_HASH: file_asset(layer_path, "zip", f"{LAYER_HASH}.zip"),
            ZIP_HASH: file_asset(f"asset.{ZIP_HASH}.zip", "file", f"{ZIP_HASH}.zip"),
            "t" * 64: file_asset("Shop.template.json", "file", "t.json"),
        },
        "dockerImages": {},
    }
    (out / "Shop.assets.json").write_text(json.dumps(assets))
    stack: dict[str, Any] = {
        "type": "aws:cloudformation:stack",
        "properties": {"templateFile": "Shop.template.json"},
        "dependencies": ["Shop.assets"],
    }
    if inline_metadata:
        stack["metadata"] = stack_metadata
    else:
        (out / "Shop.metadata.json").write_text(json.dumps(stack_metadata))
        stack["additionalMetadataFile"] = "Shop.metadata.json"
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Shop.assets": {
                "type": "cdk:asset-manifest",
                "properties": {"file": "Shop.assets.json"},
            },
            "Shop": stack,
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _template_resources(out: Path) -> dict[str, Any]:
    resources: dict[str, Any] = json.loads((out / "Shop.template.json").read_text())["Resources"]
    return resources


@pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
@pytest.mark.parametrize("inline", [False, True], ids=["metadata-file", "inline-metadata"])
def test_both_forms_give_the_same_stack(tmp_path: Path, metadata: bool, inline: bool) -> None:
    out = make_assembly(tmp_path, metadata=metadata, inline_metadata=inline)
    assert is_cloud_assembly(out)
    assembly = read_cloud_assembly(out)
    assert assembly.directory == out.resolve()
    assert [stack.name for stack in assembly.stacks] == ["Shop"]
    stack = assembly.stacks[0]
    assert stack.template_path == (out / "Shop.template.json").resolve()
    assert stack.assembly_dir == out.resolve()
    assert stack.construct_path("Checkout1234ABCD") == "Shop/Checkout/Resource"
    assert stack.construct_path("Deps9F0A5805") == "Shop/Deps/Resource"
    assert stack.construct_path("Nothing") is None
    resources = _template_resources(out)
    assert stack.asset_of("Checkout1234ABCD", resources["Checkout1234ABCD"]) == CdkAsset(
        f"{CODE_HASH}.zip", (out / f"asset.{CODE_HASH}").resolve(), AssetPackaging.ZIP
    )
    assert stack.asset_of("Deps9F0A5805", resources["Deps9F0A5805"]) == CdkAsset(
        f"{LAYER_HASH}.zip", (out / f"asset.{LAYER_HASH}").resolve(), AssetPackaging.ZIP
    )
    assert stack.asset_of("Zipped5678EF90", resources["Zipped5678EF90"]) == CdkAsset(
        f"{ZIP_HASH}.zip", (out / f"asset.{ZIP_HASH}.zip").resolve(), AssetPackaging.FILE
    )
    assert stack.asset_of("Role0000", resources["Role0000"]) is None
    assert stack_of_template(out / "Shop.template.json") == stack


def test_an_s3_key_of_no_asset_is_no_asset(tmp_path: Path) -> None:
    stack = read_cloud_assembly(make_assembly(tmp_path, metadata=False)).stacks[0]
    elsewhere = _function("somebody-elses.zip", None)
    assert stack.asset_of("Other", elsewhere) is None


def test_logical_id_of_accepts_ids_and_construct_paths(tmp_path: Path) -> None:
    stack = read_cloud_assembly(make_assembly(tmp_path, metadata=False)).stacks[0]
    for name in [
        "Checkout1234ABCD",
        "Shop/Checkout/Resource",
        "Shop/Checkout",
        "/Shop/Checkout",
        "Checkout",
        "Checkout/Resource",
    ]:
        assert stack.logical_id_of(name) == "Checkout1234ABCD", name
    assert stack.logical_id_of("Shop/Checkout/ServiceRole") == "Role0000"
    assert stack.logical_id_of("Shop/Nothing") is None
    assert stack.logical_id_of("Other/Checkout") is None


def test_a_template_outside_an_assembly_has_no_stack(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources: {}\n")
    assert stack_of_template(template) is None
    assert not is_cloud_assembly(tmp_path)


def test_a_nested_assembly_stage_is_read(tmp_path: Path) -> None:
    inner = make_assembly(tmp_path / "stage", metadata=True)
    outer = tmp_path / "cdk.out"
    outer.mkdir()
    inner.rename(outer / "assembly-Prod")
    (outer / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "assembly-Prod": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Prod"},
                    }
                }
            }
        )
    )
    stacks = read_cloud_assembly(outer).stacks
    assert [(s.name, s.assembly_dir) for s in stacks] == [
        ("Shop", (outer / "assembly-Prod").resolve())
    ]


def _refusal(directory: Path) -> str:
    with pytest.raises(CodesignError) as caught:
        read_cloud_assembly(directory)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_no_manifest(tmp_path: Path) -> None:
    message = _refusal(tmp_path)
    assert str(tmp_path) in message and "no manifest.json" in message


def test_manifest_not_json(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    message = _refusal(tmp_path)
    assert str(tmp_path) in message and "'manifest.json' is not valid JSON" in message


def test_no_templates(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps({"artifacts": {"Tree": {"type": "cdk:tree", "properties": {}}}})
    )
    assert "no stack templates" in _refusal(tmp_path)


def test_a_missing_template(tmp_path: Path) -> None:
    out = make_assembly(tmp_path, metadata=True)
    (out / "Shop.template.json").unlink()
    assert "template of stack Shop 'Shop.template.json' does not exist" in _refusal(out)


@pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
def test_an_asset_path_escaping_the_directory(tmp_path: Path, metadata: bool) -> None:
    (tmp_path / "x").mkdir()
    out = make_assembly(tmp_path, metadata=metadata, code_path="../x")
    message = _refusal(out)
    assert "'../x'" in message and "outside the assembly directory" in message


@pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
def test_an_absolute_asset_path(tmp_path: Path, metadata: bool) -> None:
    absolute = str(tmp_path / "elsewhere")
    os.mkdir(absolute)
    out = make_assembly(tmp_path, metadata=metadata, layer_path=absolute)
    message = _refusal(out)
    assert repr(absolute) in message and "not a path inside the assembly directory" in message


def test_an_asset_symlink_out_of_the_directory(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    out = make_assembly(tmp_path, metadata=False)
    staged = out / f"asset.{CODE_HASH}"
    for child in staged.iterdir():
        child.unlink()
    staged.rmdir()
    staged.symlink_to(tmp_path / "secrets", target_is_directory=True)
    message = _refusal(out)
    assert f"'asset.{CODE_HASH}'" in message and "outside the assembly directory" in message


@pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
def test_a_missing_asset_source(tmp_path: Path, metadata: bool) -> None:
    out = make_assembly(tmp_path, metadata=metadata, code_path="asset.gone")
    message = _refusal(out)
    assert "'asset.gone' does not exist" in message


def test_an_unknown_packaging(tmp_path: Path) -> None:
    out = make_assembly(tmp_path, metadata=False)
    assets = json.loads((out / "Shop.assets.json").read_text())
    assets["files"][CODE_HASH]["source"]["packaging"] = "tarball"
    (out / "Shop.assets.json").write_text(json.dumps(assets))
    assert "packaging 'tarball' (expected zip or file)" in _refusal(out)


def test_a_nested_assembly_that_names_itself_is_refused(tmp_path: Path) -> None:
    """``directoryName: "."`` (or an outer assembly's directory) would be read for ever:
    one line naming the artifact, never a RecursionError."""
    out = make_assembly(tmp_path, metadata=True)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["artifacts"]["Loop"] = {
        "type": "cdk:cloud-assembly",
        "properties": {"directoryName": "."},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    message = _refusal(out)
    assert "nested assembly Loop ('.')" in message and "cannot contain itself" in message


@pytest.mark.parametrize(
    "change",
    ["nested properties text", "dependencies a number", "asset manifest properties a list"],
)
def test_malformed_optional_manifest_fields_are_read_leniently(tmp_path: Path, change: str) -> None:
    """Each was an AttributeError or TypeError ("internal error"); like an artifact that is
    no object, a field of the wrong shape is skipped, and the stack is still read."""
    out = make_assembly(tmp_path, metadata=False)
    manifest = json.loads((out / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    if change == "nested properties text":
        artifacts["Stage"] = {"type": "cdk:cloud-assembly", "properties": "x"}
    elif change == "dependencies a number":
        artifacts["Shop"]["dependencies"] = 5
    else:
        artifacts["Shop.assets"] = {"type": "cdk:asset-manifest", "properties": ["x"]}
        artifacts["Shop"]["dependencies"] = ["Shop.assets"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    (stack,) = read_cloud_assembly(out).stacks
    assert stack.name == "Shop" and stack.assets  # assets from Shop.assets.json, as named


@pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
@pytest.mark.parametrize("path", [".", "./"])
def test_an_asset_that_is_the_assembly_directory_itself(
    tmp_path: Path, metadata: bool, path: str
) -> None:
    """A source path "." packaged and signed the whole cloud assembly as the function's
    code: bad input naming the asset."""
    out = make_assembly(tmp_path, metadata=metadata, code_path=path)
    message = _refusal(out)
    assert f"{path!r} is the assembly directory itself" in message


def test_an_asset_path_metadata_naming_the_assembly_directory(tmp_path: Path) -> None:
    """The ``aws:asset:path`` Metadata read per resource is refused the same way."""
    stack = read_cloud_assembly(make_assembly(tmp_path, metadata=True)).stacks[0]
    resource = {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "."}}
    with pytest.raises(CodesignError, match=r"'\.' is the assembly directory itself"):
        stack.asset_of("Fn", resource)
