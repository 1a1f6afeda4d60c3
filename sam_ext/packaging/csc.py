"""Which code signing config a template's function is deployed under, if it can be known.

A literal ARN is looked up in the backend; ``!Ref``/``!GetAtt`` to an
``AWS::Lambda::CodeSigningConfig`` of the same template is read from its properties when
they are literal. Anything else is unknown until deploy. :meth:`CscResolution.known_config`
says what the prediction knows of it, publishers declared in the template included
(``!GetAtt Profile.ProfileVersionArn`` of an ``AWS::Signer::SigningProfile``: a profile
version the same deploy creates), and ARNs built with ``Fn::Join``/``Fn::Sub`` from the
pseudo parameters ``AWS::Partition``, ``AWS::Region`` and ``AWS::AccountId`` (resolved with
the backend's :class:`~provider.arns.Location` when it knows it; CDK writes an imported
signing profile's version ARN so, with a double slash that makes it no profile version ARN
at all: a publisher known to match no signature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from provider.arns import Location, parse_profile_version_arn
from provider.errors import CodesignError, ValidationError
from provider.prediction import KnownConfig, Publisher
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY, CscPolicy, Policy
from sam_ext.packaging.resources import function_property
from sam_ext.parameters import substitute
from sam_ext.template import Template


@dataclass(frozen=True)
class CscResolution:
    """A function's CSC: ``policy`` when known; ``declared`` when it has one at all."""

    declared: bool
    policy: CscPolicy | None = None
    unknown_reason: str | None = None
    #: The policy's name when it is literal even though the publishers are not: enough
    #: to know that unsigned code will be rejected.
    policy_name: str | None = None
    #: The publishers as far as they are known when ``policy`` is not (``None``: the list
    #: itself is computed): literal ARNs, and profiles the same template declares.
    publishers: tuple[Publisher, ...] | None = None
    #: How messages name the config: its ARN, or its logical id in the template.
    label: str | None = None

    def known_config(self) -> KnownConfig | None:
        """The config as :func:`provider.prediction.predict` takes it (``None``: the
        function has none)."""
        if not self.declared:
            return None
        if self.policy is not None:
            return (
                KnownConfig.of(self.policy)
                if self.label is None
                else KnownConfig(
                    self.policy.policy,
                    tuple(Publisher(a) for a in self.policy.allowed_profile_version_arns),
                    self.label,
                )
            )
        return KnownConfig(self.policy_name, self.publishers, self.label)

    @property
    def template_profiles(self) -> tuple[str, ...]:
        """The logical ids of the publishers that are profiles the template declares."""
        return tuple(p.ref for p in self.publishers or () if p.arn is None and p.ref)

    @property
    def only_template_profiles(self) -> bool:
        """Whether every allowed publisher is a profile the same template creates: no
        package can be signed by one before this deploy, so it cannot satisfy the config."""
        publishers = self.publishers or ()
        return bool(publishers) and all(p.arn is None and p.ref for p in publishers)

    @property
    def enforced(self) -> bool:
        """Whether the config is known to enforce signatures."""
        name = self.policy.policy if self.policy is not None else self.policy_name
        return name == Policy.ENFORCE


def _referenced_id(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute[1:] == ["CodeSigningConfigArn"]:
            return str(attribute[0])
    return None


#: The pseudo parameters an ARN may be built from, and a value each could take (only to
#: tell whether any value makes a profile version ARN of a shape).
_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "0" * 12}


def _pseudo_values(backend: Any) -> dict[str, str]:
    """The pseudo parameters the backend's location gives (none when it cannot say: an
    aws backend whose caller account cannot be asked)."""
    try:
        location = getattr(backend, "location", None)
    except CodesignError:
        return {}
    if not isinstance(location, Location):
        return {}
    return {
        "AWS::Partition": location.partition,
        "AWS::Region": location.region,
        "AWS::AccountId": location.account,
    }


def _text(value: Any, pseudo: dict[str, str]) -> str | None:
    """``value`` as text, pseudo parameters the backend does not know left as
    ``${AWS::Region}``; ``None`` when some part is computed otherwise."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ref = value.get("Ref")
    if isinstance(ref, str):
        return pseudo.get(ref, f"${{{ref}}}") if ref in _PSEUDO else None
    join = value.get("Fn::Join")
    if isinstance(join, list) and len(join) == 2 and isinstance(join[0], str):
        parts = [_text(p, pseudo) for p in join[1]] if isinstance(join[1], list) else [None]
        return None if any(p is None for p in parts) else join[0].join(map(str, parts))
    sub = value.get("Fn::Sub")
    if isinstance(sub, str):
        names = set(_SUB_VARIABLE.findall(sub))
        if not names <= set(_PSEUDO):
            return None
        return _SUB_VARIABLE.sub(lambda m: pseudo.get(m[1], m[0]), sub).replace("${!", "${")
    return None


_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]*)\}")


def is_profile_version_arn(arn: str) -> bool:
    """Whether ``arn`` is a signing profile version ARN (as Signer gives one)."""
    try:
        parse_profile_version_arn(arn)
    except ValidationError:
        return False
    return True


def _literal(value: Any, pseudo: dict[str, str]) -> str | None:
    """A ``SigningProfileVersionArns`` item as the text Lambda stores, when known: a
    literal, or one built from pseudo parameters the backend knows."""
    text = _text(value, pseudo)
    return text if text is not None and not _UNRESOLVED.search(text) else None


_UNRESOLVED = re.compile(r"\$\{AWS::(Partition|Region|AccountId)\}")


def resolve_publishers(arns: Any, backend: Any) -> Any:
    """``SigningProfileVersionArns`` with the items built from pseudo parameters the
    backend knows made text (as CloudFormation passes them to Lambda); the rest as is."""
    if not isinstance(arns, list) or all(isinstance(a, str) for a in arns):
        return arns
    pseudo = _pseudo_values(backend)
    return [_literal(a, pseudo) or a for a in arns]


def _publisher(template: Template, value: Any, pseudo: dict[str, str]) -> Publisher:
    """One ``SigningProfileVersionArns`` item: a literal ARN (or one built from pseudo
    parameters), a profile the template declares (``!GetAtt Profile.ProfileVersionArn``),
    or unknown. An ARN whose unknown region or account cannot make it a profile version
    ARN whatever they are (CDK's ``://signing-profiles/``) is known: it matches no
    signature."""
    text = _text(value, pseudo)
    if text is not None:
        if not _UNRESOLVED.search(text):
            return Publisher(text)
        if not is_profile_version_arn(_UNRESOLVED.sub(lambda m: _PSEUDO[m[0][2:-1]], text)):
            return Publisher(text)
        return Publisher()  # a well-formed ARN in an account or region not known here
    attribute = value.get("Fn::GetAtt") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(attribute, str):
        attribute = attribute.split(".", 1)
    if isinstance(attribute, list) and attribute[1:] == ["ProfileVersionArn"]:
        declared = template["Resources"].get(attribute[0])
        if isinstance(declared, dict) and declared.get("Type") == "AWS::Signer::SigningProfile":
            return Publisher(ref=str(attribute[0]))
    return Publisher()


def _from_template(
    template: Template, logical_id: str, parameters: dict[str, Any], backend: Any
) -> CscResolution:
    resource = substitute(template["Resources"].get(logical_id, {}), parameters)
    if resource.get("Type") != "AWS::Lambda::CodeSigningConfig":
        return CscResolution(True, None, f"{logical_id} is not an AWS::Lambda::CodeSigningConfig")
    properties = resource.get("Properties") or {}
    for name in ("AllowedPublishers", "CodeSigningPolicies"):
        if not isinstance(properties.get(name) or {}, dict):
            raise ValidationError(
                f"resource {logical_id}: {name} must be a mapping, "
                f"not {type(properties[name]).__name__}"
            )
    arns = (properties.get("AllowedPublishers") or {}).get("SigningProfileVersionArns")
    policy = (properties.get("CodeSigningPolicies") or {}).get(
        "UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
    )
    arns = resolve_publishers(arns, backend)
    if (
        not isinstance(arns, list)
        or not all(isinstance(a, str) for a in arns)
        or not isinstance(policy, str)
    ):
        pseudo = _pseudo_values(backend) if isinstance(arns, list) else {}
        return CscResolution(
            True,
            None,
            f"{logical_id}'s publishers or policy are computed",
            policy if isinstance(policy, str) else None,
            tuple(_publisher(template, a, pseudo) for a in arns)
            if isinstance(arns, list)
            else None,
            logical_id,
        )
    return CscResolution(True, CscPolicy(tuple(arns), policy, None), label=logical_id)


def resolve_csc(
    template: Template,
    resource: dict[str, Any],
    backend: Any,
    parameters: dict[str, Any] | None = None,
) -> CscResolution:
    """Resolve the ``CodeSigningConfigArn`` of a function resource (``parameters`` are
    substituted for ``Ref``s to template parameters)."""
    parameters = parameters or {}
    value = substitute(function_property(template, resource, "CodeSigningConfigArn"), parameters)
    return resolve_csc_value(template, value, backend, parameters)


def resolve_csc_value(
    template: Template, value: Any, backend: Any, parameters: dict[str, Any]
) -> CscResolution:
    """Resolve a ``CodeSigningConfigArn`` value of ``template`` (parameters substituted).
    A nested stack's parameter may hold a resolution already: the one its parent's value
    for it had (see :func:`sam_ext.packaging.nested.child_parameters`)."""
    if value is None:
        return CscResolution(False)
    if isinstance(value, CscResolution):
        return value
    if isinstance(value, str):
        try:
            return CscResolution(True, backend.csc_policy_of(value))
        except CodesignError as exc:
            return CscResolution(True, None, f"{value} is not known to the backend ({exc.message})")
    referenced = _referenced_id(value)
    if referenced is not None:
        return _from_template(template, referenced, parameters, backend)
    return CscResolution(True, None, "the CodeSigningConfigArn is computed")
