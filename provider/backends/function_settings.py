"""What a Lambda function and a layer version are made of, and the input rules both
backends share for them.

Fields are named as pulumi-aws names the inputs of ``aws.lambda_.Function`` and
``aws.lambda_.LayerVersion`` (``role``, ``memory_size``, ...), so a program and its error
messages read the same on either backend; :meth:`FunctionSettings.lambda_params` says
them as Lambda's API does. Every value is checked when the object is built, so a
:class:`FunctionSettings` that exists is valid, and nothing reaches a backend unchecked.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.archive import package_bytes
from provider.arns import FUNCTION_NAME_RE
from provider.errors import ValidationError
from provider.objects import S3Object, check_bucket
from provider.verdict import Check, CheckState, Verdict

if TYPE_CHECKING:
    from provider.backends.base import LambdaPart

#: A function's or layer's code: an S3 object or ``s3://bucket/key[?versionId=V]`` (aws),
#: or a local .zip (local).
Code = S3Object | str | Path

PACKAGE_ZIP = "Zip"
PACKAGE_IMAGE = "Image"
ARCHITECTURES = ("x86_64", "arm64")
#: What a function gets when the program does not say (Lambda's own defaults for memory,
#: timeout and architecture; runtime and handler as the project's examples use them).
DEFAULT_RUNTIME = "python3.12"
DEFAULT_HANDLER = "app.handler"
DEFAULT_MEMORY_SIZE = 128
DEFAULT_TIMEOUT = 3
DEFAULT_ARCHITECTURE = "x86_64"

# The botocore model's patterns and Lambda's documented quotas. (The model now admits
# more memory and longer timeouts, for Lambda Managed Instances and durable functions;
# a plain .zip function is limited to 10,240 MB and 900 s.)
_ROLE_RE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_RUNTIME_RE = re.compile(r"^[a-z][a-z0-9.]{0,63}$")
_HANDLER_RE = re.compile(r"^[^\s]{1,128}$")
_ENV_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
_LAYER_NAME_RE = re.compile(r"^[a-zA-Z0-9-_]{1,140}$")
_LAYER_VERSION_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9-_]{1,140}):(?P<version>[1-9][0-9]*)$"
)
_MEMORY_RANGE = (128, 10240)
_TIMEOUT_RANGE = (1, 900)
_MAX_LAYERS = 5
_MAX_ENVIRONMENT_BYTES = 4096
_MAX_TAGS = 50
#: Environment variables Lambda sets itself and refuses in a function's configuration.
RESERVED_ENVIRONMENT = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def _text(value: object, name: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValidationError(f"{name}: {value!r} {rule}", field=name)
    return value


def _integer(value: object, name: str, bounds: tuple[int, int], unit: str) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"{name}: {value!r} must be a whole number of {unit}, {low} to {high}", field=name
        )
    return value


def _description(value: object, name: str = "description", limit: int = 256) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"{name}: must be text of at most {limit} characters", field=name)
    return value


def _string_map(value: object, name: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(
            f"{name}: must be a mapping of text to text (got {value!r})", field=name
        )
    return dict(value)


def _environment(value: object) -> dict[str, str]:
    variables = _string_map(value, "environment")
    for key in variables:
        if not _ENV_NAME_RE.match(key):
            raise ValidationError(
                f"environment: variable name {key!r} must start with a letter and have at "
                "least two letters, digits or '_'",
                field="environment",
            )
        if key in RESERVED_ENVIRONMENT:
            raise ValidationError(
                f"environment: {key} is reserved; Lambda sets it for every function",
                field="environment",
            )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > _MAX_ENVIRONMENT_BYTES:
        raise ValidationError(
            f"environment: {size} bytes of variables; Lambda allows {_MAX_ENVIRONMENT_BYTES}",
            field="environment",
        )
    return variables


def _tags(value: object) -> dict[str, str]:
    tags = _string_map(value, "tags")
    if len(tags) > _MAX_TAGS:
        raise ValidationError(
            f"tags: {len(tags)} tags; a resource takes at most {_MAX_TAGS}", field="tags"
        )
    for key, text in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise ValidationError(
                f"tags: key {key!r} must be 1 to 128 characters and not start with 'aws:'",
                field="tags",
            )
        if len(text) > 256:
            raise ValidationError(
                f"tags: the value of {key!r} is longer than 256 characters", field="tags"
            )
    return tags


def _architectures(value: object, name: str, *, exactly_one: bool) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(
            f"{name}: must be a list such as ['x86_64'] (got {value!r})", field=name
        )
    chosen = tuple(value)
    bad = [a for a in chosen if a not in ARCHITECTURES]
    if bad:
        raise ValidationError(
            f"{name}: {bad[0]!r} is not one of {', '.join(ARCHITECTURES)}", field=name
        )
    if exactly_one and len(chosen) != 1:
        raise ValidationError(
            f"{name}: a function has exactly one architecture (got {list(chosen)})", field=name
        )
    if len(set(chosen)) != len(chosen):
        raise ValidationError(f"{name}: {list(chosen)} has duplicates", field=name)
    return chosen


def check_package_type(value: object) -> str:
    """``Zip``; ``Image`` is refused with the reason (code signing covers .zip only)."""
    if value == PACKAGE_IMAGE:
        raise ValidationError(
            "package_type: 'Image' is not supported: Lambda code signing covers .zip packages "
            "only (a container image is never checked against a code signing config); "
            "deploy the function as a signed .zip (package_type 'Zip')",
            field="package_type",
        )
    if value != PACKAGE_ZIP:
        raise ValidationError(f"package_type: {value!r} must be 'Zip'", field="package_type")
    return PACKAGE_ZIP


def check_role(role: str | None) -> str:
    """An IAM role ARN, required where Lambda runs the function (the aws backend)."""
    if role is None:
        raise ValidationError(
            "role: a function on AWS needs an execution role (arn:aws:iam::ACCOUNT:role/NAME)",
            field="role",
        )
    return _text(role, "role", _ROLE_RE, "is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")


def check_function_name(name: str, field_name: str = "FunctionName") -> str:
    """A function name: 1 to 64 letters, digits, '-' or '_'."""
    return _text(name, field_name, FUNCTION_NAME_RE, "must be 1 to 64 letters, digits, '-' or '_'")


def check_configuration_update(settings: FunctionSettings) -> None:
    """What UpdateFunctionConfiguration cannot change: the architecture goes with the code."""
    if settings.architectures is not None:
        raise ValidationError(
            "architectures: Lambda changes a function's architecture with its code; "
            "pass it to update_function_code",
            field="architectures",
        )


def check_layer_name(name: str) -> str:
    """A layer name: 1 to 140 letters, digits, '-' or '_'."""
    return _text(name, "layer_name", _LAYER_NAME_RE, "must be 1 to 140 letters, digits, '-' or '_'")


@dataclass(frozen=True)
class LayerVersionRef:
    """A parsed layer version ARN."""

    arn: str
    layer_name: str
    version: int


def parse_layer_version_arn(arn: str, field_name: str = "layers") -> LayerVersionRef:
    """Parse ``arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION``, or raise naming the field."""
    match = _LAYER_VERSION_ARN_RE.match(arn) if isinstance(arn, str) else None
    if not match:
        raise ValidationError(
            f"{field_name}: {arn!r} is not a layer version ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)",
            field=field_name,
        )
    return LayerVersionRef(arn, match["name"], int(match["version"]))


def check_layers(layers: Sequence[str]) -> list[str]:
    """At most five layer version ARNs, each once (Lambda's limits)."""
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise ValidationError(
            f"layers: must be a list of layer version ARNs (got {layers!r})", field="layers"
        )
    arns = [parse_layer_version_arn(arn).arn for arn in layers]
    if len(arns) > _MAX_LAYERS:
        raise ValidationError(
            f"layers: {len(arns)} layers; a function takes at most {_MAX_LAYERS}", field="layers"
        )
    if len(set(arns)) != len(arns):
        raise ValidationError("layers: the same layer version is listed twice", field="layers")
    return arns


@dataclass(frozen=True)
class FunctionSettings:
    """A function's configuration beyond its code, layers and code signing config.

    ``None`` means Lambda's default on create and "unchanged" on update.
    """

    role: str | None = None
    runtime: str | None = None
    handler: str | None = None
    memory_size: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = field(default=None, hash=False)
    architectures: Sequence[str] | None = None
    description: str | None = None
    tags: Mapping[str, str] | None = field(default=None, hash=False)
    publish: bool = False
    package_type: str = PACKAGE_ZIP

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        if self.role is not None:
            check_role(self.role)
        if self.runtime is not None:
            _text(self.runtime, "runtime", _RUNTIME_RE, "is not a Lambda runtime (e.g. python3.12)")
        if self.handler is not None:
            _text(self.handler, "handler", _HANDLER_RE, "must be 1 to 128 characters, no spaces")
        if self.memory_size is not None:
            _integer(self.memory_size, "memory_size", _MEMORY_RANGE, "MB")
        if self.timeout is not None:
            _integer(self.timeout, "timeout", _TIMEOUT_RANGE, "seconds")
        if self.environment is not None:
            set_(self, "environment", _environment(self.environment))
        if self.architectures is not None:
            set_(
                self,
                "architectures",
                _architectures(self.architectures, "architectures", exactly_one=True),
            )
        if self.description is not None:
            _description(self.description)
        if self.tags is not None:
            set_(self, "tags", _tags(self.tags))
        if not isinstance(self.publish, bool):
            raise ValidationError(
                f"publish: {self.publish!r} must be true or false", field="publish"
            )
        check_package_type(self.package_type)

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> FunctionSettings:
        """The settings among a resource's inputs (pulumi-aws names; others ignored).
        ``environment`` may be pulumi-aws's ``{"variables": {...}}`` or the mapping itself.
        Whole numbers may come as floats (Pulumi's wire format has only doubles)."""
        names = {f.name for f in fields(cls)}
        chosen: dict[str, Any] = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v
            for k, v in inputs.items()
            if k in names and v is not None
        }
        environment = chosen.get("environment")
        if (
            isinstance(environment, Mapping)
            and set(environment) == {"variables"}
            and isinstance(environment["variables"], Mapping)  # a variable's value is text
        ):
            chosen["environment"] = environment["variables"]
        return cls(**chosen)

    def with_defaults(self) -> FunctionSettings:
        """These settings, with what is not given as a new function gets it."""
        return replace(
            self,
            runtime=self.runtime or DEFAULT_RUNTIME,
            handler=self.handler or DEFAULT_HANDLER,
            memory_size=self.memory_size or DEFAULT_MEMORY_SIZE,
            timeout=self.timeout or DEFAULT_TIMEOUT,
            environment={} if self.environment is None else self.environment,
            architectures=self.architectures or (DEFAULT_ARCHITECTURE,),
            description="" if self.description is None else self.description,
            tags={} if self.tags is None else self.tags,
        )

    def update_to(self, new: FunctionSettings) -> FunctionSettings | None:
        """What UpdateFunctionConfiguration sets to go from these settings (as deployed)
        to ``new``: each field that differs once both have a new function's defaults (an
        input removed from the program goes back to Lambda's default); ``None`` when
        nothing does. The architecture is not among them: it changes with the code."""
        before, after = self.with_defaults(), new.with_defaults()
        changed = {
            f.name: getattr(after, f.name)
            for f in fields(after)
            if f.name not in ("publish", "package_type", "architectures")
            and _comparable(getattr(before, f.name)) != _comparable(getattr(after, f.name))
        }
        return FunctionSettings(**changed) if changed else None

    def merged(self, update: FunctionSettings) -> FunctionSettings:
        """These settings with every field ``update`` gives replaced."""
        given = {
            f.name: getattr(update, f.name)
            for f in fields(update)
            if f.name not in ("publish", "package_type") and getattr(update, f.name) is not None
        }
        return replace(self, **given)

    def lambda_params(self) -> dict[str, Any]:
        """The given fields as CreateFunction/UpdateFunctionConfiguration parameters
        (``Architectures`` and ``Tags`` go elsewhere on update, so they are not here)."""
        params: dict[str, Any] = {}
        for name, key in (
            ("role", "Role"),
            ("runtime", "Runtime"),
            ("handler", "Handler"),
            ("memory_size", "MemorySize"),
            ("timeout", "Timeout"),
            ("description", "Description"),
        ):
            if getattr(self, name) is not None:
                params[key] = getattr(self, name)
        if self.environment is not None:
            params["Environment"] = {"Variables": dict(self.environment)}
        return params

    def to_document(self) -> dict[str, Any]:
        """The given fields as GetFunction shows them (the local registry records this)."""
        document = self.lambda_params()
        if self.architectures is not None:
            document["Architectures"] = list(self.architectures)
        document["PackageType"] = self.package_type
        return document

    @classmethod
    def from_function(cls, function: Mapping[str, Any]) -> FunctionSettings:
        """The settings a GetFunction-like document shows (checked as any input is)."""
        return cls(**{k: v for k, v in read_back(function).items() if v is not None})


def read_back(function: Mapping[str, Any]) -> dict[str, Any]:
    """A GetFunction-like document's settings by their pulumi-aws names, unchecked (what
    was changed out of band may break the rules this project's inputs follow)."""
    environment = (function.get("Environment") or {}).get("Variables")
    return {
        "role": function.get("Role") or None,
        "runtime": function.get("Runtime") or None,
        "handler": function.get("Handler") or None,
        "memory_size": function.get("MemorySize"),
        "timeout": function.get("Timeout"),
        "environment": dict(environment or {}),
        "architectures": list(function.get("Architectures") or []) or None,
        "description": function.get("Description", ""),
        "tags": dict(function.get("Tags") or {}),
    }


@dataclass(frozen=True)
class LayerSettings:
    """A layer version's metadata (pulumi-aws ``LayerVersion`` names)."""

    compatible_runtimes: Sequence[str] = ()
    compatible_architectures: Sequence[str] = ()
    description: str | None = None
    license_info: str | None = None

    def __post_init__(self) -> None:
        runtimes = self.compatible_runtimes
        if isinstance(runtimes, str) or not isinstance(runtimes, Sequence) or len(runtimes) > 15:
            raise ValidationError(
                "compatible_runtimes: must be a list of at most 15 runtimes",
                field="compatible_runtimes",
            )
        for runtime in runtimes:
            _text(runtime, "compatible_runtimes", _RUNTIME_RE, "is not a Lambda runtime")
        object.__setattr__(self, "compatible_runtimes", tuple(runtimes))
        object.__setattr__(
            self,
            "compatible_architectures",
            _architectures(
                self.compatible_architectures, "compatible_architectures", exactly_one=False
            ),
        )
        if self.description is not None:
            _description(self.description)
        if self.license_info is not None:
            _description(self.license_info, "license_info", 512)

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> LayerSettings:
        """The settings among a ``LayerVersion``'s inputs (pulumi-aws names)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in inputs.items() if k in names and v is not None})

    def lambda_params(self) -> dict[str, Any]:
        """PublishLayerVersion's parameters for these settings."""
        params: dict[str, Any] = {}
        if self.compatible_runtimes:
            params["CompatibleRuntimes"] = list(self.compatible_runtimes)
        if self.compatible_architectures:
            params["CompatibleArchitectures"] = list(self.compatible_architectures)
        if self.description is not None:
            params["Description"] = self.description
        if self.license_info is not None:
            params["LicenseInfo"] = self.license_info
        return params


def code_from_inputs(inputs: Mapping[str, Any]) -> Code:
    """A function's or layer's code among a resource's inputs: pulumi-aws's ``s3_bucket``,
    ``s3_key`` and ``s3_object_version``, or ``code`` (a local .zip, or ``s3://...``)."""
    bucket, key = inputs.get("s3_bucket"), inputs.get("s3_key")
    code = inputs.get("code")
    if bucket is not None or key is not None:
        if code is not None:
            raise ValidationError(
                "code: give either code or s3_bucket and s3_key, not both", field="code"
            )
        if not isinstance(bucket, str) or not isinstance(key, str) or not key:
            raise ValidationError(
                "s3_key: s3_bucket and s3_key go together (the code's object)", field="s3_key"
            )
        version = inputs.get("s3_object_version")
        return S3Object(check_bucket(bucket, "s3_bucket"), key, str(version) if version else None)
    if isinstance(code, S3Object | Path):
        return code
    if not isinstance(code, str) or not code:
        raise ValidationError(
            "code: missing; give a local .zip (local backend), s3://BUCKET/KEY[?versionId=V], "
            "or s3_bucket, s3_key and s3_object_version",
            field="code",
        )
    return S3Object.parse(code, "code") if code.startswith("s3:/") else Path(code)


def code_identity(code: Code) -> str:
    """What names a deploy's bytes, for telling new code from the deployed: an S3 object's
    URI with its version (a version's bytes never change), or the SHA-384 (hex) of a local
    .zip, or of a directory zipped deterministically."""
    if isinstance(code, S3Object):
        return code.uri
    path = Path(code)
    data = package_bytes(path) if path.is_dir() else path.read_bytes()
    return hashlib.sha384(data).hexdigest()


def code_sha256(digest: bytes) -> str:
    """Lambda's ``CodeSha256``: the base64 of a package's SHA-256 digest."""
    return base64.b64encode(digest).decode("ascii")


def drift(
    deployed: Mapping[str, Any],
    *,
    csc_arn: str | None,
    code_sha256: str | None,
    settings: FunctionSettings | None = None,
    standing: Verdict | None = None,
) -> list[str]:
    """How a function read back (GetFunction + GetFunctionCodeSigningConfig) differs from
    what was deployed: the config detached, attached or replaced out of band, code that is
    not the signed package's, settings changed, and (from ``standing``, the verdict its
    deployed code would get now) a signature expired or revoked since. One sentence each."""
    name = deployed.get("FunctionName", "?")
    found: list[str] = []
    attached = deployed.get("CodeSigningConfigArn") or None
    if csc_arn and not attached:
        found.append(f"function {name!r}: code signing config {csc_arn} was detached out of band")
    elif attached and not csc_arn:
        found.append(f"function {name!r}: code signing config {attached} was attached out of band")
    elif attached != csc_arn:
        found.append(
            f"function {name!r}: code signing config {csc_arn} was replaced out of band by "
            f"{attached}"
        )
    deployed_sha = deployed.get("CodeSha256")
    if code_sha256 is not None and deployed_sha != code_sha256:
        found.append(
            f"function {name!r}: code changed out of band (CodeSha256 {deployed_sha} is not "
            f"the signed package's {code_sha256})"
        )
    for failed in standing.failed if standing is not None else ():
        if failed.check in (Check.EXPIRY, Check.REVOCATION):
            found.append(
                f"function {name!r}: since the deploy, {failed.message}; the function keeps "
                f"running, but its next deploy would fail the {failed.check.value} check"
            )
    undecided = [
        check.value
        for check, state in (standing.checks.items() if standing is not None else ())
        if check in (Check.EXPIRY, Check.REVOCATION) and state is CheckState.UNKNOWN
    ]
    if standing is not None and undecided:
        why = f" ({standing.facts.undecided})" if standing.facts.undecided else ""
        found.append(
            f"function {name!r}: its {', '.join(undecided)} check cannot be decided now{why}; "
            "its next deploy may fail it"
        )
    if settings is not None:
        current = read_back(deployed)
        for item, have in current.items():
            wanted = getattr(settings, item)
            if wanted is not None and _comparable(have) != _comparable(wanted):
                found.append(f"function {name!r}: {item} is {have!r} (deployed as {wanted!r})")
    return found


def refresh_drift(
    backend: LambdaPart,
    deployed: Mapping[str, Any],
    name: str,
    *,
    csc_arn: str | None,
    code: Code | None,
    code_sha256: str | None,
    settings: FunctionSettings | None,
    at: datetime | None,
) -> list[str]:
    """:func:`drift` of the function ``name`` as a backend's ``function_drift`` reads it:
    with ``at``, ``code`` (as the backend judges it) is also judged again under
    ``csc_arn`` then, so a signature expired or revoked since the deploy is found."""
    standing = (
        backend.evaluate_package(
            code, backend.csc_policy_of(csc_arn), at=at, name=f"function {name}"
        )
        if at is not None and code is not None and csc_arn
        else None
    )
    return drift(
        deployed, csc_arn=csc_arn, code_sha256=code_sha256, settings=settings, standing=standing
    )


def _comparable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return value
