"""The pack's policies (pulumi-policy objects) and :func:`serve`.

Every policy's enforcement level can be set with ``--policy-pack-config`` (``disabled``,
``advisory`` or ``mandatory``); pulumi-policy gives all violations of one policy that
policy's level, so the verdict's halves are separate policies:

- ``lambda-code-signing-verdict`` (mandatory), a resource policy: deploys of this
  project's ``LambdaFunction`` (code and each layer) that Lambda would reject, judged from
  the function's own inputs. The engine runs resource policies as each resource is
  checked, so they are reported even when the program itself fails the preview (it does
  on every predicted rejection, and the engine then runs no stack policy);
- ``lambda-code-signing-verdict-aws`` (mandatory), a stack policy: the same for
  pulumi-aws and aws-native functions and layers, which need joins across the stack
  (function -> config -> package -> profile);
- ``lambda-code-signing-verdict-warn`` (advisory), a stack policy: deploys that would go
  ahead with a warning, and code already deployed that its next deploy would see
  rejected (its standing: deployed code keeps running), of every function type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from provider.clock import format_instant, parse_instant, utcnow
from provider.errors import CodesignError
from provider.policy.joins import EMPTY, Judged, Stack, own_predictions, predictions
from provider.policy.shapes import (
    CSC_INPUT,
    POLICY_INPUT,
    Resource,
    config_view,
    function_view,
    profile_view,
)
from provider.policy.wire import Unknown, plain
from provider.resources import judging
from provider.validity import ValidityPeriod
from provider.verdict import Decision, Policy

PACK_NAME = "lambda-codesign"
REQUIRED = "lambda-code-signing-required"
ENFORCE = "lambda-code-signing-enforce"
VERDICT = "lambda-code-signing-verdict"
VERDICT_AWS = "lambda-code-signing-verdict-aws"
VERDICT_WARN = "lambda-code-signing-verdict-warn"
EXPIRY_WINDOW = "signature-expiry-window"
VALIDITY_MAX = "signing-profile-validity-max"

DEFAULT_EXPIRY_DAYS = 30
DEFAULT_VALIDITY_MONTHS = 12
#: Mean days in a month, to hold DAYS validity periods to a bound in months.
_DAYS_PER_MONTH = 365.25 / 12

IMAGE_EXEMPTION = (
    "container image functions are exempt: Lambda code signing covers .zip packages only"
)


def _resource(args: ResourceValidationArgs) -> Resource:
    return Resource(args.urn, args.resource_type, args.name, plain(args.props))


def _config_int(config: Mapping[str, Any] | None, key: str, default: int) -> int:
    value = (config or {}).get(key, default)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def instant(stack_config_now: str | None) -> datetime:
    """The instant verdicts are judged at: stack config ``codesign:now``, else now."""
    if stack_config_now:
        try:
            return parse_instant(stack_config_now, field="codesign:now")
        except CodesignError:
            pass  # the resources' own check reports a malformed codesign:now
    return utcnow()


def _stack_now() -> datetime:
    import pulumi

    return instant(pulumi.Config("codesign").get("now"))


# -- lambda-code-signing-required ---------------------------------------------------------


def required_violation(resource: Resource) -> str | None:
    """Why a zip function lacks a code signing config, or ``None`` (has one, or exempt)."""
    function = function_view(resource)
    if function is None or function.image or function.has_config:
        return None
    return (
        f"{function.label} ({resource.type}) has no code signing config, so Lambda deploys "
        f"any code to it, signed or not. Set {CSC_INPUT[resource.type]} to a code signing "
        "config that lists your signing profiles, with policy Enforce."
    )


def _validate_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    resource = _resource(args)
    function = function_view(resource)
    if function is not None and function.image:
        args.not_applicable(f"{function.label}: {IMAGE_EXEMPTION}")
        return
    message = required_violation(resource)
    if message:
        report(message, None)


# -- lambda-code-signing-enforce ----------------------------------------------------------


def enforce_violation(resource: Resource) -> str | None:
    """Why a code signing config does not enforce, or ``None``."""
    config = config_view(resource)
    if config is None or not isinstance(config.policy, str) or config.policy == Policy.ENFORCE:
        return None
    return (
        f"code signing config {resource.name} uses UntrustedArtifactOnDeployment="
        f"{config.policy}: Lambda deploys unsigned, untrusted, expired or revoked code with "
        "only a warning (the SignatureValidationErrors metric). Set "
        f"{POLICY_INPUT[resource.type]}."
    )


def _validate_enforce(args: ResourceValidationArgs, report: ReportViolation) -> None:
    message = enforce_violation(_resource(args))
    if message:
        report(message, None)


# -- signing-profile-validity-max ---------------------------------------------------------


def validity_violation(resource: Resource, max_months: int) -> str | None:
    """Why a profile's signatures stay valid too long, or ``None``."""
    profile = profile_view(resource)
    if profile is None or isinstance(profile.validity, Unknown):
        return None
    try:
        validity = ValidityPeriod.from_document(dict(profile.validity or {}) or None)
    except CodesignError:
        return None  # the resource's own check reports a malformed period
    months = {
        "DAYS": validity.value / _DAYS_PER_MONTH,
        "MONTHS": float(validity.value),
        "YEARS": validity.value * 12.0,
    }[validity.type]
    if months <= max_months:
        return None
    given = (
        "Signer's default of 135 MONTHS"
        if profile.validity is None
        else (f"{validity.value} {validity.type}")
    )
    return (
        f"signing profile {resource.name}: its signatures stay valid for {given}, more than "
        f"the {max_months} months allowed. Set its signature validity period to at most "
        f"{max_months} MONTHS (a new profile: the period cannot change in place)."
    )


def _validate_validity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = _config_int(args.get_config(), "months", DEFAULT_VALIDITY_MONTHS)
    message = validity_violation(_resource(args), limit)
    if message:
        report(message, None)


# -- stack policies: verdicts and expiry ----------------------------------------------------


def _stack(args: StackValidationArgs) -> Stack:
    resources = [
        Resource(
            r.urn,
            r.resource_type,
            r.name,
            plain(r.props),
            {key: [d.urn for d in deps] for key, deps in (r.property_dependencies or {}).items()},
        )
        for r in args.resources
    ]
    return Stack.of(resources)


def verdict_message(judged: Judged) -> str:
    """A rejection or warning, naming the function (or layer), the config and the fix."""
    prediction = judged.prediction
    if judged.function.own_inputs is not None:
        remedies = judging.remedies([prediction])  # what a Pulumi user of this project does
    else:
        remedies = " ".join(dict.fromkeys(f.remedy for f in prediction.failed))
    if prediction.decision is Decision.REJECT:
        outcome = f"would be rejected by {judged.config_name} with {prediction.exception}"
    else:
        outcome = f"would deploy with a warning under {judged.config_name}"
    if not judged.deploying:
        return (
            f"{judged.label}: its deployed code keeps running (this update deploys no "
            f"code to it), but its next code deploy {outcome}: {prediction.reasons}. To fix: "
            f"{remedies}"
        )
    return f"{judged.label}: the next deploy {outcome}: {prediction.reasons}. To fix: {remedies}"


def rejected(judged: Judged) -> bool:
    """Whether a deploy this update makes would be rejected (a failure)."""
    return judged.prediction.decision is Decision.REJECT and judged.deploying


def warned(judged: Judged) -> bool:
    """Whether a deploy would go ahead with a warning, or deployed code not redeployed
    would be rejected at its next deploy (its standing: never a failure)."""
    decision = judged.prediction.decision
    return decision is Decision.WARN or (decision is Decision.REJECT and not judged.deploying)


def function_rejections(resource: Resource, at: datetime) -> list[str]:
    """The rejected deploys of this project's ``LambdaFunction`` ``resource`` (code, then
    each layer), from its own inputs."""
    function = function_view(resource)
    if function is None or function.own_inputs is None:
        return []
    return [verdict_message(j) for j in own_predictions(function, EMPTY, at) if rejected(j)]


def joined_rejections(stack: Stack, at: datetime) -> list[tuple[str, str]]:
    """``(urn, message)`` of the rejected deploys of pulumi-aws and aws-native functions
    and layers (this project's functions are :func:`function_rejections`')."""
    return [
        (j.function.resource.urn, verdict_message(j))
        for j in predictions(stack, at)
        if j.function.own_inputs is None and rejected(j)
    ]


def warnings(stack: Stack, at: datetime) -> list[tuple[str, str]]:
    """``(urn, message)`` of every warned deploy and every rejected standing."""
    return [
        (j.function.resource.urn, verdict_message(j)) for j in predictions(stack, at) if warned(j)
    ]


def expiry_violations(stack: Stack, at: datetime, days: int) -> list[tuple[str, str]]:
    """``(urn, message)`` of every signature deployed (or about to be) that expires within
    ``days`` days of ``at`` (one already expired is a verdict, not a warning of this)."""
    window = timedelta(days=days)
    found: list[tuple[str, str]] = []
    for judged in predictions(stack, at):
        expires = judged.expires_at
        evaluated = judged.at or at
        if expires is None or not evaluated < expires <= evaluated + window:
            continue
        left = expires - evaluated
        whose = (
            f"SignedPackage {judged.package.resource.name}'s signature"
            if judged.package
            else "the signature of its code"
        )
        found.append(
            (
                judged.function.resource.urn,
                f"{judged.label}: {whose} expires at {format_instant(expires)}, in "
                f"{left.days} days {left.seconds // 3600} hours (window: {days} days); after "
                "that every deploy of this code fails the expiry check. Sign it again before "
                "then.",
            )
        )
    return found


def _validate_verdict(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in function_rejections(_resource(args), _stack_now()):
        report(message, None)


def _validate_joined(args: StackValidationArgs, report: ReportViolation) -> None:
    for urn, message in joined_rejections(_stack(args), _stack_now()):
        report(message, urn)


def _validate_warnings(args: StackValidationArgs, report: ReportViolation) -> None:
    for urn, message in warnings(_stack(args), _stack_now()):
        report(message, urn)


def _validate_expiry(args: StackValidationArgs, report: ReportViolation) -> None:
    days = _config_int(args.get_config(), "days", DEFAULT_EXPIRY_DAYS)
    for urn, message in expiry_violations(_stack(args), _stack_now(), days):
        report(message, urn)


def policies() -> list[Any]:
    """The pack's policies, with their default enforcement levels."""
    return [
        ResourceValidationPolicy(
            name=REQUIRED,
            description="Every .zip Lambda function has a code signing config.",
            validate=_validate_required,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name=ENFORCE,
            description="Every Lambda code signing config uses the Enforce policy.",
            validate=_validate_enforce,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name=VERDICT,
            description="No LambdaFunction's next deploy (its code or a layer) would be "
            "rejected by Lambda.",
            validate=_validate_verdict,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        StackValidationPolicy(
            name=VERDICT_AWS,
            description="No pulumi-aws or aws-native function's or layer's next deploy would "
            "be rejected by Lambda.",
            validate=_validate_joined,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        StackValidationPolicy(
            name=VERDICT_WARN,
            description="No deploy would pass only with a warning, and no deployed code "
            "would be rejected at its next deploy.",
            validate=_validate_warnings,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
        StackValidationPolicy(
            name=EXPIRY_WINDOW,
            description="No signature that is or will be deployed expires soon.",
            validate=_validate_expiry,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "days": {"type": "integer", "minimum": 1, "default": DEFAULT_EXPIRY_DAYS}
                },
            ),
        ),
        ResourceValidationPolicy(
            name=VALIDITY_MAX,
            description="Signing profiles' signatures stay valid for a bounded time.",
            validate=_validate_validity,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "months": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 135,
                        "default": DEFAULT_VALIDITY_MONTHS,
                    }
                },
            ),
        ),
    ]


#: The ``--policy-pack-config`` key that sets every policy's level (the engine's own).
ALL_POLICIES = "all"


def unknown_policies_message(configured: Iterable[str], known: Sequence[str]) -> str | None:
    """Why a ``--policy-pack-config`` naming policies this pack does not have is refused
    (each unknown name, and the known ones), or ``None`` when every name is known."""
    unknown = sorted(set(configured) - set(known) - {ALL_POLICIES})
    if not unknown:
        return None
    which = "a policy" if len(unknown) == 1 else "policies"
    return (
        f"policy pack {PACK_NAME}: the policy pack config names {which} this pack does not "
        f"have: {', '.join(unknown)} (a misspelt name would leave its level unchanged); "
        f"its policies are: {', '.join(known)} (or {ALL_POLICIES!r} for every one)"
    )


def _refuse_unknown_policies(known: Sequence[str]) -> None:
    """Make the pack's ``Configure`` (where the engine hands it the config, every key of
    the config file included) refuse names it does not know: the engine then fails the
    preview with the message. pulumi-policy itself accepts any name silently."""
    import grpc  # type: ignore[import-untyped]
    from pulumi_policy import policy as sdk

    servicer = sdk._PolicyAnalyzerServicer
    configure: Callable[..., Any] = servicer.Configure

    def checked(self: Any, request: Any, context: Any) -> Any:
        message = unknown_policies_message(request.policyConfig, known)
        if message is not None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        return configure(self, request, context)

    setattr(servicer, "Configure", checked)  # noqa: B010 (a method, replaced)


def serve() -> None:
    """Serve the pack to the engine (blocks; pulumi-policy prints the port first)."""
    pack = policies()
    _refuse_unknown_policies([policy.name for policy in pack])
    PolicyPack(name=PACK_NAME, policies=pack)
