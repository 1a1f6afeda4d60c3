"""What moto's CloudFormation lacks for ``sam deploy`` against ``sam-ext serve``: the
``AWS::Serverless-2016-10-31`` transform (aws-sam-translator, as CloudFormation applies
it), ``AWS::Lambda::CodeSigningConfig`` and ``AWS::Signer::SigningProfile`` as resource
types (kept by the local backend), template URLs (of stacks and nested stacks) read from
the served S3 whatever their host form, a failed nested stack failing its parent, and a
stack that fails and rolls back, with the resource's error as its event reason, instead of
an HTTP 500 when a resource (a function Lambda refuses) cannot be created; SSM-typed
parameters and the template's ``Rules`` checked as CloudFormation checks them
(:mod:`provider.endpoint.cfn_rules`). Written for the moto
release :data:`provider.endpoint.moto_hook.PINNED_MOTO`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from typing import Any

from provider.endpoint import cfn_rules, patching
from provider.endpoint.lambda_api import csc_backend
from provider.endpoint.state import EndpointState, now
from provider.errors import CodesignError
from provider.objects import S3Object

_SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_state: EndpointState | None = None


def _served() -> EndpointState:
    if _state is None:
        raise CodesignError("sam-ext serve's CloudFormation resources need a running endpoint")
    return _state


class StackResourceFailed(CodesignError):
    """A resource of a stack could not be created; the stack fails with ``reason``.
    ``field`` is the resource's logical id (the input it names), ``error`` what failed."""

    code = "StackResourceFailed"

    def __init__(
        self, error: Exception, reason: str, logical_id: str | None, resource_type: str
    ) -> None:
        super().__init__(reason, field=logical_id)
        self.error = error
        self.reason = reason
        self.logical_id = logical_id
        self.resource_type = resource_type


def as_stack_failure(run: Callable[[], Any], logical_id: str | None, resource_type: str) -> Any:
    """Run a resource's creation; a Lambda or project error becomes a stack failure."""
    from moto.core.exceptions import ServiceException, _RESTError

    try:
        return run()
    except StackResourceFailed:
        raise  # a nested stack's resource: the failure it already is
    except _RESTError as exc:
        raise StackResourceFailed(
            exc, f"{exc.error_type}: {exc.message}", logical_id, resource_type
        ) from exc
    except ServiceException as exc:
        raise StackResourceFailed(
            exc, f"{exc.code}: {exc.message}", logical_id, resource_type
        ) from exc
    except CodesignError as exc:
        raise StackResourceFailed(
            exc, f"{exc.code}: {exc.message}", logical_id, resource_type
        ) from exc


@functools.cache
def _managed_policies() -> dict[str, str]:
    """AWS managed policy names to ARNs, from moto's copy of the list (SAM's Policies)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data)
    return {
        name: f"arn:aws:iam::aws:policy{doc.get('Path', '/')}{name}" for name, doc in data.items()
    }


def sam_transform(
    template: dict[str, Any], parameters: dict[str, Any] | None, region: str, account: str
) -> dict[str, Any]:
    """``template`` with the ``AWS::Serverless-2016-10-31`` transform applied (as
    CloudFormation applies it), or unchanged when it declares none."""
    declared = template.get("Transform") if isinstance(template, dict) else None
    names = declared if isinstance(declared, list) else [declared]
    if _SAM_TRANSFORM not in names:
        return template
    import boto3
    from moto.cloudformation.exceptions import ValidationError
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    values = {k: v for k, v in (parameters or {}).items() if isinstance(v, str)}
    values["AWS::AccountId"] = account
    # What samtranslator's transform() does, with the stack's region for the pseudo
    # parameters and ARN partitions (it would ask boto3's environment otherwise).
    fragment = copy.deepcopy(template)
    to_py27_compatible_template(fragment, values)
    # The translator's own metrics go to its dummy publisher; unpublished, they would be
    # a warning on the server's stderr at each transform's garbage collection.
    metrics = Metrics()
    translator = Translator(
        None,
        Parser(),
        boto_session=boto3.session.Session(
            region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused"
        ),
        metrics=metrics,
    )
    try:
        result = translator.translate(
            fragment, parameter_values=values, get_managed_policy_map=_managed_policies
        )
    except InvalidDocumentException as exc:
        messages = "; ".join(str(getattr(e, "message", e)) for e in exc.causes) or str(exc)
        raise ValidationError(
            message=f"Transform {_SAM_TRANSFORM} failed with: {messages}"
        ) from None
    finally:
        metrics.publish()
    translated: dict[str, Any] = undo_mark_unicode_str_in_template(result)
    return translated


def template_body(template_url: str, account_id: str, partition: str) -> str:
    """The template a ``TemplateURL`` names, read from the served S3: a URL of S3's own
    hosts (path-style or virtual-hosted, as ``sam package`` writes it for AWS) or of this
    server (path-style, as SAM CLI and sam-ext write it given the endpoint), in the version
    its ``versionId`` names (see :meth:`S3Object.from_url`). A URL naming no object here is
    CloudFormation's ValidationError, naming the URL."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import FakeKey, s3_backends

    try:
        obj = S3Object.from_url(template_url)
    except CodesignError as exc:
        raise ValidationError(message=f"TemplateURL must be a supported URL: {exc}") from None
    try:
        found = s3_backends[account_id][partition].get_object(
            obj.bucket, obj.key, version_id=obj.version
        )
    except MissingBucket:
        found = None
    if not isinstance(found, FakeKey):
        raise ValidationError(
            message="TemplateURL must reference a valid S3 object to which you have access: "
            f"{template_url} (no object {obj.uri} in this server's S3)"
        )
    return found.value.decode("utf-8")


def _wrap_cloudformation() -> None:
    from moto.cloudformation import models, parsing, responses

    original_stack_parse = patching.original(models.Stack, "_parse_template")
    original_change_set_parse = patching.original(models.ChangeSet, "_parse_template")
    original_create_stack = patching.original(models.CloudFormationBackend, "create_stack")
    original_execute = patching.original(models.CloudFormationBackend, "execute_change_set")
    original_create_change_set = patching.original(
        models.CloudFormationBackend, "create_change_set"
    )

    def stack_parse(self: Any) -> None:
        original_stack_parse(self)
        # (moto sets the stack's region after parsing; its id, an ARN, has it already)
        region = self.stack_id.split(":")[3]
        parameters = getattr(self, "parameters", {})
        self.template_dict = sam_transform(self.template_dict, parameters, region, self.account_id)
        cfn_rules.check_template(self.template_dict, parameters, self.account_id, region)

    def change_set_parse(self: Any) -> None:
        original_change_set_parse(self)
        region, account = self.stack_id.split(":")[3], self.stack.account_id
        self.template_dict = sam_transform(self.template_dict, self.parameters, region, account)
        cfn_rules.check_template(self.template_dict, self.parameters, account, region)

    def parse_ssm_parameter(self: Any, value: str, value_type: str) -> Any:
        # moto crashes (AttributeError) on a parameter that is not in its SSM.
        return cfn_rules.ssm_value(value, value_type, self._account_id, self._region_name)

    def create_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_create_stack(self, name, template, *args, **kwargs)
        except StackResourceFailed as failure:
            stack = next(s for s in self.stacks.values() if s.name == name)
            _fail(stack, failure, "CREATE")
            return stack

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> Any:
        # A change set CloudFormation refuses (a parameter it cannot resolve, a failed rule)
        # leaves no stack behind; moto would keep the REVIEW_IN_PROGRESS stack it made first.
        before = set(self.stacks)
        try:
            return original_create_change_set(self, *args, **kwargs)
        except Exception:
            for stack_id in set(self.stacks) - before:
                del self.stacks[stack_id]
            raise

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        try:
            original_execute(self, change_set_name, stack_name)
        except StackResourceFailed as failure:
            change_set = self.change_sets.get(change_set_name) or next(
                cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
            )
            change_set.execution_status = "EXECUTE_FAILED"
            _fail(self.stacks[change_set.stack_id], failure, change_set.change_set_type)

    def template_from_s3(self: Any, template_url: str) -> str:
        return template_body(template_url, self.current_account, self.partition)

    patching.install(responses.CloudFormationResponse, "_get_stack_from_s3_url", template_from_s3)
    # A nested stack's TemplateURL (AWS::CloudFormation::Stack) is read through this name.
    patching.install(models, "get_stack_from_s3_url", template_body)
    original_nested_create = patching.original(models.Stack, "create_from_cloudformation_json")

    def create_nested(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        """A nested stack (``AWS::CloudFormation::Stack``) that failed and rolled back
        fails its resource in the parent, as CloudFormation's "Embedded stack ... was not
        successfully created"; the failed child is deleted, as the parent's rollback
        deletes it (moto would report the parent created)."""
        logical_id = kwargs.get("LogicalId")
        child = as_stack_failure(
            lambda: original_nested_create(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            ),
            logical_id,
            "AWS::CloudFormation::Stack",
        )
        if child.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return child
        failed = next(
            (
                e.resource_status_reason
                for e in reversed(child.events)
                if e.resource_status == "ROLLBACK_IN_PROGRESS"
            ),
            None,
        )
        backend = models.cloudformation_backends[account_id][region_name]
        backend.delete_stack(child.stack_id)
        raise StackResourceFailed(
            CodesignError(f"embedded stack {child.stack_id} failed"),
            f"Embedded stack {child.stack_id} was not successfully created: "
            + (failed or f"it ended {child.status}"),
            logical_id,
            "AWS::CloudFormation::Stack",
        )

    patching.install(models.Stack, "create_from_cloudformation_json", classmethod(create_nested))
    patching.install(parsing.ResourceMap, "parse_ssm_parameter", parse_ssm_parameter)
    patching.install(models.Stack, "_parse_template", stack_parse)
    patching.install(models.ChangeSet, "_parse_template", change_set_parse)
    patching.install(models.CloudFormationBackend, "create_stack", create_stack)
    patching.install(models.CloudFormationBackend, "execute_change_set", execute_change_set)
    patching.install(models.CloudFormationBackend, "create_change_set", create_change_set)


def _fail(stack: Any, failure: StackResourceFailed, kind: str) -> None:
    """Record a failed resource and roll the stack back as CloudFormation does."""
    from moto.cloudformation.models import Event

    step = "CREATE" if kind == "CREATE" else "UPDATE"
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=failure.logical_id or "",
            physical_resource_id="",
            resource_type=failure.resource_type,
            resource_status=f"{step}_FAILED",
            resource_status_reason=failure.reason,
            resource_properties=None,
        )
    )
    prefix = "ROLLBACK" if kind == "CREATE" else "UPDATE_ROLLBACK"
    stack._add_stack_event(
        f"{prefix}_IN_PROGRESS",
        resource_status_reason=(
            f"The following resource(s) failed to {step.lower()}: [{failure.logical_id}]."
        ),
    )
    if kind == "CREATE":
        try:
            stack.resource_map.delete()
        except Exception as exc:  # what moto cannot delete stays; the stack says so
            stack.status = "ROLLBACK_FAILED"
            stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=str(exc))
            return
    stack.status = f"{prefix}_COMPLETE"
    stack._add_stack_event(f"{prefix}_COMPLETE")


def _register_resources() -> None:
    """``AWS::Lambda::CodeSigningConfig`` and ``AWS::Signer::SigningProfile`` as resource
    types of moto's CloudFormation (moto knows neither)."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class CfnCodeSigningConfig(CloudFormationModel):
        """``AWS::Lambda::CodeSigningConfig``, kept by the local backend."""

        def __init__(self, arn: str) -> None:
            self.arn = arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::CodeSigningConfig"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("CodeSigningConfigArn", "CodeSigningConfigId")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn if attribute_name == "CodeSigningConfigArn" else self.arn.split(":")[-1]

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnCodeSigningConfig:
            properties = cloudformation_json.get("Properties", {})

            def create() -> CfnCodeSigningConfig:
                document = (
                    _served()
                    .backend(account_id, region_name)
                    .create_code_signing_config(
                        properties.get("AllowedPublishers", {}).get(
                            "SigningProfileVersionArns", []
                        ),
                        policy=properties.get("CodeSigningPolicies", {}).get(
                            "UntrustedArtifactOnDeployment"
                        ),
                        description=properties.get("Description"),
                        now=now(),
                    )
                )
                return cls(document["CodeSigningConfig"]["CodeSigningConfigArn"])

            created: CfnCodeSigningConfig = as_stack_failure(
                create, kwargs.get("LogicalId"), "AWS::Lambda::CodeSigningConfig"
            )
            return created

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: CfnCodeSigningConfig,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> CfnCodeSigningConfig:
            properties = cloudformation_json.get("Properties", {})
            csc_backend(_served(), original_resource.arn).update_code_signing_config(
                original_resource.arn,
                allowed=properties.get("AllowedPublishers", {}).get("SigningProfileVersionArns"),
                policy=properties.get("CodeSigningPolicies", {}).get(
                    "UntrustedArtifactOnDeployment"
                ),
                description=properties.get("Description"),
                now=now(),
            )
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            csc_backend(_served(), resource_name).delete_code_signing_config(resource_name)

        def delete(self, account_id: str, region_name: str) -> None:
            csc_backend(_served(), self.arn).delete_code_signing_config(self.arn)

    class CfnSigningProfile(CloudFormationModel):
        """``AWS::Signer::SigningProfile``, kept by the local backend (delete = cancel)."""

        def __init__(self, document: dict[str, Any], name: str, account: str, region: str) -> None:
            self.document = document
            self.name = name
            self.account = account
            self.region = region

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Signer::SigningProfile"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "ProfileName"

        @property
        def physical_resource_id(self) -> str:
            return str(self.document["arn"])

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Arn", "ProfileName", "ProfileVersion", "ProfileVersionArn")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return str(
                {
                    "Arn": self.document["arn"],
                    "ProfileName": self.name,
                    "ProfileVersion": self.document["profileVersion"],
                    "ProfileVersionArn": self.document["profileVersionArn"],
                }[attribute_name]
            )

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnSigningProfile:
            from provider.validity import ValidityPeriod

            properties = cloudformation_json.get("Properties", {})
            # A generated physical name has dashes; profile names allow [A-Za-z0-9_].
            name = (
                properties.get("ProfileName") or re.sub(r"[^A-Za-z0-9_]", "_", resource_name)[:64]
            )
            period = properties.get("SignatureValidityPeriod")

            def create() -> CfnSigningProfile:
                document = (
                    _served()
                    .backend(account_id, region_name)
                    .put_signing_profile(
                        name,
                        platform_id=properties.get("PlatformId", ""),
                        validity=None
                        if period is None
                        else ValidityPeriod.from_document(
                            {"value": period.get("Value"), "type": period.get("Type")}
                        ),
                        tags={t["Key"]: t["Value"] for t in properties.get("Tags", [])},
                        now=now(),
                    )
                )
                return cls(document, name, account_id, region_name)

            created: CfnSigningProfile = as_stack_failure(
                create, kwargs.get("LogicalId"), "AWS::Signer::SigningProfile"
            )
            return created

        def delete(self, account_id: str, region_name: str) -> None:
            _served().backend(self.account, self.region).cancel_signing_profile(
                self.name, now=now()
            )

    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def _layer_versions_deletable() -> None:
    """A stack's ``AWS::Lambda::LayerVersion`` is deleted with the stack and by its
    rollback, as CloudFormation deletes it (moto's layer version has no delete, so a
    rolled-back stack would leave its layers behind)."""
    from moto.awslambda.models import LayerVersion, lambda_backends

    def delete(self: Any, account_id: str, region_name: str) -> None:
        lambda_backends[self.account_id][self.region].delete_layer_version(
            self.name, str(self.version)
        )

    patching.install(LayerVersion, "delete", delete)


def install(state: EndpointState, *, first: bool) -> None:
    """Wrap moto's CloudFormation (once per process) for the endpoint's ``state``."""
    global _state
    _state = state
    if first:
        _wrap_cloudformation()
        _register_resources()
        _layer_versions_deletable()
