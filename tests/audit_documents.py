"""A realistic audit document (``sam-ext audit --output json``, INTERFACES §C /
``schemas/audit-report.schema.json``) built by hand, for the HTML report's tests and the
README's screenshot (:mod:`audit_screenshot`).

Two regions, four code signing configs (one ``Warn``, one unused), every standing, signatures
expiring inside and outside a 30-day window, a function that could not be read (ERROR) and,
with ``hostile=True``, values that are markup (a function named ``<script>…``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ACCOUNT = "123456789012"
AUDITED_AT = "2026-12-05T12:00:00Z"
HORIZON = "2027-01-04T12:00:00Z"

#: A function name that must stay text: it would run as a script if it were markup.
HOSTILE_NAME = "<script>document.title='pwned';window.pwned=1</script>"
#: A message that would fetch and run code if it were markup (attribute context too).
HOSTILE_MESSAGE = '"><img src=x onerror="document.title=\'pwned2\'"> is not a signer'


def _csc(region: str, suffix: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:code-signing-config:csc-{suffix}"


def _profile(region: str, name: str, version: str) -> str:
    return f"arn:aws:signer:{region}:{ACCOUNT}:/signing-profiles/{name}/{version}"


def _job(region: str, job_id: str) -> str:
    return f"arn:aws:signer:{region}:{ACCOUNT}:/signing-jobs/{job_id}"


def _function_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


CSC_SHOP = _csc("us-east-1", "0a1b2c3d4e5f6a7b8")
CSC_OPS = _csc("us-east-1", "1b2c3d4e5f6a7b8c9")
CSC_MEDIA = _csc("eu-west-1", "2c3d4e5f6a7b8c9d0")
CSC_SPARE = _csc("eu-west-1", "3d4e5f6a7b8c9d0e1")
SHOP = _profile("us-east-1", "shop", "Ab12Cd34Ef")
SHOP_OLD = _profile("us-east-1", "shop", "Zz99Yy88Xx")
OPS = _profile("us-east-1", "ops", "Qw12Er34Ty")
MEDIA = _profile("eu-west-1", "media", "Mn56Bv78Cx")


def _artifact(
    region: str,
    name: str,
    *,
    kind: str = "code",
    arn: str | None = None,
    profile: str | None = None,
    job: str | None = None,
    signed_at: str | None = None,
    expires_at: str | None = None,
    matches: bool | None = True,
    standing: str = "ALLOW",
    check: str | None = None,
    message: str = "Signed by an allowed publisher; the signature is valid.",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "arn": arn or _function_arn(region, name),
        "signing_profile_version_arn": profile,
        "signing_job_arn": _job(region, job) if job else None,
        "signed_at": signed_at,
        "signature_expires_at": expires_at,
        "code_sha256": "q0vHn1Z0V6mUoTz8l4yq5m3kq2k0aQ6m1yq8rX2b9mE=" if profile else None,
        "matches_signed_object": matches if profile else None,
        "standing": standing,
        "check": check,
        "message": message,
    }


def _function(
    region: str,
    name: str,
    standing: str,
    *,
    csc: str | None,
    policy: str | None,
    message: str,
    at_horizon: str | None = None,
    check: str | None = None,
    exception: str | None = None,
    remedy: str | None = None,
    error: str | None = None,
    errors: int | None = None,
    artifacts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "region": region,
        "function_name": name,
        "function_arn": _function_arn(region, name),
        "code_signing_config_arn": csc,
        "policy": policy,
        "standing": standing,
        "standing_at_horizon": at_horizon or standing,
        "check": check,
        "exception": exception,
        "message": message,
        "remedy": remedy,
        "error": error,
        "signature_validation_errors": errors,
        "artifacts": list(artifacts),
    }


def audit_document(*, hostile: bool = False) -> dict[str, Any]:
    """The document: 10 functions (11 with ``hostile``), 4 configs, 7 upcoming expiries."""
    use1, euw1 = "us-east-1", "eu-west-1"
    functions = [
        _function(
            use1,
            "checkout",
            "ALLOW",
            at_horizon="REJECT",
            csc=CSC_SHOP,
            policy="Enforce",
            message="Signed by shop/Ab12Cd34Ef; the signature expires on 2026-12-20.",
            remedy="sam-ext package --signing-profiles Checkout=shop && sam-ext deploy",
            artifacts=[
                _artifact(
                    use1,
                    "checkout",
                    profile=SHOP,
                    job="7c1d2e3f-0000-4000-8000-000000000001",
                    signed_at="2026-06-20T09:00:00Z",
                    expires_at="2026-12-20T09:00:00Z",
                )
            ],
        ),
        _function(
            use1,
            "payments",
            "REJECT",
            csc=CSC_SHOP,
            policy="Enforce",
            check="revocation",
            exception="CodeVerificationFailedException",
            message="Signed by shop/Zz99Yy88Xx after its revocation on 2026-11-01.",
            remedy="sam-ext package --signing-profiles Payments=shop && sam-ext deploy",
            artifacts=[
                _artifact(
                    use1,
                    "payments",
                    profile=SHOP_OLD,
                    job="7c1d2e3f-0000-4000-8000-000000000002",
                    signed_at="2026-11-12T15:30:00Z",
                    expires_at="2027-06-01T15:30:00Z",
                    standing="REJECT",
                    check="revocation",
                    message="Signed by shop/Zz99Yy88Xx after its revocation on 2026-11-01.",
                )
            ],
        ),
        _function(
            use1,
            "legacy-report",
            "WARN",
            csc=CSC_OPS,
            policy="Warn",
            check="mismatch",
            message="Unsigned code under a Warn policy: Enforce would reject its next deploy.",
            remedy="sam-ext package --signing-profiles LegacyReport=ops && sam-ext deploy",
            errors=4,
            artifacts=[
                _artifact(
                    use1,
                    "legacy-report",
                    standing="WARN",
                    check="mismatch",
                    message="Unsigned code.",
                )
            ],
        ),
        _function(
            use1,
            "audit-log",
            "ALLOW",
            at_horizon="WARN",
            csc=CSC_OPS,
            policy="Warn",
            message="Signed by ops/Qw12Er34Ty; the signature expires on 2026-12-30.",
            remedy="sam-ext package --signing-profiles AuditLog=ops && sam-ext deploy",
            errors=0,
            artifacts=[
                _artifact(
                    use1,
                    "audit-log",
                    profile=OPS,
                    job="7c1d2e3f-0000-4000-8000-000000000003",
                    signed_at="2025-12-30T08:00:00Z",
                    expires_at="2026-12-30T08:00:00Z",
                )
            ],
        ),
        _function(
            use1,
            "orders",
            "ALLOW",
            csc=CSC_SHOP,
            policy="Enforce",
            message="Signed by shop/Ab12Cd34Ef, code and its layer.",
            artifacts=[
                _artifact(
                    use1,
                    "orders",
                    profile=SHOP,
                    job="7c1d2e3f-0000-4000-8000-000000000004",
                    signed_at="2026-09-15T10:00:00Z",
                    expires_at="2027-03-15T10:00:00Z",
                ),
                _artifact(
                    use1,
                    "orders",
                    kind="layer",
                    arn=f"arn:aws:lambda:{use1}:{ACCOUNT}:layer:deps:3",
                    profile=SHOP,
                    job="7c1d2e3f-0000-4000-8000-000000000005",
                    signed_at="2026-07-20T10:00:00Z",
                    expires_at="2027-01-20T10:00:00Z",
                ),
            ],
        ),
        _function(
            use1,
            "cron-cleanup",
            "NO_CONFIG",
            csc=None,
            policy=None,
            message="No code signing config: Lambda checks nothing on deploy.",
            remedy="Attach a code signing config (CodeSigningConfigArn).",
            artifacts=[_artifact(use1, "cron-cleanup", standing="NO_CONFIG", message="Unsigned.")],
        ),
        _function(
            euw1,
            "image-resizer",
            "REJECT",
            csc=CSC_MEDIA,
            policy="Enforce",
            check="integrity",
            exception="InvalidCodeSignatureException",
            message="The deployed code is not the signed object: changed out of band.",
            remedy="sam-ext package --signing-profiles ImageResizer=media && sam-ext deploy",
            artifacts=[
                _artifact(
                    euw1,
                    "image-resizer",
                    profile=MEDIA,
                    job="7c1d2e3f-0000-4000-8000-000000000006",
                    signed_at="2026-02-01T12:00:00Z",
                    expires_at="2028-02-01T12:00:00Z",
                    matches=False,
                    standing="REJECT",
                    check="integrity",
                    message="The deployed code is not the signed object: changed out of band.",
                )
            ],
        ),
        _function(
            euw1,
            "search",
            "REJECT",
            csc=CSC_MEDIA,
            policy="Enforce",
            check="expiry",
            exception="CodeVerificationFailedException",
            message="The signature expired on 2026-11-30.",
            remedy="sam-ext package --signing-profiles Search=media && sam-ext deploy",
            artifacts=[
                _artifact(
                    euw1,
                    "search",
                    profile=MEDIA,
                    job="7c1d2e3f-0000-4000-8000-000000000007",
                    signed_at="2026-05-30T12:00:00Z",
                    expires_at="2026-11-30T12:00:00Z",
                    standing="REJECT",
                    check="expiry",
                    message="The signature expired on 2026-11-30.",
                )
            ],
        ),
        _function(
            euw1,
            "inventory",
            "UNKNOWN",
            csc=CSC_MEDIA,
            policy="Enforce",
            check="revocation",
            message="The signing job could not be read, so revocation cannot be decided.",
            remedy="Grant signer:DescribeSigningJob to the auditing role.",
            artifacts=[
                _artifact(
                    euw1,
                    "inventory",
                    profile=MEDIA,
                    job="7c1d2e3f-0000-4000-8000-000000000008",
                    signed_at=None,
                    expires_at=None,
                    matches=None,
                    standing="UNKNOWN",
                    check="revocation",
                    message="The signing job could not be read.",
                )
            ],
        ),
        _function(
            euw1,
            "billing-export",
            "ERROR",
            csc=None,
            policy=None,
            message="The function could not be read.",
            error="AccessDeniedException: not authorized to perform lambda:GetFunction",
        ),
    ]
    if hostile:
        functions.append(
            _function(
                use1,
                HOSTILE_NAME,
                "WARN",
                csc=CSC_OPS,
                policy="Warn",
                check="mismatch",
                message=HOSTILE_MESSAGE,
                remedy="<b>not bold</b>",
                artifacts=[_artifact(use1, HOSTILE_NAME, standing="WARN", message=HOSTILE_MESSAGE)],
            )
        )
    by_standing = dict.fromkeys(("ALLOW", "WARN", "REJECT", "UNKNOWN", "NO_CONFIG", "ERROR"), 0)
    for function in functions:
        by_standing[function["standing"]] += 1
    expiring = sum(
        1
        for f in functions
        if f["standing"] in ("ALLOW", "WARN") and f["standing_at_horizon"] != f["standing"]
    )
    expiries = sorted(
        (
            {
                "region": f["region"],
                "function_name": f["function_name"],
                "artifact": a["kind"],
                "arn": a["arn"],
                "expires_at": a["signature_expires_at"],
                "within_window": AUDITED_AT <= a["signature_expires_at"] <= HORIZON,
            }
            for f in functions
            for a in f["artifacts"]
            if a["signature_expires_at"] and a["signature_expires_at"] >= AUDITED_AT
        ),
        key=lambda e: str(e["expires_at"]),
    )
    configs = [
        {
            "region": use1,
            "arn": CSC_SHOP,
            "policy": "Enforce",
            "publishers": [
                {"profile_version_arn": SHOP, "status": "Active"},
                {"profile_version_arn": SHOP_OLD, "status": "Revoked"},
            ],
            "functions": ["checkout", "payments", "orders"],
            "blocked_if_enforced": [],
            "unused": False,
            "notes": ["Publisher shop/Zz99Yy88Xx was revoked on 2026-11-01."],
        },
        {
            "region": use1,
            "arn": CSC_OPS,
            "policy": "Warn",
            "publishers": [{"profile_version_arn": OPS, "status": "Active"}],
            "functions": ["legacy-report", "audit-log"] + ([HOSTILE_NAME] if hostile else []),
            "blocked_if_enforced": ["legacy-report"] + ([HOSTILE_NAME] if hostile else []),
            "unused": False,
            "notes": ["Warn policy: Enforce would block the next deploy of legacy-report."],
        },
        {
            "region": euw1,
            "arn": CSC_MEDIA,
            "policy": "Enforce",
            "publishers": [{"profile_version_arn": MEDIA, "status": "Active"}],
            "functions": ["image-resizer", "search", "inventory"],
            "blocked_if_enforced": [],
            "unused": False,
            "notes": [],
        },
        {
            "region": euw1,
            "arn": CSC_SPARE,
            "policy": "Enforce",
            "publishers": [
                {"profile_version_arn": _profile(euw1, "media", "Old0000001"), "status": "Canceled"}
            ],
            "functions": [],
            "blocked_if_enforced": [],
            "unused": True,
            "notes": ["No function uses this config.", "Its only publisher is canceled."],
        },
    ]
    return {
        "audited_at": AUDITED_AT,
        "within": "30d",
        "horizon": HORIZON,
        "backend": "local",
        "regions": [use1, euw1],
        "complete": False,
        "summary": {
            "functions": len(functions),
            "by_standing": by_standing,
            "expiring_within": expiring,
            "code_signing_configs": len(configs),
        },
        "functions": functions,
        "code_signing_configs": configs,
        "expiries": expiries,
    }
