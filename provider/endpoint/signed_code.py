"""Who signed deployed code, as Lambda reports it: ``SigningProfileVersionArn`` and
``SigningJobArn`` in a function's configuration (GetFunction, GetFunctionConfiguration,
ListFunctions, and each of its ``Layers``) and in a layer version's ``Content``
(PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn).

Lambda reads a package's signature when the code is deployed, so the signer is recorded
then, with the function version or layer version (:func:`record`, called by the hook on
moto's deploy paths), from the bytes that were judged; code that is unsigned, or whose
signature does not verify, has neither field. A layer has no code signing config and still
reports its signer on AWS, so a function's signed code does too, with or without a config.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from provider.endpoint import patching
from provider.inspect_package import TrustRecords, facts_from_bytes
from provider.verdict import ArtifactFacts

Document = dict[str, Any]
#: The response members, and the attributes of moto's function and layer version objects
#: that hold them (moto's LambdaFunction has these attributes and answers them already).
FIELDS = (
    ("SigningProfileVersionArn", "signing_profile_version_arn"),
    ("SigningJobArn", "signing_job_arn"),
)


def signer_fields(facts: ArtifactFacts) -> Document:
    """``{SigningProfileVersionArn, SigningJobArn}`` of code with ``facts``; empty for code
    that is unsigned or whose signature does not verify against its profile's key."""
    if (
        not facts.signed
        or facts.integrity_error is not None
        or facts.malformed is not None
        or not facts.publisher_known
        or facts.profile_version_arn is None
        or facts.job_id is None
    ):
        return {}
    # Signer's job ARN: the profile's partition, region and account (the job owner's).
    prefix = facts.profile_version_arn.split(":/signing-profiles/", 1)[0]
    return {
        "SigningProfileVersionArn": facts.profile_version_arn,
        "SigningJobArn": f"{prefix}:/signing-jobs/{facts.job_id}",
    }


def judged_fields(
    data: bytes | None, trust: TrustRecords, judged: Iterable[ArtifactFacts] = ()
) -> Document:
    """:func:`signer_fields` of a deployment's code ``data`` (reusing the facts a check
    already read from it, the first of ``judged`` named ``function ...``)."""
    if data is None:
        return {}
    for facts in judged:
        if facts.name.startswith("function "):
            return signer_fields(facts)
    return signer_fields(facts_from_bytes(data, trust))


def record(target: Any, fields: Document) -> None:
    """Keep ``fields`` on moto's function or layer version object (replacing an earlier
    deployment's: new code has its own signer, or none)."""
    for member, attribute in FIELDS:
        setattr(target, attribute, fields.get(member))


def recorded(target: Any) -> Document:
    """The fields kept on ``target`` (none for code deployed unsigned)."""
    found = ((member, getattr(target, attribute, None)) for member, attribute in FIELDS)
    return {member: value for member, value in found if value is not None}


def install() -> None:
    """Add the recorded fields to moto's answers (once per process)."""
    from moto.awslambda.models import LambdaFunction, LayerVersion

    get_configuration = patching.original(LambdaFunction, "get_configuration")
    layers_data = patching.original(LambdaFunction, "_get_layers_data")
    get_layer_version = patching.original(LayerVersion, "get_layer_version")

    def configuration(self: Any, on_create: bool = False) -> Document:
        answer: Document = get_configuration(self, on_create)
        for member, _ in FIELDS:
            answer.pop(member, None)  # moto answers null for unsigned code; AWS omits them
        answer.update(recorded(self))
        return answer

    def with_layer_signers(self: Any, arns: list[str]) -> list[Document]:
        # A function's layers as deployed: each with its signer (recorded at publish).
        backend = _backend_of(self)
        return [
            {**entry, **recorded(backend.layers_versions_by_arn(entry["Arn"]))}
            for entry in layers_data(self, arns)
        ]

    def layer_version(self: Any) -> Document:
        answer: Document = get_layer_version(self)
        answer["Content"] = {**answer["Content"], **recorded(self)}
        return answer

    patching.install(LambdaFunction, "get_configuration", configuration)
    patching.install(LambdaFunction, "_get_layers_data", with_layer_signers)
    patching.install(LayerVersion, "get_layer_version", layer_version)


def _backend_of(function: Any) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends[function.account_id][function.region]
