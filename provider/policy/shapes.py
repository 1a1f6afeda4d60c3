"""What the pack reads from each resource type it knows, as typed views (pure).

Property names and shapes, per type (tests/policy/recorded holds them as the engine sent
them, tests/policy/recorded_aws.py the providers' shapes):

- this project's dynamic resources (``pulumi-python:dynamic/codesign:*``): the ``props`` of
  ``provider/resources/*.py``, snake_case, inputs plus check's additions (a
  ``LambdaFunction``'s ``deploying``, ``code_package``, ``layers`` and ``publisher_refs``
  are what :mod:`provider.resources.judging` predicts from); ``LayerVersion``'s ``code``
  and ``code_sha384``;
- ``aws:lambda/function:Function``, ``aws:lambda/codeSigningConfig:CodeSigningConfig``,
  ``aws:lambda/layerVersion:LayerVersion``, ``aws:signer/signingProfile:SigningProfile``
  (pulumi-aws): the provider schema's camelCase names (``codeSigningConfigArn``,
  ``packageType``, ``imageUri``, ``s3Bucket``/``s3Key``/``s3ObjectVersion``, ``layers``;
  ``allowedPublishers.signingProfileVersionArns``,
  ``policies.untrustedArtifactOnDeployment``; ``signatureValidityPeriod {value, type}``,
  ``versionArn``);
- ``aws-native:lambda:Function`` / ``aws-native:lambda:CodeSigningConfig``: CloudFormation's
  ``AWS::Lambda::*`` schema in camelCase (``code {s3Bucket, s3Key, s3ObjectVersion,
  imageUri, zipFile}``, ``codeSigningConfigArn``, ``packageType``, ``layers``;
  ``allowedPublishers.signingProfileVersionArns``,
  ``codeSigningPolicies.untrustedArtifactOnDeployment``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provider.errors import CodesignError
from provider.objects import S3Object as PlainS3Object
from provider.policy.wire import UNKNOWN_VALUE, Unknown, is_unknown, normalized, text
from provider.policy.wire import field as at_path
from provider.prediction import KnownConfig
from provider.resources import judging
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY

_DYNAMIC = "pulumi-python:dynamic/codesign:"
LAMBDA_FUNCTION = _DYNAMIC + "LambdaFunction"
CODE_SIGNING_CONFIG = _DYNAMIC + "CodeSigningConfig"
SIGNED_PACKAGE = _DYNAMIC + "SignedPackage"
SIGNING_PROFILE = _DYNAMIC + "SigningProfile"
LAYER_VERSION = _DYNAMIC + "LayerVersion"
AWS_FUNCTION = "aws:lambda/function:Function"
AWS_CODE_SIGNING_CONFIG = "aws:lambda/codeSigningConfig:CodeSigningConfig"
AWS_LAYER_VERSION = "aws:lambda/layerVersion:LayerVersion"
AWS_SIGNING_PROFILE = "aws:signer/signingProfile:SigningProfile"
NATIVE_FUNCTION = "aws-native:lambda:Function"
NATIVE_CODE_SIGNING_CONFIG = "aws-native:lambda:CodeSigningConfig"

#: How each type is named in messages, with the input a user sets.
CSC_INPUT = {
    LAMBDA_FUNCTION: "code_signing_config",
    AWS_FUNCTION: "code_signing_config_arn",
    NATIVE_FUNCTION: "code_signing_config_arn",
}
POLICY_INPUT = {
    CODE_SIGNING_CONFIG: 'policy="Enforce"',
    AWS_CODE_SIGNING_CONFIG: 'policies={"untrusted_artifact_on_deployment": "Enforce"}',
    NATIVE_CODE_SIGNING_CONFIG: 'code_signing_policies={"untrusted_artifact_on_deployment": '
    '"Enforce"}',
}

Text = str | Unknown | None


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it: its properties in the wire shape, and which
    resources each property depends on (URNs)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def depends(self, *keys: str) -> tuple[str, ...]:
        """URNs that the named properties depend on, in order, without repeats."""
        seen: dict[str, None] = {}
        for key in keys:
            for urn in self.property_dependencies.get(key, ()):
                seen[urn] = None
        return tuple(seen)


@dataclass(frozen=True)
class S3Object:
    """Code in S3: ``version`` ``None`` means the key's latest version."""

    bucket: Text
    key: Text
    version: Text


@dataclass(frozen=True)
class LocalFile:
    """Code in a local .zip (this project's ``LambdaFunction``), hashed by ``check``."""

    path: Text
    sha384: Text


@dataclass(frozen=True)
class Inline:
    """Code given inline (a pulumi-aws ``code`` archive, aws-native ``zipFile``): the
    pack cannot read it."""

    what: str


#: How a function or layer gives its code in the program (as the pack sees it).
CodeSource = S3Object | LocalFile | Inline | Unknown | None


@dataclass(frozen=True)
class FunctionView:
    """A Lambda function of any of the three types."""

    resource: Resource
    image: bool
    csc_arn: Text
    code: CodeSource
    layers: tuple[Text, ...] | Unknown
    #: URNs its code signing config input and its code inputs depend on.
    csc_dependencies: tuple[str, ...]
    code_dependencies: tuple[str, ...]
    #: This project's LambdaFunction: its inputs (unknowns normalised), which carry what
    #: its prediction needs (its config's policy and publishers with the program's
    #: references to their profiles, who signs its package, its layers), read by
    #: :mod:`provider.resources.judging` as the resource's own ``check`` reads them.
    own_inputs: Mapping[str, Any] | None = None
    #: The config those inputs describe (``None``: none, or not this project's function).
    own_config: KnownConfig | None = None
    #: ``settings.now`` of this project's resources (stack config ``codesign:now``).
    now: str | None = None
    #: Whether this update deploys its code, and its layers. Only this project's
    #: LambdaFunction says when it does not (its ``check`` records it); for other types the
    #: pack cannot tell, and judges the code as deployed.
    deploys_code: bool = True
    deploys_layers: bool = True

    @property
    def has_config(self) -> bool:
        """Whether a code signing config governs the function (known or not yet)."""
        return self.csc_arn is not None or self.own_config is not None

    @property
    def label(self) -> str:
        """``function NAME``, as messages say it."""
        return f"function {self.resource.name}"


@dataclass(frozen=True)
class ConfigView:
    """A code signing config of any of the three types."""

    resource: Resource
    arn: Text
    policy: Text
    publishers: tuple[Text, ...] | Unknown
    #: URNs its allowed publishers depend on (the signing profiles it lists).
    publisher_dependencies: tuple[str, ...]


@dataclass(frozen=True)
class PackageView:
    """This project's ``SignedPackage``: a signature made (outputs known) or to be made."""

    resource: Resource
    location: Text
    bucket: Text
    key: Text
    object_version: Text
    profile_version_arn: Text
    job_id: Text
    signed_at: Text
    expires_at: Text
    revoked: bool | Unknown | None
    digest: Text
    profile_dependencies: tuple[str, ...]
    #: The reason of a ``signature_revocation`` input (applied by this update, if not yet).
    revocation_reason: Text = None


@dataclass(frozen=True)
class LayerView:
    """A layer version: this project's ``LayerVersion`` (a local .zip or directory), or
    pulumi-aws's (its code in S3, or inline)."""

    resource: Resource
    arn: Text
    code: CodeSource
    code_dependencies: tuple[str, ...]


@dataclass(frozen=True)
class ProfileView:
    """A signing profile: this project's ``SigningProfile`` or pulumi-aws's."""

    resource: Resource
    profile_name: Text
    profile_version_arn: Text
    #: ``{"value": V, "type": T}``; ``None`` means Signer's default (135 months).
    validity: Mapping[str, Any] | Unknown | None
    revoked_from: Text


def _texts(value: Any) -> tuple[Text, ...] | Unknown | None:
    if is_unknown(value):
        return UNKNOWN_VALUE
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(text(item) for item in value)
    return None


def _s3(bucket: Any, key: Any, version: Any) -> S3Object:
    return S3Object(text(bucket), text(key), text(version))


def _own_code(props: Mapping[str, Any]) -> CodeSource:
    """This project's ``LambdaFunction``/``LayerVersion`` code: a local .zip (local), or an S3
    object (aws backend: ``s3://bucket/key?versionId=V``, or ``s3_bucket``/``s3_key``)."""
    if any(props.get(k) is not None for k in ("s3_bucket", "s3_key")):
        return _s3(props.get("s3_bucket"), props.get("s3_key"), props.get("s3_object_version"))
    code = props.get("code")
    if isinstance(code, str) and code.startswith("s3:/"):
        try:
            parsed = PlainS3Object.parse(code, "code")
        except CodesignError:
            return Inline(f"an S3 location that is not one ({code!r})")
        return S3Object(parsed.bucket, parsed.key, parsed.version)
    return LocalFile(text(code), text(props.get("code_sha384")))


def function_view(resource: Resource) -> FunctionView | None:
    """The function view of a function resource; ``None`` for any other type."""
    props = resource.props
    if resource.type == LAMBDA_FUNCTION:
        inputs = normalized(props)
        deploying = props.get("deploying")
        if isinstance(deploying, Mapping):
            deploys = (deploying.get("code") is not False, deploying.get("layers") is not False)
        else:  # a state recorded before check said so
            deploys = (not _unchanged_since_deploy(props),) * 2
        return FunctionView(
            resource,
            image=False,
            csc_arn=text(props.get("code_signing_config_arn")),
            code=_own_code(props),
            layers=(),
            csc_dependencies=resource.depends(
                "code_signing_config_arn", "code_signing_policy", "allowed_publishers"
            ),
            code_dependencies=resource.depends(
                "code", "code_package", "s3_bucket", "s3_key", "s3_object_version"
            ),
            own_inputs=inputs,
            own_config=judging.known_config(inputs, None),
            now=_now_of(props),
            deploys_code=deploys[0],
            deploys_layers=deploys[1],
        )
    if resource.type == AWS_FUNCTION:
        image = props.get("packageType") == "Image" or bool(text(props.get("imageUri")))
        code: CodeSource
        if any(props.get(k) is not None for k in ("s3Bucket", "s3Key")):
            code = _s3(props.get("s3Bucket"), props.get("s3Key"), props.get("s3ObjectVersion"))
        elif props.get("code") is not None:
            code = Inline("a code archive (the code input)")
        else:
            code = None
        return FunctionView(
            resource,
            image=image,
            csc_arn=text(props.get("codeSigningConfigArn")),
            code=code,
            layers=_texts(props.get("layers")) or (),
            csc_dependencies=resource.depends("codeSigningConfigArn"),
            code_dependencies=resource.depends("s3Bucket", "s3Key", "s3ObjectVersion", "code"),
        )
    if resource.type == NATIVE_FUNCTION:
        source = props.get("code")
        image = props.get("packageType") == "Image" or bool(
            text(at_path(props, "code", "imageUri"))
        )
        if is_unknown(source):
            native_code: CodeSource = UNKNOWN_VALUE
        elif isinstance(source, Mapping) and source.get("zipFile") is not None:
            native_code = Inline("inline code (code.zipFile)")
        elif isinstance(source, Mapping):
            native_code = _s3(
                source.get("s3Bucket"), source.get("s3Key"), source.get("s3ObjectVersion")
            )
        else:
            native_code = None
        return FunctionView(
            resource,
            image=image,
            csc_arn=text(props.get("codeSigningConfigArn")),
            code=native_code,
            layers=_texts(props.get("layers")) or (),
            csc_dependencies=resource.depends("codeSigningConfigArn"),
            code_dependencies=resource.depends("code"),
        )
    return None


def config_view(resource: Resource) -> ConfigView | None:
    """The config view of a code signing config resource; ``None`` for any other type."""
    props = resource.props
    if resource.type == CODE_SIGNING_CONFIG:
        return ConfigView(
            resource,
            arn=text(props.get("arn")),
            policy=text(props.get("policy")) or DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value,
            publishers=_texts(props.get("allowed_publishers")) or (),
            publisher_dependencies=resource.depends("allowed_publishers"),
        )
    if resource.type in (AWS_CODE_SIGNING_CONFIG, NATIVE_CODE_SIGNING_CONFIG):
        policies = "policies" if resource.type == AWS_CODE_SIGNING_CONFIG else "codeSigningPolicies"
        # Lambda's default policy, when the block or the field is left out, is Warn.
        policy = (
            text(at_path(props, policies, "untrustedArtifactOnDeployment"))
            or DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
        )
        return ConfigView(
            resource,
            arn=text(
                props.get("arn")
                if resource.type == AWS_CODE_SIGNING_CONFIG
                else props.get("codeSigningConfigArn")
            ),
            policy=policy,
            publishers=_texts(at_path(props, "allowedPublishers", "signingProfileVersionArns"))
            or (),
            publisher_dependencies=resource.depends("allowedPublishers"),
        )
    return None


def package_view(resource: Resource) -> PackageView | None:
    """The view of this project's ``SignedPackage``; ``None`` for any other type."""
    if resource.type != SIGNED_PACKAGE:
        return None
    props = resource.props
    revoked = props.get("revoked")
    return PackageView(
        resource,
        location=text(props.get("location")),
        bucket=text(props.get("bucket")),
        key=text(props.get("key")),
        object_version=text(props.get("object_version")),
        profile_version_arn=text(props.get("profile_version_arn")),
        job_id=text(props.get("job_id")),
        signed_at=text(props.get("signed_at")),
        expires_at=text(props.get("signature_expires_at")),
        revoked=UNKNOWN_VALUE
        if is_unknown(revoked)
        else (bool(revoked) if revoked is not None else None),
        digest=text(props.get("digest")),
        profile_dependencies=resource.depends("profile_name"),
        revocation_reason=text(at_path(props, "signature_revocation", "reason")),
    )


def layer_view(resource: Resource) -> LayerView | None:
    """The view of a layer version (this project's or pulumi-aws's); ``None`` for any other
    type."""
    props = resource.props
    if resource.type == LAYER_VERSION:
        return LayerView(
            resource,
            arn=text(props.get("layer_version_arn")),
            code=_own_code(props),
            code_dependencies=resource.depends(
                "code", "code_package", "s3_bucket", "s3_key", "s3_object_version"
            ),
        )
    if resource.type != AWS_LAYER_VERSION:
        return None
    if any(props.get(k) is not None for k in ("s3Bucket", "s3Key")):
        code: CodeSource = _s3(
            props.get("s3Bucket"), props.get("s3Key"), props.get("s3ObjectVersion")
        )
    elif props.get("code") is not None:
        code = Inline("a code archive (the code input)")
    else:
        code = None
    return LayerView(
        resource,
        arn=text(props.get("arn")),
        code=code,
        code_dependencies=resource.depends("s3Bucket", "s3Key", "s3ObjectVersion", "code"),
    )


def profile_view(resource: Resource) -> ProfileView | None:
    """The view of a signing profile resource; ``None`` for any other type."""
    props = resource.props
    if resource.type == SIGNING_PROFILE:
        validity = props.get("signature_validity_period")
        return ProfileView(
            resource,
            profile_name=text(props.get("profile_name")),
            profile_version_arn=text(props.get("profile_version_arn")),
            validity=UNKNOWN_VALUE if is_unknown(validity) else validity,
            # Once recorded, the revocation's effective time; before that (this update
            # applies it), the input's.
            revoked_from=text(props.get("revocation_effective_from")) or _pending_revocation(props),
        )
    if resource.type == AWS_SIGNING_PROFILE:
        validity = props.get("signatureValidityPeriod")
        return ProfileView(
            resource,
            profile_name=text(props.get("name")),
            profile_version_arn=text(props.get("versionArn")),
            validity=UNKNOWN_VALUE if is_unknown(validity) else validity,
            revoked_from=None,
        )
    return None


def _now_of(props: Mapping[str, Any]) -> str | None:
    value = at_path(props, "settings", "now")
    return value if isinstance(value, str) and not is_unknown(value) else None


def _unchanged_since_deploy(props: Mapping[str, Any]) -> bool:
    """Whether a LambdaFunction's code and config are those its last deploy used (so this
    update deploys no code to it: Lambda judges nothing until the next code deploy)."""
    deployed, current = props.get("deployed_code_sha384"), props.get("code_sha384")
    last_config = at_path(props, "verdict", "codeSigningConfigArn")
    if not isinstance(deployed, str) or is_unknown(deployed) or deployed != current:
        return False
    return bool(last_config == props.get("code_signing_config_arn"))


def _pending_revocation(props: Mapping[str, Any]) -> Text:
    """A SigningProfile's ``revocation`` input's effective time, when it revokes the
    profile's current version (no ``profile_version`` given, or that one)."""
    version = at_path(props, "revocation", "profile_version")
    if version is not None and version != props.get("profile_version"):
        return None
    return text(at_path(props, "revocation", "effective_time"))
