"""The one narrow hook on moto: Lambda's code signing checks where moto deploys code.

moto's Lambda backend creates functions, updates their code and layers, and publishes
layers; its CloudFormation creates functions through the same backend. This module wraps
exactly those methods (written for, and refusing any moto but, :data:`PINNED_MOTO`) so a
function with a code signing config is checked as Lambda checks it, by the project's one
``decide``, and adds what moto's CloudFormation lacks for ``sam deploy``: the
``AWS::Serverless-2016-10-31`` transform (aws-sam-translator), the
``AWS::Lambda::CodeSigningConfig`` resource type, and a stack that fails (with Lambda's
message as the resource's event reason) instead of an HTTP 500 when a function is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import copy
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from provider.endpoint import s3
from provider.endpoint.lambda_api import csc_backend, csc_policy, moto_lambda
from provider.endpoint.protocol import error_status
from provider.endpoint.state import EndpointState, now
from provider.errors import CodesignError
from provider.inspect_package import facts_from_bytes
from provider.verdict import Decision, Verdict, decide

#: The moto release these wraps were written against (its method signatures and model
#: attributes); another version is refused at start rather than half-working.
PINNED_MOTO = "5.2.5"
_SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
#: Properties of a CloudFormation ``AWS::Lambda::Function`` that moto's CloudFormation
#: drops and the check needs; handed to ``create_function`` alongside moto's spec.
_CFN_EXTRA: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "cfn_extra", default=None
)
_state: EndpointState | None = None


def _lambda_error(code: str, message: str) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError(code, message)
    error.code = error_status("lambda", code)
    return error


class StackResourceFailed(Exception):
    """A resource of a stack could not be created; the stack fails with ``reason``."""

    def __init__(
        self, error: Exception, reason: str, logical_id: str | None, resource_type: str
    ) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.logical_id = logical_id
        self.resource_type = resource_type


def _as_lambda_error(exc: CodesignError) -> Exception:
    return _lambda_error(exc.code, exc.message)


# --- the check ---------------------------------------------------------------------------------
def _code_bytes(account: str, code: dict[str, Any]) -> bytes | None:
    """The .zip a deployment carries (None for container images: no code signing)."""
    if "ZipFile" in code:
        raw = code["ZipFile"]
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, TypeError, ValueError):
            raise _lambda_error(
                "InvalidParameterValueException", "Code.ZipFile: not base64-encoded .zip bytes"
            ) from None
    if "S3Bucket" in code and "S3Key" in code:
        data = s3.read_object(account, code["S3Bucket"], code["S3Key"], code.get("S3ObjectVersion"))
        if data is None:
            raise _lambda_error(
                "InvalidParameterValueException",
                "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: "
                f"s3://{code['S3Bucket']}/{code['S3Key']} does not exist",
            )
        return data
    return None


def check_deployment(
    account: str,
    region: str,
    function: str,
    csc_arn: str | None,
    code: bytes | None,
    layers: list[str],
) -> list[Verdict]:
    """Judge the code and layers of a deployment under the function's code signing config;
    a rejection raises Lambda's exception, a Warn records the SignatureValidationErrors
    metric (moto's CloudWatch) and a line on stderr."""
    if not csc_arn or _state is None:
        return []
    try:
        policy = csc_policy(_state, csc_arn)
    except CodesignError as exc:
        raise _as_lambda_error(exc) from None
    artifacts: list[tuple[str, bytes]] = []
    if code is not None:
        artifacts.append((f"function {function}", code))
    backend = moto_lambda(account, region)
    for arn in layers:
        layer = backend.layers_versions_by_arn(arn)
        if layer is None:
            raise _lambda_error("ResourceNotFoundException", f"layer version {arn} does not exist")
        artifacts.append((f"layer {arn}", layer.code_bytes))
    at = now()
    verdicts = [
        decide(facts_from_bytes(data, _state, name=label), policy, at) for label, data in artifacts
    ]
    rejected = [v for v in verdicts if v.decision is Decision.REJECT]
    if rejected:
        raise _lambda_error(
            rejected[0].exception or "CodeVerificationFailedException",
            f"Lambda cannot deploy function {function} under code signing config {csc_arn} "
            f"({policy.policy}): " + "; ".join(v.message for v in rejected),
        )
    for verdict in verdicts:
        if verdict.decision is Decision.WARN:
            _record_warning(account, region, function, verdict)
    return verdicts


def _record_warning(account: str, region: str, function: str, verdict: Verdict) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account][region].put_metric_data(
        namespace="AWS/Lambda",
        metric_data=[
            {
                "MetricName": "SignatureValidationErrors",
                "Value": 1,
                "Unit": "Count",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
            }
        ],
    )
    print(f"sam-ext serve: warning: {verdict.message}", file=sys.stderr, flush=True)


def _pin(target: Any, data: bytes | None) -> None:
    """moto reads an S3 object's latest version whatever ``S3ObjectVersion`` says; what
    was checked is the version asked for, so that is what the function gets."""
    if data is None:
        return
    digest = hashlib.sha256(data)
    target.code_bytes = data
    target.code_size = len(data)
    target.code_sha_256 = base64.b64encode(digest.digest()).decode()
    target.code_digest = digest.hexdigest()


# --- wraps on moto's Lambda backend --------------------------------------------------------------
def _wrap_lambda() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction, LayerVersion

    create_function = LambdaBackend.create_function
    update_code = LambdaBackend.update_function_code
    update_configuration = LambdaBackend.update_function_configuration
    publish_layer = LambdaBackend.publish_layer_version

    def create(self: Any, spec: dict[str, Any]) -> Any:
        spec = {**spec, **(_CFN_EXTRA.get() or {})}
        data = _code_bytes(self.account_id, spec.get("Code", {})) if spec.get("Code") else None
        check_deployment(
            self.account_id,
            self.region_name,
            str(spec.get("FunctionName")),
            spec.get("CodeSigningConfigArn"),
            data,
            list(spec.get("Layers", [])),
        )
        fn = create_function(self, spec)
        if spec.get("Code", {}).get("S3ObjectVersion"):
            _pin(self.get_function(spec["FunctionName"]), data)
        return fn

    def update_function_code(
        self: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        fn = self.get_function(function_name, qualifier)
        data = _code_bytes(self.account_id, body)
        if not body.get("DryRun"):
            check_deployment(
                self.account_id,
                self.region_name,
                fn.function_name,
                fn.code_signing_config_arn,
                data,
                [],
            )
        result = update_code(self, function_name, qualifier, body)
        if body.get("S3ObjectVersion") and not body.get("DryRun"):
            _pin(fn, data)
        return result

    def update_function_configuration(
        self: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        fn = self.get_function(function_name, qualifier)
        if "Layers" in body:
            check_deployment(
                self.account_id,
                self.region_name,
                fn.function_name,
                fn.code_signing_config_arn,
                None,
                list(body["Layers"]),
            )
        return update_configuration(self, function_name, qualifier, body)

    def publish_layer_version(self: Any, spec: dict[str, Any]) -> Any:
        # Layers have no code signing config; they are judged on the functions using them.
        layer = publish_layer(self, spec)
        content = spec.get("Content", {})
        if content.get("S3ObjectVersion"):
            _pin(layer, _code_bytes(self.account_id, content))
        return layer

    LambdaBackend.create_function = create  # type: ignore[method-assign]
    LambdaBackend.update_function_code = update_function_code  # type: ignore[method-assign]
    LambdaBackend.update_function_configuration = (  # type: ignore[method-assign]
        update_function_configuration
    )
    LambdaBackend.publish_layer_version = publish_layer_version  # type: ignore[method-assign]

    original_cfn_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_cfn_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_layer_create = LayerVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def cfn_create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        extra = {k: properties[k] for k in ("CodeSigningConfigArn", "Layers") if k in properties}
        token = _CFN_EXTRA.set(extra)
        try:
            return _as_stack_failure(
                lambda: original_cfn_create(
                    cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
                ),
                kwargs.get("LogicalId"),
                "AWS::Lambda::Function",
            )
        finally:
            _CFN_EXTRA.reset(token)

    def cfn_update(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        csc_arn = properties.get("CodeSigningConfigArn", original_resource.code_signing_config_arn)

        def run() -> Any:
            data = _code_bytes(account_id, properties.get("Code", {}))
            check_deployment(
                account_id,
                region_name,
                original_resource.function_name,
                csc_arn,
                data,
                list(properties.get("Layers", [])),
            )
            original_resource.code_signing_config_arn = csc_arn
            return original_cfn_update(
                cls,
                original_resource,
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
            )

        return _as_stack_failure(
            run, getattr(original_resource, "logical_resource_id", None), "AWS::Lambda::Function"
        )

    def layer_create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return _as_stack_failure(
            lambda: original_layer_create(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            ),
            kwargs.get("LogicalId"),
            "AWS::Lambda::LayerVersion",
        )

    # CloudFormation's Ref of an AWS::Lambda::LayerVersion is its version ARN; moto's
    # LayerVersion has no physical id, so a function's Layers would get the object itself.
    LayerVersion.physical_resource_id = property(lambda self: self.arn)  # type: ignore[attr-defined]
    LambdaFunction.create_from_cloudformation_json = classmethod(cfn_create)  # type: ignore[method-assign,assignment]
    LambdaFunction.update_from_cloudformation_json = classmethod(cfn_update)  # type: ignore[method-assign,assignment]
    LayerVersion.create_from_cloudformation_json = classmethod(layer_create)  # type: ignore[method-assign,assignment]


def _as_stack_failure(run: Callable[[], Any], logical_id: str | None, resource_type: str) -> Any:
    """Run a resource's creation; a Lambda or project error becomes a stack failure."""
    from moto.core.exceptions import ServiceException, _RESTError

    try:
        return run()
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


# --- CloudFormation: the SAM transform, the CSC resource type, failing stacks -------------------
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
    translator = Translator(
        None,
        Parser(),
        boto_session=boto3.session.Session(
            region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused"
        ),
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
    return undo_mark_unicode_str_in_template(result)  # type: ignore[no-any-return]


def _path_style(template_url: str) -> str:
    """A template URL on this server (``http://127.0.0.1:PORT/bucket/key``, as SAM CLI
    builds it from its endpoint) in the path style moto parses (it knows ``localhost``)."""
    from urllib.parse import urlparse

    parts = urlparse(template_url)
    host = parts.hostname or ""
    if host.replace(".", "").isdigit() or host.startswith("[") or ":" in host:
        return parts._replace(netloc=f"localhost:{parts.port or 80}").geturl()
    return template_url


def _wrap_cloudformation() -> None:
    from moto.cloudformation import models, responses

    original_stack_parse = models.Stack._parse_template
    original_change_set_parse = models.ChangeSet._parse_template
    original_create_stack = models.CloudFormationBackend.create_stack
    original_execute = models.CloudFormationBackend.execute_change_set

    def stack_parse(self: Any) -> None:
        original_stack_parse(self)
        # (moto sets the stack's region after parsing; its id, an ARN, has it already)
        self.template_dict = sam_transform(
            self.template_dict,
            getattr(self, "parameters", {}),
            self.stack_id.split(":")[3],
            self.account_id,
        )

    def change_set_parse(self: Any) -> None:
        original_change_set_parse(self)
        self.template_dict = sam_transform(
            self.template_dict, self.parameters, self.stack_id.split(":")[3], self.stack.account_id
        )

    def create_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_create_stack(self, name, template, *args, **kwargs)
        except StackResourceFailed as failure:
            stack = next(s for s in self.stacks.values() if s.name == name)
            _fail(stack, failure, "CREATE")
            return stack

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
        return original_from_s3(self, _path_style(template_url))

    original_from_s3 = responses.CloudFormationResponse._get_stack_from_s3_url
    responses.CloudFormationResponse._get_stack_from_s3_url = (  # type: ignore[method-assign]
        template_from_s3
    )
    models.Stack._parse_template = stack_parse  # type: ignore[method-assign]
    models.ChangeSet._parse_template = change_set_parse  # type: ignore[method-assign]
    models.CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


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
                assert _state is not None
                document = _state.backend(account_id, region_name).create_code_signing_config(
                    properties.get("AllowedPublishers", {}).get("SigningProfileVersionArns", []),
                    policy=properties.get("CodeSigningPolicies", {}).get(
                        "UntrustedArtifactOnDeployment"
                    ),
                    description=properties.get("Description"),
                    now=now(),
                )
                return cls(document["CodeSigningConfig"]["CodeSigningConfigArn"])

            created: CfnCodeSigningConfig = _as_stack_failure(
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
            assert _state is not None
            csc_backend(_state, original_resource.arn).update_code_signing_config(
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
            assert _state is not None
            csc_backend(_state, resource_name).delete_code_signing_config(resource_name)

        def delete(self, account_id: str, region_name: str) -> None:
            assert _state is not None
            csc_backend(_state, self.arn).delete_code_signing_config(self.arn)

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
                assert _state is not None
                document = _state.backend(account_id, region_name).put_signing_profile(
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
                return cls(document, name, account_id, region_name)

            created: CfnSigningProfile = _as_stack_failure(
                create, kwargs.get("LogicalId"), "AWS::Signer::SigningProfile"
            )
            return created

        def delete(self, account_id: str, region_name: str) -> None:
            assert _state is not None
            _state.backend(self.account, self.region).cancel_signing_profile(self.name, now=now())

    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def install(state: EndpointState) -> None:
    """Install the hook (once per process) for the endpoint's ``state``."""
    global _state
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise CodesignError(
            f"sam-ext serve's hook on moto was written for moto {PINNED_MOTO}; moto "
            f"{moto.__version__} is installed (pip install 'moto[server]=={PINNED_MOTO}')",
            code="UnsupportedMoto",
        )
    first = _state is None
    _state = state
    if first:
        _wrap_lambda()
        _wrap_cloudformation()
        _register_resources()
