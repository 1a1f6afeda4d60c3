"""What ``LambdaFunction`` and ``LayerVersion`` share: the inputs that say where their code
is, the code ``check`` finds there (as the backend deploys it), the code a create or
update deploys, and a default name. (Here, not in :mod:`.function`, so that the function,
which takes layers, imports :mod:`.layer` and the layer imports neither.)"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CheckFailure

from provider.backends.base import Backend
from provider.backends.function_settings import FunctionSettings, code_from_inputs, code_identity
from provider.errors import CodesignError
from provider.objects import S3Object
from provider.resources import judging
from provider.resources._base import auto_name, is_unknown
from provider.resources.signed_package import SignedPackage, package_ref, signed_package_of

_NAME_ALPHABET = string.ascii_letters + string.digits + "-_"
#: The function's settings among the inputs, named as pulumi-aws names them.
SETTINGS = (
    "role",
    "runtime",
    "handler",
    "memory_size",
    "timeout",
    "environment",
    "architectures",
    "description",
    "tags",
    "publish",
    "package_type",
)
#: The inputs that say where the code is.
CODE_INPUTS = ("code", "s3_bucket", "s3_key", "s3_object_version")


def code_ref(code: Path | S3Object) -> str:
    """Code as state records it: a path, or ``s3://bucket/key?versionId=V``."""
    return code.uri if isinstance(code, S3Object) else str(code)


def input_failure(kind: str, error: CodesignError, inputs: dict[str, Any]) -> CheckFailure:
    """A failure on the input the error names, else on ``code``."""
    field = error.field
    return CheckFailure(
        field if field is not None and (field in inputs or field in SETTINGS) else "code",
        f"{kind} input {error.message}",
    )


def deployable_code(
    inputs: dict[str, Any],
    backend: Backend,
    kind: str,
    settings: FunctionSettings | None = None,
) -> tuple[Path | S3Object | None, list[CheckFailure]]:
    """A function's or layer's code from its inputs (``code``, or ``s3_bucket``/``s3_key``/
    ``s3_object_version``), as the backend deploys it; ``None`` while unknown. Sets
    ``code_ref`` (the code, one way of saying it), ``code_id`` (what names its bytes) and,
    for a local file, ``code_sha384``."""
    pending = frozenset(k for k in SETTINGS if is_unknown(inputs.get(k)))
    try:
        if any(is_unknown(inputs.get(k)) for k in CODE_INPUTS):
            backend.check_deployable(None, settings, pending=pending)
            return None, []
        code = judging.location_of(
            backend.check_deployable(code_from_inputs(inputs), settings, pending=pending)
        )
        if code is None:  # code_from_inputs raised already for code that is missing
            return None, []
        if isinstance(code, Path) and (
            not code.exists() or (settings is not None and not code.is_file())
        ):
            what = "not a file" if settings is not None else "neither a .zip file nor a directory"
            return None, [CheckFailure("code", f"{kind} input code: {str(code)!r} is {what}")]
        inputs["code_id"] = code_identity(code)
        if isinstance(code, Path):
            inputs["code_sha384"] = inputs["code_id"]  # what the policy pack compares
        inputs["code_ref"] = code_ref(code)
    except CodesignError as exc:
        return None, [input_failure(kind, exc, inputs)]
    return code, []


def code_to_deploy(props: dict[str, Any]) -> Path | S3Object:
    """The code a create or update deploys (``code_ref``, set by ``check``)."""
    code = judging.location_of(props.get("code_ref"))
    if code is None:
        raise CodesignError("code: not known at deploy time")
    return code


def default_lambda_name(inputs: dict[str, Any], olds: Mapping[str, Any], key: str) -> None:
    """Fill in ``inputs[key]``, a function's or layer's name (1-64 of ``[A-Za-z0-9-_]``),
    when the program gives none: the one already deployed, else the resource name plus a
    suffix derived from the stack and the resource."""
    if inputs.get(key) is None:
        inputs[key] = olds.get(key) or auto_name(
            inputs["logical_name"], "-", _NAME_ALPHABET, 64, inputs.get("name_seed")
        )


class CodeArgs(Protocol):
    """The arguments of a resource that deploys code (``LambdaFunctionArgs``,
    ``LayerVersionArgs``): where the code is."""

    @property
    def code(self) -> object:
        """A :class:`SignedPackage`, a path or an ``s3://`` location (or an output of one)."""

    @property
    def s3_bucket(self) -> object:
        """The code's S3 bucket, instead of ``code``."""

    @property
    def s3_key(self) -> object:
        """The code's S3 key."""

    @property
    def s3_object_version(self) -> object:
        """The code's S3 object version."""


def code_inputs(args: CodeArgs) -> dict[str, Any]:
    """The inputs that say where a function's or layer's code is (:data:`CODE_INPUTS`),
    and ``code_package`` (see :func:`code_input`)."""
    code, package = code_input(args.code)
    return {
        "code": code,
        "s3_bucket": args.s3_bucket,
        "s3_key": args.s3_key,
        "s3_object_version": args.s3_object_version,
        "code_package": package,
    }


def code_input(code: Any) -> tuple[Any, Any]:
    """The ``code`` and ``code_package`` inputs (program side): a :class:`SignedPackage`
    gives its signed object (on aws with its version) and who signs it; its own
    ``location`` or ``deploy_location`` output is that object, and says who signs it too;
    a path is made absolute (the provider host runs elsewhere); an ``s3://`` location is
    kept."""
    if isinstance(code, SignedPackage):
        return code.deploy_location, package_ref(code)
    if code is None:
        return None, None
    package = signed_package_of(code)
    return pulumi.Output.from_input(code).apply(
        lambda p: p if str(p).startswith("s3:") else str(Path(p).resolve())
    ), (package_ref(package) if package is not None else None)
