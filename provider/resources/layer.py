"""``LayerVersion``: a Lambda layer version, judged on every function that uses it."""

from __future__ import annotations

import hashlib
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from provider.archive import package_bytes
from provider.errors import CodesignError
from provider.resources._base import (
    CodesignProvider,
    auto_name,
    check_inputs,
    is_unknown,
    local_backend_of,
    local_only,
    name_seed,
    now_of,
    reported,
    settings_input,
)
from provider.resources.signed_package import SignedPackage, package_ref

_NAME_ALPHABET = string.ascii_letters + string.digits + "-_"
#: A new version is published when any of these changes (layer versions are immutable).
_REPLACING = ("layer_name", "code_sha384", "compatible_runtimes", "license_info", "description")
_ON_AWS = (
    "on AWS, publish the SignedPackage's S3 object with pulumi_aws.lambda_.LayerVersion("
    "s3_bucket=package.bucket, s3_key=package.key, s3_object_version=package.object_version, "
    "...); Lambda checks it on every function with a code signing config"
)


@dataclass
class LayerVersionArgs:
    """Inputs of :class:`LayerVersion`."""

    #: The layer's content: a :class:`SignedPackage` (a preview then predicts its verdict
    #: from the program's graph), a signed .zip, or a directory (published unsigned).
    code: SignedPackage | pulumi.Input[str]
    #: 1-64 of ``[A-Za-z0-9-_]``; default: the resource name plus a suffix derived from the
    #: stack and the resource.
    layer_name: pulumi.Input[str] | None = None
    compatible_runtimes: pulumi.Input[list[str]] | None = None
    license_info: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _digest(path: Path) -> str:
    data = package_bytes(path) if path.is_dir() else path.read_bytes()
    return hashlib.sha384(data).hexdigest()


class LayerVersionProvider(CodesignProvider):
    """Lifecycle: create publishes a version (PublishLayerVersion checks no signature:
    layers have no code signing config; the functions using one check it); any change
    publishes a new version."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, and hash the content."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-layer-version", "LayerVersion") + local_only(
            inputs, "LayerVersion", _ON_AWS
        )
        if failures:
            return CheckResult(inputs, failures)
        if inputs.get("layer_name") is None:
            inputs["layer_name"] = olds.get("layer_name") or auto_name(
                inputs["logical_name"], "-", _NAME_ALPHABET, 64, inputs.get("name_seed")
            )
        code = inputs.get("code")
        if not is_unknown(code):
            path = Path(str(code))
            if not path.exists():
                return CheckResult(
                    inputs,
                    [
                        CheckFailure(
                            "code",
                            f"LayerVersion input code: {str(code)!r} is neither a .zip file "
                            "nor a directory",
                        )
                    ],
                )
            try:
                inputs["code_sha384"] = _digest(path)
            except CodesignError as exc:
                return CheckResult(
                    inputs, [CheckFailure("code", f"LayerVersion input code: {exc.message}")]
                )
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Layer versions are immutable: every change publishes a new one."""
        replaces = [k for k in _REPLACING if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """PublishLayerVersion (a directory is zipped deterministically, unsigned)."""
        with reported():
            backend = local_backend_of(props)
            code = Path(props["code"])
            with tempfile.TemporaryDirectory(prefix="codesign-layer-") as scratch:
                content = code
                if code.is_dir():
                    content = Path(scratch) / "layer.zip"
                    content.write_bytes(package_bytes(code))
                published = backend.publish_layer_version(
                    props["layer_name"], content, now=now_of(props)
                )
        outs = {
            **props,
            "layer_arn": published["LayerArn"],
            "layer_version_arn": published["LayerVersionArn"],
            "version": published["Version"],
            "created_date": published["CreatedDate"],
        }
        return CreateResult(published["LayerVersionArn"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetLayerVersionByArn."""
        with reported():
            layer = local_backend_of(props).get_layer_version(id_)
        return ReadResult(
            id_,
            {**props, "layer_version_arn": layer["LayerVersionArn"], "version": layer["Version"]},
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteLayerVersion: as on Lambda, functions that use the version keep their copy,
        and its number is never reused."""
        with reported():
            local_backend_of(props).delete_layer_version(id_)


class LayerVersion(Resource, module="codesign", name="LayerVersion"):
    """A Lambda layer version, published in the local backend's registry. A function with
    a code signing config checks each of its layers like its code, at deploy and in
    previews (the verdict names the layer). On ``codesign:backend aws`` it fails ``check``
    pointing to ``pulumi_aws.lambda_.LayerVersion``.

    Outputs: ``layer_name``, ``layer_arn``, ``layer_version_arn``, ``version``, ``code``.
    """

    layer_name: pulumi.Output[str]
    layer_arn: pulumi.Output[str]
    layer_version_arn: pulumi.Output[str]
    version: pulumi.Output[float]
    code: pulumi.Output[str]
    code_sha384: pulumi.Output[str]
    code_package: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self, name: str, args: LayerVersionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        code = args.code
        if isinstance(code, SignedPackage):
            code_input: Any = code.location
            package: Any = package_ref(code)
        else:
            code_input = pulumi.Output.from_input(code).apply(lambda p: str(Path(p).resolve()))
            package = None
        props = {
            "logical_name": name,
            "name_seed": name_seed("LayerVersion", name, opts),
            "layer_name": args.layer_name,
            "code": code_input,
            "code_package": package,
            "compatible_runtimes": args.compatible_runtimes,
            "license_info": args.license_info,
            "description": args.description,
            "settings": settings_input(args.backend, args.home, args.region),
            **{
                key: None
                for key in (
                    "code_sha384",
                    "layer_arn",
                    "layer_version_arn",
                    "version",
                    "created_date",
                )
            },
        }
        super().__init__(LayerVersionProvider(), name, props, opts)
        #: The :class:`SignedPackage` the content comes from, if any (functions using the
        #: layer tell their previews who signs it, value by value: a whole output that
        #: holds one unknown value is unknown as a whole).
        self.package: SignedPackage | None = code if isinstance(code, SignedPackage) else None
