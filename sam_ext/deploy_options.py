"""``sam deploy``'s CloudFormation options, with SAM CLI's names, meanings and samconfig
keys, parsed at the edge (with the options ``deploy`` shares with ``package``) into one
:class:`~sam_ext.settings.DeploySettings`.

They mean something only to CloudFormation (``--backend aws``); the local backend refuses
them by name when they are typed, and warns that it ignores them when they come from
``samconfig.toml`` (a file shared with ``sam deploy`` and the aws backend).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provider.arns import check_stack_name
from provider.errors import ValidationError
from sam_ext.options import SpaceSeparated, package_settings
from sam_ext.settings import ChangeSetSettings, DeploySettings

if TYPE_CHECKING:
    from provider.trust import TrustFile

#: What CloudFormation accepts in ``Capabilities``.
CAPABILITIES = (
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_RESOURCE_POLICY",
    "CAPABILITY_AUTO_EXPAND",
)
#: CloudFormation's limits.
MAX_NOTIFICATION_ARNS = 5
MAX_TAGS = 50
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")

#: Each option that means something to CloudFormation only, as the user types it.
AWS_ONLY = {
    "capabilities": "--capabilities",
    "no_execute_changeset": "--no-execute-changeset",
    "fail_on_empty_changeset": "--fail-on-empty-changeset/--no-fail-on-empty-changeset",
    "confirm_changeset": "--confirm-changeset/--no-confirm-changeset",
    "role_arn": "--role-arn",
    "tags": "--tags",
    "notification_arns": "--notification-arns",
    "resolve_s3": "--resolve-s3",
    "disable_rollback": "--disable-rollback/--no-disable-rollback",
    "profile": "--profile",
}


def deploy_options(function: Any) -> Any:
    """The options of ``sam deploy`` that drive CloudFormation (and ``--region``/
    ``--profile``). Flags default to ``None`` so a samconfig value is not overridden by
    an option nobody typed."""
    for option in reversed(
        [
            click.option(
                "--capabilities",
                cls=SpaceSeparated,
                metavar="CAPABILITY ...",
                help="Capabilities CloudFormation may use (default: CAPABILITY_IAM "
                "CAPABILITY_AUTO_EXPAND).",
            ),
            click.option(
                "--no-execute-changeset",
                is_flag=True,
                default=None,
                help="Create and show the change set, but do not execute it.",
            ),
            click.option(
                "--fail-on-empty-changeset/--no-fail-on-empty-changeset",
                default=None,
                help="Exit 1 when there is nothing to change (the default, as sam deploy).",
            ),
            click.option(
                "--confirm-changeset/--no-confirm-changeset",
                default=None,
                help="Show the change set and ask before executing it (needs a terminal).",
            ),
            click.option("--role-arn", help="IAM role CloudFormation assumes for the stack."),
            click.option(
                "--tags", cls=SpaceSeparated, metavar='"Key=Value ..."', help="Stack tags."
            ),
            click.option(
                "--notification-arns",
                cls=SpaceSeparated,
                metavar="ARN ...",
                help="SNS topics CloudFormation sends stack events to.",
            ),
            click.option(
                "--resolve-s3",
                is_flag=True,
                default=None,
                help="Package into a versioned bucket sam-ext manages (created if missing).",
            ),
            click.option(
                "--disable-rollback/--no-disable-rollback",
                default=None,
                help="Keep the resources of a failed deployment as they are.",
            ),
            click.option(
                "--region",
                help="AWS region (over the global --region and AWS_REGION); on the local "
                "backend, the region of its ARNs.",
            ),
            click.option("--profile", help="AWS profile of ~/.aws/config and credentials."),
        ]
    ):
        function = option(function)
    return function


def _items(values: Any) -> list[str]:
    """A samconfig string or list, or the option's tuple, as its space-separated items."""
    if values is None:
        return []
    chunks = [values] if isinstance(values, str) else list(values)
    return [item for chunk in chunks for item in str(chunk).split()]


def _capabilities(values: Any) -> tuple[str, ...] | None:
    chosen = _items(values)
    if not chosen:
        return None
    unknown = [c for c in chosen if c not in CAPABILITIES]
    if unknown:
        raise ValidationError(
            f"--capabilities: {', '.join(unknown)} is not one of {', '.join(CAPABILITIES)}"
        )
    return tuple(dict.fromkeys(chosen))


def _tags(values: Any) -> dict[str, str]:
    chunks = [values] if isinstance(values, str) else list(values or ())
    tags: dict[str, str] = {}
    for chunk in chunks:
        try:
            words = shlex.split(str(chunk))
        except ValueError as exc:
            raise ValidationError(f"--tags: {chunk!r} is not valid ({exc})") from None
        for word in words:
            key, equals, value = word.partition("=")
            if not equals or not key:
                raise ValidationError(f"--tags: {word!r} is not of the form Key=Value")
            if len(key) > 128 or len(value) > 256:
                raise ValidationError(
                    f"--tags: {key[:40]!r}: a key has at most 128 characters and a value 256"
                )
            tags[key] = value
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"--tags: at most {MAX_TAGS} tags (got {len(tags)})")
    return tags


def _notification_arns(values: Any) -> tuple[str, ...]:
    arns = tuple(dict.fromkeys(_items(values)))
    for arn in arns:
        if not _SNS_TOPIC_ARN.match(arn):
            raise ValidationError(f"--notification-arns: {arn!r} is not an SNS topic ARN")
    if len(arns) > MAX_NOTIFICATION_ARNS:
        raise ValidationError(
            f"--notification-arns: at most {MAX_NOTIFICATION_ARNS} topics (got {len(arns)})"
        )
    return arns


def _role_arn(value: Any) -> str | None:
    if value is None:
        return None
    if not _ROLE_ARN.match(str(value)):
        raise ValidationError(
            f"--role-arn: {value!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    return str(value)


def change_set_settings(options: Mapping[str, Any]) -> ChangeSetSettings:
    """The CloudFormation options of merged options (command line over samconfig), parsed
    and checked."""
    return ChangeSetSettings(
        capabilities=_capabilities(options.get("capabilities")),
        execute=not options.get("no_execute_changeset"),
        fail_on_empty=options.get("fail_on_empty_changeset") is not False,
        confirm=bool(options.get("confirm_changeset")),
        role_arn=_role_arn(options.get("role_arn")),
        tags=_tags(options.get("tags")),
        notification_arns=_notification_arns(options.get("notification_arns")),
        resolve_s3=bool(options.get("resolve_s3")),
        disable_rollback=bool(options.get("disable_rollback")),
    )


def deploy_settings(
    options: Mapping[str, Any], *, aws: bool, trust_file: TrustFile | None = None
) -> DeploySettings:
    """The settings of ``deploy`` from merged options (for the local backend, after
    :func:`local_options`): the stack name (required on aws; locally, by default, the
    template's directory name), the CloudFormation options on aws, then the packaging ones."""
    stack = options.get("stack_name")
    if stack:
        check_stack_name(stack)  # the names CloudFormation takes (functions are STACK-Id)
    elif aws:
        raise ValidationError("--stack-name: required with --backend aws (as with sam deploy)")
    else:
        stack = Path(options["template_file"]).resolve().parent.name
    change_set = change_set_settings(options) if aws else ChangeSetSettings()
    return DeploySettings(
        stack_name=stack,
        package=package_settings(options),
        change_set=change_set,
        trust_file=trust_file,
    )


def _set(value: Any) -> bool:
    return value not in (None, ())


def local_options(
    given: Mapping[str, Any], options: Mapping[str, Any], warn: Callable[[str], None]
) -> dict[str, Any]:
    """The options for the local backend: typed CloudFormation options are refused by
    name; those from samconfig (and its ``region``, written for AWS) are dropped with a
    warning naming them. A typed ``--region`` stays: the region of local ARNs."""
    typed = [flag for name, flag in AWS_ONLY.items() if _set(given.get(name))]
    if typed:
        raise ValidationError(
            f"{', '.join(typed)}: mean nothing on the local backend (no CloudFormation, no "
            "AWS account); drop them, or deploy with sam-ext --backend aws"
        )
    from_config = [
        name
        for name in [*AWS_ONLY, "region"]
        if _set(options.get(name)) and not _set(given.get(name))
    ]
    if from_config:
        warn(
            f"samconfig {', '.join(from_config)}: used by --backend aws only; ignored by the "
            "local backend"
        )
    return {key: value for key, value in options.items() if key not in from_config}
