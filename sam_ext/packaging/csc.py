"""Which code signing config a template's function is deployed under, if it can be known.

A literal ARN is looked up in the backend; ``!Ref``/``!GetAtt`` to an
``AWS::Lambda::CodeSigningConfig`` of the same template is read from its properties when
they are literal. Anything else is unknown until deploy. :meth:`CscResolution.known_config`
says what the prediction knows of it, publishers declared in the template included
(``!GetAtt Profile.ProfileVersionArn`` of an ``AWS::Signer::SigningProfile``: a profile
version the same deploy creates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provider.errors import CodesignError
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


def _publisher(template: Template, value: Any) -> Publisher:
    """One ``SigningProfileVersionArns`` item: a literal ARN, a profile the template
    declares (``!GetAtt Profile.ProfileVersionArn``), or unknown."""
    if isinstance(value, str):
        return Publisher(value)
    attribute = value.get("Fn::GetAtt") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(attribute, str):
        attribute = attribute.split(".", 1)
    if isinstance(attribute, list) and attribute[1:] == ["ProfileVersionArn"]:
        declared = template["Resources"].get(attribute[0])
        if isinstance(declared, dict) and declared.get("Type") == "AWS::Signer::SigningProfile":
            return Publisher(ref=str(attribute[0]))
    return Publisher()


def _from_template(
    template: Template, logical_id: str, parameters: dict[str, Any]
) -> CscResolution:
    resource = substitute(template["Resources"].get(logical_id, {}), parameters)
    if resource.get("Type") != "AWS::Lambda::CodeSigningConfig":
        return CscResolution(True, None, f"{logical_id} is not an AWS::Lambda::CodeSigningConfig")
    properties = resource.get("Properties") or {}
    arns = (properties.get("AllowedPublishers") or {}).get("SigningProfileVersionArns")
    policy = (properties.get("CodeSigningPolicies") or {}).get(
        "UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
    )
    if (
        not isinstance(arns, list)
        or not all(isinstance(a, str) for a in arns)
        or not isinstance(policy, str)
    ):
        return CscResolution(
            True,
            None,
            f"{logical_id}'s publishers or policy are computed",
            policy if isinstance(policy, str) else None,
            tuple(_publisher(template, a) for a in arns) if isinstance(arns, list) else None,
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
        return _from_template(template, referenced, parameters)
    return CscResolution(True, None, "the CodeSigningConfigArn is computed")
