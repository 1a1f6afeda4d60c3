"""CloudFormation deployments as ``sam deploy`` makes them: one change set per deploy.

The change set is of type ``CREATE`` when the stack does not exist yet (or only as the
``REVIEW_IN_PROGRESS`` shell a failed first change set leaves) and ``UPDATE`` otherwise;
it is created and waited for (:meth:`StackDeployer.create_change_set`), so the caller can
show it and ask, then executed and the stack waited for
(:meth:`StackDeployer.execute_change_set`). A change set that finds nothing to change
comes back empty (the caller decides whether that fails); a failed change set or a
rolled-back stack is one line naming the stack and the reason CloudFormation gives.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provider.arns import check_stack_name
from provider.backends.aws.errors import StackDeployFailed, aws_call, one_line
from provider.backends.aws.s3 import ObjectStore
from provider.errors import NotFoundError, ValidationError

#: What ``sam deploy`` passes for SAM templates (IAM roles, the Serverless transform).
DEFAULT_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
#: CloudFormation's limit for ``TemplateBody``; larger templates go through S3.
MAX_TEMPLATE_BODY = 51_200
#: How CloudFormation says a change set found nothing to change.
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
#: The stack holding ``--resolve-s3``'s bucket (sam-ext's own; SAM CLI's is
#: ``aws-sam-cli-managed-default``).
MANAGED_STACK = "sam-ext-managed-default"
_MANAGED_BUCKET = "SourceBucket"
#: Versioned (AWS Signer signs object versions only), private, encrypted at rest.
_MANAGED_TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "Managed by sam-ext: the versioned S3 bucket of sam-ext deploy --resolve-s3",
    "Resources": {
        _MANAGED_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "sam-ext-managed-${AWS::AccountId}-${AWS::Region}"},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "Tags": [{"Key": "ManagedStackSource", "Value": "SamExt"}],
            },
        }
    },
    "Outputs": {_MANAGED_BUCKET: {"Value": {"Ref": _MANAGED_BUCKET}}},
}
#: Stacks that exist but cannot take a change set until they are deleted.
_DEAD = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


@dataclass
class ChangeSet:
    """A computed change set, before it is executed."""

    stack_name: str
    change_set_type: str
    name: str
    #: The change set's ARN (``None`` when the endpoint refused an empty one outright).
    id: str | None
    #: ``ResourceChange`` documents (Action, LogicalResourceId, ResourceType, Replacement).
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: ``True`` when CloudFormation found nothing to change.
    empty: bool = False


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

    def create_change_set(
        self,
        stack_name: str,
        template_body: str,
        *,
        parameters: Mapping[str, str] | None = None,
        declared_parameters: Sequence[str] = (),
        capabilities: Sequence[str] = DEFAULT_CAPABILITIES,
        role_arn: str | None = None,
        notification_arns: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        upload_to: tuple[str, str] | None = None,
        progress: Callable[[str], None] = lambda _: None,
    ) -> ChangeSet:
        """Create a change set (CREATE or UPDATE) and wait until CloudFormation has computed
        it. One that finds nothing to change comes back ``empty``; a failed one raises
        :class:`StackDeployFailed` naming the stack and CloudFormation's reason."""
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
        name = f"sam-ext-deploy-{uuid.uuid4().hex[:16]}"
        request: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": name,
            "ChangeSetType": change_set_type,
            "Parameters": self._parameters(parameters or {}, declared_parameters, stack),
            "Capabilities": list(capabilities),
            "Description": "Created by sam-ext deploy",
            **template,
        }
        # As sam deploy: left out when not given, so an update keeps the stack's own.
        if role_arn is not None:
            request["RoleARN"] = role_arn
        if notification_arns:
            request["NotificationARNs"] = list(notification_arns)
        if tags:
            request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
        try:
            with aws_call("cloudformation:CreateChangeSet", f"stack {stack_name}"):
                created = self.client.create_change_set(**request)
        except ValidationError as error:
            # Some endpoints refuse an empty change set outright rather than failing it.
            if any(marker in error.message for marker in _NO_CHANGES):
                return ChangeSet(stack_name, change_set_type, name, None, empty=True)
            raise
        change_set_id = str(created["Id"])
        progress(f"waiting for change set {name} of stack {stack_name}")

        def describe_change_set(token: str | None = None) -> dict[str, Any]:
            params = {"ChangeSetName": change_set_id, "StackName": stack_name}
            if token:
                params["NextToken"] = token
            with aws_call("cloudformation:DescribeChangeSet", f"change set of stack {stack_name}"):
                return dict(self.client.describe_change_set(**params))

        described = self._poll(
            describe_change_set,
            lambda d: d.get("Status") in {"CREATE_COMPLETE", "FAILED"},
            f"change set of stack {stack_name}",
        )
        if described.get("Status") == "FAILED":
            reason = one_line(described.get("StatusReason") or "no reason given")
            if any(marker in reason for marker in _NO_CHANGES):
                return ChangeSet(stack_name, change_set_type, name, change_set_id, empty=True)
            raise StackDeployFailed(f"stack {stack_name}: the change set failed: {reason}")
        changes = _resource_changes(described)
        while described.get("NextToken"):  # a large change set comes in pages
            described = describe_change_set(str(described["NextToken"]))
            changes += _resource_changes(described)
        return ChangeSet(stack_name, change_set_type, name, change_set_id, changes)

    def execute_change_set(
        self,
        change_set: ChangeSet,
        *,
        disable_rollback: bool = False,
        progress: Callable[[str], None] = lambda _: None,
    ) -> DeployOutcome:
        """Execute a computed change set and wait for the stack. Raises
        :class:`StackDeployFailed` naming the stack and the first resource that failed
        when the stack does not end ``CREATE_COMPLETE``/``UPDATE_COMPLETE``."""
        stack_name = change_set.stack_name
        if change_set.empty or change_set.id is None:
            return DeployOutcome(stack_name, change_set.change_set_type, changed=False)
        request: dict[str, Any] = {"ChangeSetName": change_set.id, "StackName": stack_name}
        if disable_rollback:
            request["DisableRollback"] = True
        with aws_call("cloudformation:ExecuteChangeSet", f"stack {stack_name}"):
            self.client.execute_change_set(**request)
        progress(f"waiting for stack {stack_name} ({change_set.change_set_type})")

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
            kept = " (rollback disabled: the resources are left as they are)" * disable_rollback
            raise StackDeployFailed(
                f"stack {stack_name}: deployment failed ({status}): "
                f"{self._failure_reason(stack_name, final)}{kept}"
            )
        outputs = {
            str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in final.get("Outputs") or []
        }
        return DeployOutcome(
            stack_name, change_set.change_set_type, True, status, change_set.changes, outputs
        )

    def deploy(
        self,
        stack_name: str,
        template_body: str,
        *,
        disable_rollback: bool = False,
        progress: Callable[[str], None] = lambda _: None,
        **change_set_options: Any,
    ) -> DeployOutcome:
        """:meth:`create_change_set` (with ``change_set_options``), then
        :meth:`execute_change_set` unless it is empty."""
        change_set = self.create_change_set(
            stack_name, template_body, progress=progress, **change_set_options
        )
        return self.execute_change_set(
            change_set, disable_rollback=disable_rollback, progress=progress
        )

    # --- the managed bucket (--resolve-s3) ----------------------------------------------
    def managed_bucket(
        self,
        objects: ObjectStore,
        *,
        account: str,
        region: str,
        progress: Callable[[str], None] = lambda _: None,
    ) -> str:
        """The versioned bucket of the managed stack :data:`MANAGED_STACK`, created through
        a change set when the stack does not exist yet, else reused."""
        bucket = managed_bucket_name(account, region)
        stack = self.describe(MANAGED_STACK)
        status = str(stack.get("StackStatus", "")) if stack else ""
        if stack is None or status == "REVIEW_IN_PROGRESS":
            progress(f"creating the managed stack {MANAGED_STACK} (S3 bucket {bucket})")
            self.deploy(
                MANAGED_STACK,
                json.dumps(_MANAGED_TEMPLATE, indent=1),
                capabilities=(),
                tags={"ManagedStackSource": "SamExt"},
                progress=progress,
            )
        elif status not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
            raise StackDeployFailed(
                f"--resolve-s3: the managed stack {MANAGED_STACK} is {status}; delete it (aws "
                f"cloudformation delete-stack --stack-name {MANAGED_STACK}) and deploy again"
            )
        # The template enables versioning; this puts it back should anyone have suspended it.
        objects.ensure_versioning(bucket, progress=progress)
        progress(f"managed S3 bucket: {bucket}")
        return bucket


def managed_bucket_name(account: str, region: str) -> str:
    """The managed bucket's name: fixed per account and region (as CDK's bootstrap bucket
    is), so it is known without reading the stack."""
    return f"sam-ext-managed-{account}-{region}"


def _resource_changes(described: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(change["ResourceChange"])
        for change in described.get("Changes") or []
        if "ResourceChange" in change
    ]
