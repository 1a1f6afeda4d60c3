"""``sam-ext profile``: PutSigningProfile, Get, List, Cancel, Revoke, and trust files."""

from __future__ import annotations

from pathlib import Path

import click

from provider.arns import PLATFORM_LAMBDA
from provider.clock import parse_instant
from provider.errors import ValidationError
from provider.validity import ValidityPeriod
from sam_ext.context import CliContext
from sam_ext.output import emit, say

pass_context = click.make_pass_decorator(CliContext)


@click.group()
def profile() -> None:
    """Signing profiles (AWS Signer): trusted publishers."""


@profile.command("put")
@click.option("--profile-name", required=True, help="2-64 letters, digits or '_'.")
@click.option("--platform-id", default=PLATFORM_LAMBDA, show_default=True)
@click.option(
    "--signature-validity-period",
    metavar="value=V,type=DAYS|MONTHS|YEARS",
    help="How long signatures stay valid (1 day to 135 months; default 135 months).",
)
@pass_context
def put(
    ctx: CliContext, profile_name: str, platform_id: str, signature_validity_period: str | None
) -> None:
    """Create a signing profile and its first (only) version."""
    validity = (
        ValidityPeriod.parse_shorthand(signature_validity_period)
        if signature_validity_period
        else None
    )
    response = ctx.backend.put_signing_profile(
        profile_name, platform_id=platform_id, validity=validity, tags=None, now=ctx.now
    )
    emit(response, schema="put-signing-profile-response")


@profile.command("get")
@click.option("--profile-name", required=True)
@click.option("--profile-owner", metavar="ACCOUNT", help="12-digit account id of the owner.")
@pass_context
def get(ctx: CliContext, profile_name: str, profile_owner: str | None) -> None:
    """Describe a signing profile."""
    emit(
        ctx.backend.get_signing_profile(profile_name, profile_owner=profile_owner),
        schema="signing-profile",
    )


@profile.command("list")
@click.option("--include-canceled", is_flag=True, help="Also list canceled profiles.")
@pass_context
def list_(ctx: CliContext, include_canceled: bool) -> None:
    """List signing profiles."""
    emit(
        ctx.backend.list_signing_profiles(include_canceled=include_canceled),
        schema="list-signing-profiles-response",
    )


@profile.command("cancel")
@click.option("--profile-name", required=True)
@pass_context
def cancel(ctx: CliContext, profile_name: str) -> None:
    """Cancel a profile: it starts no new signing job; existing signatures stay valid."""
    ctx.backend.cancel_signing_profile(profile_name, now=ctx.now)
    say(f"signing profile {profile_name} canceled")


@profile.command("revoke")
@click.option("--profile-name", required=True)
@click.option("--profile-version", required=True, help="The 10-character profile version.")
@click.option("--reason", required=True, help="1-500 characters.")
@click.option(
    "--effective-time",
    metavar="ISO-8601",
    help="Signatures made from this past instant on are untrusted (default: now).",
)
@pass_context
def revoke(
    ctx: CliContext,
    profile_name: str,
    profile_version: str,
    reason: str,
    effective_time: str | None,
) -> None:
    """Revoke a profile version (irreversible; a repeat may only move the time earlier)."""
    now = ctx.now
    effective = parse_instant(effective_time, field="--effective-time") if effective_time else now
    ctx.backend.revoke_signing_profile(profile_name, profile_version, reason, effective, now=now)
    say(f"signing profile {profile_name} version {profile_version} revoked")


@profile.command("export-trust")
@click.option(
    "--profile-name",
    "profile_names",
    required=True,
    multiple=True,
    help="A profile to include (repeat for more).",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the trust file (JSON).",
)
@pass_context
def export_trust(ctx: CliContext, profile_names: tuple[str, ...], output: Path) -> None:
    """Write a signed trust file: these profiles' version ARNs, public keys, statuses,
    revocations and revoked signatures, for verifying on machines without this keystore.

    The file is signed by this keystore's trust key; verifiers pin that key's fingerprint
    (printed here) with --trust-anchor.
    """
    if ctx.is_aws:
        raise ValidationError(
            "profile export-trust: the aws backend has no keys to export (AWS Signer keeps "
            "Lambda signing keys and Lambda verifies them itself); export trust files from "
            "a local keystore"
        )
    from provider.backends.local.trust_export import export_trust as export
    from provider.trust import write_trust_file

    document = export(ctx.local_backend, profile_names, now=ctx.now)
    write_trust_file(output, document)
    anchor = document["signer"]["keyFingerprint"]
    emit(
        {
            "trustFile": str(output),
            "exportedAt": document["exportedAt"],
            "trustKeyFingerprint": anchor,
            "profileVersionArns": [p["profileVersionArn"] for p in document["profiles"]],
            "revokedSignatures": len(document["revokedSignatures"]),
        },
        schema="export-trust-response",
    )
    say(
        f"wrote trust file {output} ({len(document['profiles'])} profile(s), "
        f"{len(document['revokedSignatures'])} revoked signature(s)) as of "
        f"{document['exportedAt']}; verify with: sam-ext verify PACKAGE --trust-file {output} "
        f"--trust-anchor {anchor} --csc-file CSC.json"
    )
