"""``CodeSigningConfig``: which publishers Lambda trusts, and Warn or Enforce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from provider.resources._base import (
    CodesignProvider,
    CodesignStepError,
    backend_of,
    check_inputs,
    is_unknown,
    now_of,
    reported,
    settings_input,
)
from provider.verdict import CscPolicy, Decision

_FIELDS = ("allowed_publishers", "policy", "description")


@dataclass
class CodeSigningConfigArgs:
    """Inputs of :class:`CodeSigningConfig`."""

    #: 1 to 20 signing profile *version* ARNs (``SigningProfile.profile_version_arn``).
    allowed_publishers: pulumi.Input[list[pulumi.Input[str]]] = field(default_factory=list)
    #: ``Warn`` (deploy untrusted code with a warning) or ``Enforce`` (reject it).
    policy: pulumi.Input[str] = "Warn"
    description: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _outputs(document: dict[str, Any]) -> dict[str, Any]:
    config = document["CodeSigningConfig"]
    return {
        "arn": config["CodeSigningConfigArn"],
        "config_id": config["CodeSigningConfigId"],
        "last_modified": config["LastModified"],
    }


def _blocked_functions(arn: str, news: dict[str, Any]) -> str | None:
    """Functions attached to ``arn`` whose deployed code the new settings would reject."""
    if is_unknown(news.get("allowed_publishers")) or is_unknown(news.get("policy")):
        return None
    backend = backend_of(news)
    functions_using = getattr(backend, "functions_using", None)
    if functions_using is None:
        return None  # the aws backend cannot read deployed code back; functions' checks run
    policy = CscPolicy(tuple(news["allowed_publishers"]), news["policy"], arn)
    now = now_of(news)
    blocked = []
    for name, code in functions_using(arn):
        verdict = backend.evaluate_package(code, policy, at=now, name=f"function {name}")
        if verdict.decision is Decision.REJECT:
            checks = "; ".join(f"{f.check.value}: {f.message}" for f in verdict.failed)
            blocked.append(f"{name} ({verdict.exception}: {checks})")
    if not blocked:
        return None
    return (
        f"CodeSigningConfig {arn}: with policy {news['policy']} and these publishers, the "
        f"next deploy of {len(blocked)} function(s) using it would be rejected: "
        + "; ".join(blocked)
        + ". Sign their code with an allowed profile first, or keep the current settings."
    )


class CodeSigningConfigProvider(CodesignProvider):
    """Lifecycle: updates in place; delete is refused while a function uses the config."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate against ``schemas/resource-code-signing-config.schema.json``."""
        return CheckResult(
            news, check_inputs(news, "resource-code-signing-config", "CodeSigningConfig")
        )

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Every change is an in-place update (as UpdateCodeSigningConfig allows) — unless
        the next deploy of functions already using this config would then be rejected: the
        preview fails naming every such function and its failed checks. (``diff`` is where
        the config's ARN is known; ``check`` sees inputs only.)"""
        changes = any(olds.get(k) != news.get(k) for k in _FIELDS)
        if changes:
            blocked = _blocked_functions(id_, news)
            if blocked:
                raise CodesignStepError(blocked)
        return DiffResult(changes=changes, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        """CreateCodeSigningConfig."""
        with reported():
            document = backend_of(props).create_code_signing_config(
                props["allowed_publishers"],
                policy=props["policy"],
                description=props.get("description"),
                now=now_of(props),
            )
        outs = _outputs(document)
        return CreateResult(outs["arn"], {**props, **outs})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """UpdateCodeSigningConfig: deployed code is checked again only on its next deploy."""
        with reported():
            document = backend_of(news).update_code_signing_config(
                id_,
                allowed=news["allowed_publishers"],
                policy=news["policy"],
                description=news.get("description") or "",
                now=now_of(news),
            )
        return UpdateResult({**news, **_outputs(document)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetCodeSigningConfig: refresh picks up changes made outside Pulumi."""
        with reported():
            config = backend_of(props).get_code_signing_config(id_)["CodeSigningConfig"]
        refreshed = {
            **props,
            "allowed_publishers": config["AllowedPublishers"]["SigningProfileVersionArns"],
            "policy": config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"],
            "description": config.get("Description") or props.get("description"),
            **_outputs({"CodeSigningConfig": config}),
        }
        return ReadResult(id_, refreshed)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteCodeSigningConfig (refused with a clear message while in use)."""
        with reported():
            backend_of(props).delete_code_signing_config(id_)


class CodeSigningConfig(Resource, module="codesign", name="CodeSigningConfig"):
    """A Lambda code signing configuration.

    Outputs: ``arn`` (attach it to functions), ``config_id``, ``policy``,
    ``allowed_publishers``, ``last_modified``.
    """

    arn: pulumi.Output[str]
    config_id: pulumi.Output[str]
    policy: pulumi.Output[str]
    allowed_publishers: pulumi.Output[list[str]]
    description: pulumi.Output[str | None]
    last_modified: pulumi.Output[str]
    settings: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        args: CodeSigningConfigArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "allowed_publishers": args.allowed_publishers,
            "policy": args.policy,
            "description": args.description,
            "settings": settings_input(args.backend, args.home, args.region),
            "arn": None,
            "config_id": None,
            "last_modified": None,
        }
        super().__init__(CodeSigningConfigProvider(), name, props, opts)
