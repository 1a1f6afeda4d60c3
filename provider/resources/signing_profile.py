"""``SigningProfile``: an AWS Signer signing profile (a trusted publisher)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import partial
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from provider.arns import PLATFORM_LAMBDA
from provider.backends import values
from provider.clock import format_instant, parse_instant
from provider.errors import NotFoundError, ValidationError
from provider.resources._base import (
    CodesignProvider,
    auto_name,
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
from provider.resources.origins import mark
from provider.validity import ValidityPeriod

_REPLACING = ("profile_name", "platform_id", "signature_validity_period")
_NAME_ALPHABET = string.ascii_letters + string.digits + "_"


@dataclass
class ProfileRevocation:
    """Revoke the profile version: signatures made from ``effective_time`` on are untrusted.

    Irreversible: once applied it can only be moved earlier, never removed.
    """

    reason: str
    effective_time: str
    profile_version: str | None = None

    def to_input(self) -> dict[str, Any]:
        """The resource input shape."""
        return {
            "reason": self.reason,
            "effective_time": self.effective_time,
            "profile_version": self.profile_version,
        }


@dataclass
class SigningProfileArgs:
    """Inputs of :class:`SigningProfile`."""

    #: 2-64 of ``[A-Za-z0-9_]``; default: the resource name plus a suffix derived from the
    #: stack and the resource (the same in preview and up). Names are
    #: never reused (as on AWS), so changing the validity of a named profile is refused.
    profile_name: pulumi.Input[str] | None = None
    #: ``{"value": N, "type": "DAYS"|"MONTHS"|"YEARS"}``; default 135 months.
    signature_validity_period: pulumi.Input[dict[str, Any]] | None = None
    platform_id: pulumi.Input[str] = PLATFORM_LAMBDA
    revocation: ProfileRevocation | None = None
    #: Backend overrides (default: stack config ``codesign:backend``, ``codesign:home``,
    #: ``codesign:region``).
    backend: str | None = None
    home: str | None = None
    region: str | None = None


class SigningProfileProvider(CodesignProvider):
    """Lifecycle: create puts the profile; name/platform/validity changes replace it;
    delete cancels it; revocation is an irreversible in-place update."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, and refuse to undo or postpone a revocation."""
        inputs = dict(news)
        if inputs.get("signature_validity_period") is None:
            inputs["signature_validity_period"] = ValidityPeriod.default().to_document()
        failures = check_inputs(inputs, "resource-signing-profile", "SigningProfile")
        old_name = olds.get("profile_name")
        if inputs.get("profile_name") is None and not failures:
            changed = any(olds.get(k) != inputs.get(k) for k in _REPLACING[1:])
            inputs["profile_name"] = old_name if old_name and not changed else _free_name(inputs)
            inputs["auto_named"] = True
        elif inputs.get("auto_named") is None:
            inputs["auto_named"] = False
        if not failures and not is_unknown(inputs.get("signature_validity_period")):
            try:
                inputs["signature_validity_period"] = ValidityPeriod.from_document(
                    inputs["signature_validity_period"]
                ).to_document()
            except ValidationError as exc:
                failures.append(_failure("signature_validity_period", str(exc)))
        if (
            olds
            and not inputs["auto_named"]
            and olds.get("profile_name") == inputs.get("profile_name")
        ):
            for key in _REPLACING[1:]:
                if olds.get(key) != inputs.get(key):
                    failures.append(
                        _failure(
                            key,
                            f"changing {key} replaces the profile, and profile name "
                            f"{inputs['profile_name']!r} can never be reused (AWS keeps canceled "
                            "names); give a new profileName or omit it for auto-naming",
                        )
                    )
        failures.extend(_revocation_failures(olds.get("revocation"), inputs.get("revocation")))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on name/platform/validity; revocation updates in place."""
        replaces = [k for k in _REPLACING if olds.get(k) != news.get(k)]
        changes = bool(replaces) or olds.get("revocation") != news.get("revocation")
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """PutSigningProfile (+ RevokeSigningProfile when a revocation is given)."""
        with reported():
            backend = backend_of(props)
            now = now_of(props)
            created = backend.put_signing_profile(
                props["profile_name"],
                platform_id=props["platform_id"],
                validity=ValidityPeriod.from_document(props["signature_validity_period"]),
                tags=None,
                now=now,
            )
            outs = {**props, **_outputs(backend.signing_profile(props["profile_name"]))}
            if props.get("revocation"):
                outs = self._revoke(props, now)
        return CreateResult(created["profileVersionArn"], outs)

    def _revoke(self, props: dict[str, Any], now: Any) -> dict[str, Any]:
        backend = backend_of(props)
        profile = backend.signing_profile(props["profile_name"])
        revocation = props["revocation"]
        backend.revoke_signing_profile(
            props["profile_name"],
            revocation.get("profile_version") or profile.profile_version,
            revocation["reason"],
            parse_instant(revocation["effective_time"], field="revocation.effectiveTime"),
            now=now,
        )
        return {**props, **_outputs(backend.signing_profile(props["profile_name"]))}

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply (or move earlier) the revocation."""
        with reported():
            if news.get("revocation") and news["revocation"] != olds.get("revocation"):
                return UpdateResult(self._revoke(news, now_of(news)))
            profile = backend_of(news).signing_profile(news["profile_name"])
        return UpdateResult({**news, **_outputs(profile)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh status and revocation from the backend (a profile the backend no
        longer has is dropped from state)."""
        with reported():
            try:
                profile = backend_of(props).signing_profile(props["profile_name"])
            except NotFoundError:
                return gone()
        return ReadResult(id_, {**props, **_outputs(profile)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """CancelSigningProfile: it signs no more; signatures it made stay valid (a profile
        already gone is deleted)."""
        with reported(), missing_is_deleted():
            backend_of(props).cancel_signing_profile(props["profile_name"], now=now_of(props))


def _free_name(inputs: dict[str, Any]) -> str:
    """The first auto-name (see :func:`auto_name`) no profile has ever had: AWS never
    reuses a name, canceled ones included. The same in a preview and its up, and in the
    engine's second check of a replacement (which has no old inputs)."""
    for generation in range(100):
        name = auto_name(
            inputs["logical_name"], "_", _NAME_ALPHABET, 64, inputs.get("name_seed"), generation
        )
        if is_unknown(inputs.get("settings")):
            return name
        found = checked(partial(backend_of(inputs).signing_profile, name), "profile_name")
        if not isinstance(found, values.SigningProfile):
            return name
    raise ValidationError(
        f"profile_name: 100 auto-names of {inputs['logical_name']!r} are taken; give a name"
    )


def _failure(field: str, reason: str) -> Any:
    from pulumi.dynamic import CheckFailure

    return CheckFailure(field, f"SigningProfile input {field}: {reason}")


def _revocation_failures(old: Any, new: Any) -> list[Any]:
    if not old or is_unknown(old):
        return []
    if not new:
        return [
            _failure(
                "revocation",
                "the profile was revoked, and revocation is irreversible: keep the revocation "
                "input (it may only move earlier); to stop using this profile, replace it",
            )
        ]
    if is_unknown(new):
        return []
    new_time, old_time = (
        r.get("effective_time") if isinstance(r, dict) else None for r in (new, old)
    )
    if not isinstance(new_time, str) or not isinstance(old_time, str):
        return []  # a malformed revocation: check_inputs names it (the schema's failure)
    try:
        later = parse_instant(new_time, field="revocation.effectiveTime") > parse_instant(
            old_time, field="revocation.effectiveTime"
        )
    except ValidationError:
        return []  # likewise: an effective_time that is not an instant is the schema's
    if later:
        return [
            _failure(
                "revocation",
                f"revocation.effectiveTime may only move earlier (from {old['effective_time']}), "
                f"not later to {new['effective_time']}",
            )
        ]
    return []


class SigningProfileOutputs(TypedDict):
    """What GetSigningProfile gives a :class:`SigningProfile`."""

    arn: str
    profile_version: str
    profile_version_arn: str
    status: str
    revocation_effective_from: str | None


def _outputs(profile: values.SigningProfile) -> SigningProfileOutputs:
    return {
        "arn": profile.arn,
        "profile_version": profile.profile_version,
        "profile_version_arn": profile.profile_version_arn,
        "status": profile.status.value,
        "revocation_effective_from": profile.revocation_effective_from,
    }


class SigningProfile(Resource, module="codesign", name="SigningProfile"):
    """An AWS Signer signing profile for Lambda (``AWSLambda-SHA384-ECDSA``).

    Outputs: ``arn``, ``profile_version``, ``profile_version_arn`` (what a
    :class:`~provider.resources.code_signing_config.CodeSigningConfig` allows), ``status``.
    """

    profile_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    profile_version: pulumi.Output[str]
    profile_version_arn: pulumi.Output[str]
    status: pulumi.Output[str]
    revocation_effective_from: pulumi.Output[str | None]
    settings: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        args: SigningProfileArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args or SigningProfileArgs()
        props = {
            "logical_name": name,
            "name_seed": name_seed("SigningProfile", name, opts),
            "profile_name": args.profile_name,
            "platform_id": args.platform_id,
            "signature_validity_period": args.signature_validity_period,
            "revocation": args.revocation.to_input() if args.revocation else None,
            "settings": settings_input(args.backend, args.home, args.region),
            "arn": None,
            "profile_version": None,
            "profile_version_arn": None,
            "status": None,
            "revocation_effective_from": None,
            "auto_named": None,
        }
        super().__init__(SigningProfileProvider(), name, props, opts)
        # Passed on as these outputs, the profile is still known to previews as itself.
        mark(self, "profile_version_arn", "profile_name")


__all__ = ["ProfileRevocation", "SigningProfile", "SigningProfileArgs", "format_instant"]
