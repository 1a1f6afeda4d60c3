"""``LayerVersion``: a Lambda layer version, judged on every function that uses it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from provider.archive import package_bytes
from provider.backends.function_settings import LayerSettings
from provider.errors import CodesignError, NotFoundError
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    checked,
    gone,
    is_unknown,
    missing_is_deleted,
    name_seed,
    now_of,
    reported,
    settings_input,
)
from provider.resources.deployable import (
    code_inputs,
    code_to_deploy,
    default_lambda_name,
    deployable_code,
    input_failure,
)
from provider.resources.origins import mark
from provider.resources.signed_package import SignedPackage, signed_package_of

#: A new version is published when any of these changes (layer versions are immutable).
_REPLACING = (
    "layer_name",
    "code_id",
    "compatible_runtimes",
    "compatible_architectures",
    "license_info",
    "description",
)
_SETTINGS = ("compatible_runtimes", "compatible_architectures", "license_info", "description")


@dataclass
class LayerVersionArgs:
    """Inputs of :class:`LayerVersion` (named as pulumi-aws names them)."""

    #: The layer's content: a :class:`SignedPackage` (a preview then predicts its verdict
    #: from the program's graph; on aws its S3 object's version is published), a signed
    #: .zip or a directory (published unsigned; local backend), or
    #: ``s3://BUCKET/KEY[?versionId=V]`` (aws backend); or give ``s3_bucket``/``s3_key``.
    code: SignedPackage | pulumi.Input[str] | None = None
    #: 1-64 of ``[A-Za-z0-9-_]``; default: the resource name plus a suffix derived from the
    #: stack and the resource.
    layer_name: pulumi.Input[str] | None = None
    compatible_runtimes: pulumi.Input[list[str]] | None = None
    compatible_architectures: pulumi.Input[list[str]] | None = None
    license_info: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    s3_bucket: pulumi.Input[str] | None = None
    s3_key: pulumi.Input[str] | None = None
    s3_object_version: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _layer_settings(props: dict[str, Any]) -> LayerSettings:
    return LayerSettings.from_inputs({k: props.get(k) for k in _SETTINGS})


class LayerVersionProvider(CodesignProvider):
    """Lifecycle, through the backend interface (local and aws alike): create publishes a
    version (PublishLayerVersion checks no signature: layers have no code signing config;
    the functions using one check it); any change publishes a new version."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, and identify the content."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-layer-version", "LayerVersion")
        if not failures and not any(is_unknown(inputs.get(k)) for k in _SETTINGS):
            try:
                _layer_settings(inputs)
            except CodesignError as exc:
                failures.append(input_failure("LayerVersion", exc, inputs))
        if failures:
            return CheckResult(inputs, failures)
        default_lambda_name(inputs, olds, "layer_name")
        backend = checked(lambda: backend_of(inputs), "settings")
        if isinstance(backend, CheckFailure):
            return CheckResult(inputs, [backend])
        _, failures = deployable_code(inputs, backend, "LayerVersion")
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Layer versions are immutable: every change publishes a new one."""
        replaces = [k for k in _REPLACING if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """PublishLayerVersion (a local directory is zipped deterministically, unsigned)."""
        with reported():
            backend = backend_of(props)
            code = code_to_deploy(props)
            with tempfile.TemporaryDirectory(prefix="codesign-layer-") as scratch:
                content = code
                if isinstance(code, Path) and code.is_dir():
                    content = Path(scratch) / "layer.zip"
                    content.write_bytes(package_bytes(code))
                published = backend.publish_layer_version(
                    props["layer_name"],
                    content,
                    now=now_of(props),
                    settings=_layer_settings(props),
                )
        outs = {
            **props,
            "layer_arn": published["LayerArn"],
            "layer_version_arn": published["LayerVersionArn"],
            "version": published["Version"],
            "created_date": published["CreatedDate"],
            "code_sha256": (published.get("Content") or {}).get("CodeSha256"),
        }
        return CreateResult(published["LayerVersionArn"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetLayerVersionByArn (a version deleted out of band is dropped from state)."""
        with reported():
            try:
                layer = backend_of(props).get_layer_version(id_)
            except NotFoundError:
                return gone()
        return ReadResult(
            id_,
            {**props, "layer_version_arn": layer["LayerVersionArn"], "version": layer["Version"]},
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteLayerVersion: as on Lambda, functions that use the version keep their copy,
        and its number is never reused (a version already gone is deleted)."""
        with reported(), missing_is_deleted():
            backend_of(props).delete_layer_version(id_)


class LayerVersion(Resource, module="codesign", name="LayerVersion"):
    """A Lambda layer version, published in the local backend's registry or, on
    ``codesign:backend aws``, in AWS Lambda. A function with a code signing config checks
    each of its layers like its code, at deploy and in previews (the verdict names the
    layer).

    Outputs: ``layer_name``, ``layer_arn``, ``layer_version_arn``, ``version``,
    ``code_ref`` (the content as published from: a path, or ``s3://...?versionId=V``).
    """

    layer_name: pulumi.Output[str]
    layer_arn: pulumi.Output[str]
    layer_version_arn: pulumi.Output[str]
    version: pulumi.Output[float]
    code: pulumi.Output[str | None]
    code_ref: pulumi.Output[str]
    code_sha384: pulumi.Output[str | None]
    code_package: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self, name: str, args: LayerVersionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "logical_name": name,
            "name_seed": name_seed("LayerVersion", name, opts),
            "layer_name": args.layer_name,
            **code_inputs(args),
            **{key: getattr(args, key) for key in _SETTINGS},
            "settings": settings_input(args.backend, args.home, args.region),
            **{
                key: None
                for key in (
                    "code_sha384",
                    "code_id",
                    "code_ref",
                    "code_sha256",
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
        self.package: SignedPackage | None = signed_package_of(args.code)
        # Passed on as its version ARN output, the layer is still known to previews.
        mark(self, "layer_version_arn")
