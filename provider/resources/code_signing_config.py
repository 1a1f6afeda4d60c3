"""``CodeSigningConfig``: which publishers Lambda trusts, and Warn or Enforce."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from provider.backends import values
from provider.errors import NotFoundError
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    gone,
    missing_is_deleted,
    now_of,
    reported,
    settings_input,
)
from provider.resources.origins import mark, traced
from provider.resources.signing_profile import SigningProfile
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY

_FIELDS = ("allowed_publishers", "policy", "description")


@dataclass
class CodeSigningConfigArgs:
    """Inputs of :class:`CodeSigningConfig`."""

    #: 1 to 20 publishers: :class:`SigningProfile` resources (then a preview knows who is
    #: allowed before the profiles exist) or signing profile *version* ARNs.
    allowed_publishers: (
        Sequence[SigningProfile | pulumi.Input[str]] | pulumi.Input[list[pulumi.Input[str]]]
    ) = field(default_factory=list)
    #: ``Warn`` (deploy untrusted code with a warning) or ``Enforce`` (reject it).
    policy: pulumi.Input[str] = DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
    description: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


class CodeSigningConfigOutputs(TypedDict):
    """What Lambda gives a :class:`CodeSigningConfig`."""

    arn: str
    config_id: str
    last_modified: str | None


def _outputs(config: values.CodeSigningConfig) -> CodeSigningConfigOutputs:
    return {
        "arn": config.arn,
        "config_id": config.config_id,
        "last_modified": config.last_modified,
    }


def _publisher_inputs(publishers: Any) -> tuple[Any, Any]:
    """``allowed_publishers`` (ARNs) and ``publisher_refs`` (program side): each
    :class:`SigningProfile` (or its own ``profile_version_arn`` output) gives its version
    ARN and, for previews, its URN and name."""
    if not isinstance(publishers, (list, tuple)):
        return publishers, None
    arns: list[Any] = []
    refs: list[dict[str, Any]] = []
    for given in publishers:
        publisher = traced(given, SigningProfile, ("profile_version_arn",)) or given
        if isinstance(publisher, SigningProfile):
            arns.append(publisher.profile_version_arn)
            refs.append({"ref": publisher.urn, "profile_name": publisher.profile_name})
        else:
            arns.append(publisher)
            # The ARN again: one unknown entry makes the whole ``allowed_publishers`` output
            # unknown in a preview, and the literal ARNs must stay known.
            refs.append({"ref": None, "profile_name": None, "arn": publisher})
    return arns, refs


class CodeSigningConfigProvider(CodesignProvider):
    """Lifecycle: updates in place; delete is refused while a function uses the config."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate against ``schemas/resource-code-signing-config.schema.json``."""
        return CheckResult(
            news, check_inputs(news, "resource-code-signing-config", "CodeSigningConfig")
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Every change is an in-place update, as UpdateCodeSigningConfig allows: deployed
        code keeps running, and each function using the config reports, in the same
        preview, what its next deploy would then meet."""
        changes = any(olds.get(k) != news.get(k) for k in _FIELDS)
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
            outs = _outputs(values.CodeSigningConfig.from_document(document))
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
            outs = _outputs(values.CodeSigningConfig.from_document(document))
        return UpdateResult({**news, **outs})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetCodeSigningConfig: refresh picks up changes made outside Pulumi (a config
        deleted outside it is dropped from state)."""
        with reported():
            try:
                config = backend_of(props).code_signing_config(id_)
            except NotFoundError:
                return gone()
        allowed = list(config.allowed)
        refreshed = {
            **props,
            "allowed_publishers": allowed,
            # Publishers changed outside Pulumi: the program's references no longer pair
            # with them, so previews judge by the ARNs alone.
            "publisher_refs": (
                props.get("publisher_refs") if allowed == props.get("allowed_publishers") else None
            ),
            "policy": config.untrusted_artifact_on_deployment.value,
            "description": config.description or props.get("description"),
            **_outputs(config),
        }
        return ReadResult(id_, refreshed)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteCodeSigningConfig (refused with a clear message while in use; one
        already gone is deleted)."""
        with reported(), missing_is_deleted():
            backend_of(props).delete_code_signing_config(id_)


class CodeSigningConfig(Resource, module="codesign", name="CodeSigningConfig"):
    """A Lambda code signing configuration.

    Outputs: ``arn`` (attach it to functions), ``config_id``, ``policy``,
    ``allowed_publishers``, ``publisher_refs`` (the program's references to the
    :class:`SigningProfile` resources it lists), ``last_modified``.
    """

    arn: pulumi.Output[str]
    config_id: pulumi.Output[str]
    policy: pulumi.Output[str]
    allowed_publishers: pulumi.Output[list[str]]
    publisher_refs: pulumi.Output[list[dict[str, Any]] | None]
    description: pulumi.Output[str | None]
    last_modified: pulumi.Output[str]
    settings: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        args: CodeSigningConfigArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        allowed, refs = _publisher_inputs(args.allowed_publishers)
        props = {
            "allowed_publishers": allowed,
            "publisher_refs": refs,
            "policy": args.policy,
            "description": args.description,
            "settings": settings_input(args.backend, args.home, args.region),
            "arn": None,
            "config_id": None,
            "last_modified": None,
        }
        super().__init__(CodeSigningConfigProvider(), name, props, opts)
        # Passed on as its ARN output, the config is still known to previews as itself.
        mark(self, "arn")
