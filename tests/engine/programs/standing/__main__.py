"""Three functions under one Enforce config, signed by a one-day profile or a second one.

Config: ``renewed``, ``expiring``, ``revoked`` (source directories), ``renew_before`` (of
``renewed``'s package), ``revoked_profile`` (``retiring``, the default, or ``publisher``:
the remedy once ``retiring`` is revoked), ``description`` (of the config: an unrelated
change), and ``codesign:now`` to move the clock.
"""

import pulumi

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    SignedFunction,
    SignedFunctionArgs,
    SigningProfile,
    SigningProfileArgs,
)

config = pulumi.Config()
publisher = SigningProfile(
    "publisher", SigningProfileArgs(signature_validity_period={"value": 1, "type": "DAYS"})
)
retiring = SigningProfile("retiring")
enforce = CodeSigningConfig(
    "enforce",
    CodeSigningConfigArgs(
        allowed_publishers=[publisher, retiring],
        policy="Enforce",
        description=config.get("description") or "publisher and retiring",
    ),
)
profiles = {"publisher": publisher, "retiring": retiring}
functions = {
    "renewed": (publisher, config.get("renew_before")),
    "expiring": (publisher, None),
    "revoked": (profiles[config.get("revoked_profile") or "retiring"], None),
}
for name, (profile, renew_before) in functions.items():
    function = SignedFunction(
        name,
        SignedFunctionArgs(
            code=config.require(name),
            signing_profile=profile,
            code_signing_config=enforce,
            renew_before=renew_before,
        ),
    )
    pulumi.export(f"{name}_job", function.package.job_id)
    pulumi.export(f"{name}_function", function.function.function_name)
pulumi.export("retiring_profile", retiring.profile_name)
