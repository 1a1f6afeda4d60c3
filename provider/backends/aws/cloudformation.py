"""CloudFormation deployments as ``sam deploy`` makes them: one change set per deploy.

The change set is of type ``CREATE`` when the stack does not exist yet (or only as the
``REVIEW_IN_PROGRESS`` shell a failed first change set leaves) and ``UPDATE`` otherwise;
it is created, waited for, executed, and the stack waited for. A change set that finds
nothing to change is not an error; a failed change set or a rolled-back stack is one
line naming the stack and the reason CloudFormation gives.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provider.backends.aws.errors import StackDeployFailed, aws_call, one_line
from provider.backends.aws.s3 import ObjectStore
from provider.errors import NotFoundError, ValidationError

#: What ``sam deploy`` passes for SAM templates (IAM roles, the Serverless transform).
DEFAULT_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
#: CloudFormation's limit for ``TemplateBody``; larger templates go through S3.
MAX_TEMPLATE_BODY = 51_200
_STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
#: How CloudFormation says a change set found nothing to change.
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
#: Stacks that exist but cannot take a change set until they are deleted.
_DEAD = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


def check_stack_name(name: str) -> str:
    """A stack name: a letter, then letters, digits and '-', at most 128 characters."""
    if not isinstance(name, str) or not _STACK_NAME_RE.match(name):
        raise ValidationError(
            f"--stack-name: {name!r} is not a CloudFormation stack name (a letter, then "
            "letters, digits and '-', at most 128 characters)"
        )
    return name


@dataclass
class DeployOutcome:
    """What a deploy did: the change set's changes and the stack's final state."""

    stack_name: str
    change_set_type: str
    #: ``False`` when the change set found nothing to change (nothing was executed).
    changed: bool
    status: str = ""
    #: ``ResourceChange`` documents of the change set (Action, LogicalResourceId, ...).
    changes: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


class StackDeployer:
    """Change sets on one CloudFormation client (any botocore client: real or stubbed)."""

    def __init__(
        self,
        cloudformation: Any,
        objects: ObjectStore | None = None,
        *,
        delay: float = 5,
        max_attempts: int = 720,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Poll every ``delay`` seconds, at most ``max_attempts`` times per wait (the
        default: an hour, as CloudFormation's own waiters allow)."""
        self.client = cloudformation
        self.objects = objects
        self.delay = delay
        self.max_attempts = max_attempts
        self.sleep = sleep

    # --- reading ------------------------------------------------------------------------
    def describe(self, stack_name: str) -> dict[str, Any] | None:
        """DescribeStacks for one stack, or ``None`` when it does not exist."""
        try:
            with aws_call("cloudformation:DescribeStacks", f"stack {stack_name}"):
                stacks = self.client.describe_stacks(StackName=stack_name).get("Stacks") or []
        except ValidationError as error:
            if "does not exist" in error.message:
                return None
            raise
        except NotFoundError:
            return None
        return dict(stacks[0]) if stacks else None

    def _poll(
        self, fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        for attempt in range(self.max_attempts):
            current = fetch()
            if done(current):
                return current
            if attempt + 1 < self.max_attempts:
                self.sleep(self.delay)
        raise StackDeployFailed(
            f"{what} is still in progress after {self.max_attempts} checks {self.delay} s "
            "apart; follow it in the CloudFormation console or with aws cloudformation "
            "describe-stack-events"
        )

    def _failure_reason(self, stack_name: str, stack: Mapping[str, Any]) -> str:
        """The first resource failure of the latest operation, from the stack's events."""
        events: list[dict[str, Any]] = []  # newest first, back to the operation's start
        started = False
        with aws_call("cloudformation:DescribeStackEvents", f"stack {stack_name}"):
            paginator = self.client.get_paginator("describe_stack_events")
            for page in paginator.paginate(StackName=stack_name):
                for event in page.get("StackEvents", []):
                    events.append(event)
                    started = (
                        event.get("LogicalResourceId") == stack_name
                        and event.get("ResourceStatusReason") == "User Initiated"
                    )
                    if started:
                        break
                if started:
                    break
        for event in reversed(events):  # oldest first: the cause, not the cascade
            status = str(event.get("ResourceStatus", ""))
            reason = event.get("ResourceStatusReason")
            if (
                status.endswith("_FAILED")
                and reason
                and event.get("LogicalResourceId") != stack_name
                and "cancelled" not in str(reason)
            ):
                return f"{event.get('LogicalResourceId')} {status}: {one_line(reason)}"
        return one_line(stack.get("StackStatusReason") or "no reason given")

    # --- deploying ----------------------------------------------------------------------
    def _parameters(
        self,
        overrides: Mapping[str, str],
        declared: Sequence[str],
        stack: Mapping[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """Overrides as given; on an update, the stack's previous value for each other
        declared parameter it has (as ``sam deploy`` does); else the template's default."""
        parameters: list[dict[str, Any]] = [
            {"ParameterKey": key, "ParameterValue": value} for key, value in overrides.items()
        ]
        if stack is not None:
            previous = {p.get("ParameterKey") for p in stack.get("Parameters") or []}
            parameters += [
                {"ParameterKey": key, "UsePreviousValue": True}
                for key in declared
                if key not in overrides and key in previous
            ]
        return parameters

    def _template(self, body: str, upload_to: tuple[str, str] | None) -> dict[str, str]:
        """``TemplateBody``, or for a template over CloudFormation's inline limit, the
        ``TemplateURL`` of its upload to ``upload_to`` (bucket, key prefix)."""
        size = len(body.encode("utf-8"))
        if size <= MAX_TEMPLATE_BODY:
            return {"TemplateBody": body}
        if upload_to is None or self.objects is None:
            raise ValidationError(
                f"--s3-bucket: the template is {size} bytes, more than the {MAX_TEMPLATE_BODY} "
                "CloudFormation takes inline; give --s3-bucket to upload it"
            )
        bucket, prefix = upload_to
        uploaded = self.objects.put_template(body.encode("utf-8"), bucket, prefix)
        return {"TemplateURL": self.objects.https_url(uploaded)}

    def deploy(
        self,
        stack_name: str,
        template_body: str,
        *,
        parameters: Mapping[str, str] | None = None,
        declared_parameters: Sequence[str] = (),
        capabilities: Sequence[str] = DEFAULT_CAPABILITIES,
        upload_to: tuple[str, str] | None = None,
        progress: Callable[[str], None] = lambda _: None,
    ) -> DeployOutcome:
        """Create a change set (CREATE or UPDATE), wait for it, execute it, wait for the
        stack. Raises :class:`StackDeployFailed` naming the stack and CloudFormation's
        reason when the change set fails or the stack rolls back."""
        check_stack_name(stack_name)
        template = self._template(template_body, upload_to)
        stack = self.describe(stack_name)
        if stack is not None and stack.get("StackStatus") == "REVIEW_IN_PROGRESS":
            stack = None  # the shell of a first change set that never ran: still a CREATE
        if stack is not None and stack.get("StackStatus") in _DEAD:
            raise StackDeployFailed(
                f"stack {stack_name} is {stack['StackStatus']} and cannot be updated; delete "
                f"it (aws cloudformation delete-stack --stack-name {stack_name}) and deploy "
                "again"
            )
        change_set_type = "UPDATE" if stack is not None else "CREATE"
        request: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": f"sam-ext-deploy-{uuid.uuid4().hex[:16]}",
            "ChangeSetType": change_set_type,
            "Parameters": self._parameters(parameters or {}, declared_parameters, stack),
            "Capabilities": list(capabilities),
            "Description": "Created by sam-ext deploy",
            **template,
        }
        try:
            with aws_call("cloudformation:CreateChangeSet", f"stack {stack_name}"):
                created = self.client.create_change_set(**request)
        except ValidationError as error:
            # Some endpoints refuse an empty change set outright rather than failing it.
            if any(marker in error.message for marker in _NO_CHANGES):
                return DeployOutcome(stack_name, change_set_type, changed=False)
            raise
        change_set = str(created["Id"])
        progress(f"waiting for change set {request['ChangeSetName']} of stack {stack_name}")

        def describe_change_set() -> dict[str, Any]:
            with aws_call("cloudformation:DescribeChangeSet", f"change set of stack {stack_name}"):
                return dict(
                    self.client.describe_change_set(ChangeSetName=change_set, StackName=stack_name)
                )

        described = self._poll(
            describe_change_set,
            lambda d: d.get("Status") in {"CREATE_COMPLETE", "FAILED"},
            f"change set of stack {stack_name}",
        )
        if described.get("Status") == "FAILED":
            reason = one_line(described.get("StatusReason") or "no reason given")
            if any(marker in reason for marker in _NO_CHANGES):
                return DeployOutcome(stack_name, change_set_type, changed=False)
            raise StackDeployFailed(f"stack {stack_name}: the change set failed: {reason}")
        changes = [
            dict(change["ResourceChange"])
            for change in described.get("Changes") or []
            if "ResourceChange" in change
        ]
        for change in changes:
            progress(
                f"  {change.get('Action', '?'):<8} {change.get('LogicalResourceId')} "
                f"({change.get('ResourceType')})"
            )
        with aws_call("cloudformation:ExecuteChangeSet", f"stack {stack_name}"):
            self.client.execute_change_set(ChangeSetName=change_set, StackName=stack_name)
        progress(f"waiting for stack {stack_name} ({change_set_type})")

        def describe_stack() -> dict[str, Any]:
            found = self.describe(stack_name)
            if found is None:
                raise StackDeployFailed(f"stack {stack_name} disappeared while deploying")
            return found

        final = self._poll(
            describe_stack,
            lambda s: not str(s.get("StackStatus", "")).endswith("_IN_PROGRESS"),
            f"stack {stack_name}",
        )
        status = str(final.get("StackStatus"))
        if status not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
            raise StackDeployFailed(
                f"stack {stack_name}: deployment failed ({status}): "
                f"{self._failure_reason(stack_name, final)}"
            )
        outputs = {
            str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in final.get("Outputs") or []
        }
        return DeployOutcome(stack_name, change_set_type, True, status, changes, outputs)
