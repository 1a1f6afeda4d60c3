"""The one narrow hook on moto: Lambda's code signing checks where moto deploys code.

moto's Lambda backend creates functions, updates their code and layers, and publishes
layers; its CloudFormation creates functions and layers through the same backend. This
module wraps exactly those methods (written for, and refusing any moto but,
:data:`PINNED_MOTO`) so a function with a code signing config is checked as Lambda checks
it, by the project's one ``decide``; :mod:`.cloudformation` adds what moto's
CloudFormation lacks for ``sam deploy``.

As Lambda, a deployment's code is read once: the request's ``ZipFile``, or one read of the
S3 object (the version named, else the latest). That buffer is judged and handed to moto
as the request's ``ZipFile``, so what is deployed is what was judged even if the key is
overwritten meanwhile (moto would read the key again, at its latest version).
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import sys
from typing import Any

from provider.endpoint import cloudformation, code_locations, patching, s3, signed_code
from provider.endpoint.cloudformation import as_stack_failure
from provider.endpoint.lambda_api import csc_policy, moto_lambda
from provider.endpoint.protocol import error_status
from provider.endpoint.state import EndpointState, now
from provider.errors import CodesignError
from provider.inspect_package import facts_from_bytes
from provider.verdict import Decision, Verdict, decide

#: The moto release these wraps were written against (its method signatures and model
#: attributes); another version is refused at start rather than half-working.
PINNED_MOTO = "5.2.5"
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


def _as_lambda_error(exc: CodesignError) -> Exception:
    return _lambda_error(exc.code, exc.message)


# --- the code a deployment carries, read once -------------------------------------------------
#: The members of a FunctionCode (or a layer's Content) that name S3 bytes.
_S3_MEMBERS = ("S3Bucket", "S3Key", "S3ObjectVersion")


def _invalid(message: str) -> Exception:
    return _lambda_error("InvalidParameterValueException", message)


def _code_bytes(account: str, code: dict[str, Any]) -> bytes | None:
    """The .zip a deployment carries, read once: the request's ``ZipFile``, or one read of
    the S3 object (the version named, else the latest); None when it names neither."""
    if "ZipFile" in code:
        raw = code["ZipFile"]
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, TypeError, ValueError):
            raise _invalid("Code.ZipFile: not base64-encoded .zip bytes") from None
    if "S3Bucket" in code and "S3Key" in code:
        data = s3.read_object(account, code["S3Bucket"], code["S3Key"], code.get("S3ObjectVersion"))
        if data is None:
            # Lambda's (and moto's) words for each case
            missing = (
                "NoSuchKey. S3 Error Message: The specified key does not exist."
                if s3.has_bucket(account, code["S3Bucket"])
                else "NoSuchBucket. S3 Error Message: The specified bucket does not exist"
            )
            raise _invalid(f"Error occurred while GetObject. S3 Error Code: {missing}")
        return data
    return None


def _function_zip(
    account: str, code: dict[str, Any], package_type: str, *, updating: bool
) -> bytes | None:
    """The .zip a function deployment (CreateFunction's ``Code``, UpdateFunctionCode's
    body) carries, read once; None for a container image (no code signing). The members
    go together as Lambda requires."""
    s3_members = [m for m in _S3_MEMBERS if m in code]
    if package_type == "Image":
        if updating and ("ImageUri" not in code or "ZipFile" in code or s3_members):
            raise _invalid(
                "Please provide ImageUri when updating a function with packageType Image."
            )
        return None
    if "ImageUri" in code:
        raise _invalid(
            "Please don't provide ImageUri when updating a function with packageType Zip."
            if updating
            else "Please don't provide ImageUri when the intended function PackageType is Zip."
        )
    if "ZipFile" in code and s3_members:
        raise _invalid(
            "Please do not provide other FunctionCode parameters when providing a ZipFile."
        )
    data = _code_bytes(account, code)
    if data is None:
        raise _invalid("Please provide a source for function code.")
    return data


def _as_zipfile(code: dict[str, Any], data: bytes) -> dict[str, Any]:
    """``code`` carrying exactly ``data``, the bytes read and judged: moto would read an S3
    key again (its latest version, whatever ``S3ObjectVersion`` says), and the key may have
    been overwritten since."""
    kept = {k: v for k, v in code.items() if k not in (*_S3_MEMBERS, "ZipFile")}
    return {**kept, "ZipFile": base64.b64encode(data).decode("ascii")}


def _cfn_code(code: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation ``Code`` as the API takes it: its ``ZipFile`` is the source text of
    one file, which CloudFormation zips as ``index`` (moto does so on create only)."""
    if "ZipFile" not in code or not isinstance(code["ZipFile"], str):
        return code
    from moto.awslambda.models import LambdaFunction

    zipped = LambdaFunction._create_zipfile_from_plaintext_code(code["ZipFile"])
    return {**code, "ZipFile": base64.b64encode(zipped).decode("ascii")}


def _layer_versions(backend: Any, arns: list[str]) -> list[Any]:
    """moto's layer versions of ``arns``, or moto's own error naming them all."""
    from moto.awslambda.exceptions import UnknownLayerVersionException

    found = [backend.layers_versions_by_arn(arn) for arn in arns]
    if not all(found):
        raise UnknownLayerVersionException(arns)
    return found


# --- the check ---------------------------------------------------------------------------------
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
    for arn, layer in zip(
        layers, _layer_versions(moto_lambda(account, region), layers), strict=True
    ):
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


def _signer(data: bytes | None, verdicts: list[Verdict]) -> dict[str, Any]:
    """The signer fields of deployed code (see :mod:`.signed_code`)."""
    if _state is None:
        return {}
    return signed_code.judged_fields(data, _state, [v.facts for v in verdicts])


# --- wraps on moto's Lambda backend --------------------------------------------------------------
def _wrap_lambda() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction, LayerVersion

    create_function = patching.original(LambdaBackend, "create_function")
    update_code = patching.original(LambdaBackend, "update_function_code")
    update_configuration = patching.original(LambdaBackend, "update_function_configuration")
    publish_layer = patching.original(LambdaBackend, "publish_layer_version")

    def create(self: Any, spec: dict[str, Any]) -> Any:
        spec = {**spec, **(_CFN_EXTRA.get() or {})}
        _layer_versions(self, list(spec.get("Layers", [])))  # moto's first check
        code = spec.get("Code") or {}
        data = _function_zip(
            self.account_id, code, spec.get("PackageType") or "Zip", updating=False
        )
        verdicts = check_deployment(
            self.account_id,
            self.region_name,
            str(spec.get("FunctionName")),
            spec.get("CodeSigningConfigArn"),
            data,
            list(spec.get("Layers", [])),
        )
        if data is not None:
            spec["Code"] = _as_zipfile(code, data)
        # The signer, as moto's function takes it (so a version published now has it too).
        signer = _signer(data, verdicts)
        spec.update({member: signer.get(member) for member, _ in signed_code.FIELDS})
        return create_function(self, spec)

    def update_function_code(
        self: Any, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> Any:
        fn = self.get_function(function_name, qualifier)
        data = _function_zip(self.account_id, body, fn.package_type, updating=True)
        if data is not None:
            body = _as_zipfile(body, data)
        if body.get("DryRun"):
            return update_code(self, function_name, qualifier, body)
        verdicts = check_deployment(
            self.account_id,
            self.region_name,
            fn.function_name,
            fn.code_signing_config_arn,
            data,
            [],
        )
        earlier = signed_code.recorded(fn)
        # Recorded first: a version published by this update copies the function.
        signed_code.record(fn, _signer(data, verdicts))
        try:
            return update_code(self, function_name, qualifier, body)
        except BaseException:
            signed_code.record(fn, earlier)
            raise

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
        # Layers have no code signing config; they are judged on the functions using them,
        # on the bytes published here (read once; a layer version never changes).
        content = spec.get("Content") or {}
        data = _code_bytes(self.account_id, content)
        if data is not None:
            spec = {**spec, "Content": _as_zipfile(content, data)}
        layer = publish_layer(self, spec)
        signed_code.record(layer, _signer(data, []))
        return layer

    patching.install(LambdaBackend, "create_function", create)
    patching.install(LambdaBackend, "update_function_code", update_function_code)
    patching.install(LambdaBackend, "update_function_configuration", update_function_configuration)
    patching.install(LambdaBackend, "publish_layer_version", publish_layer_version)

    original_cfn_create = patching.original(LambdaFunction, "create_from_cloudformation_json")
    original_cfn_update = patching.original(LambdaFunction, "update_from_cloudformation_json")
    original_layer_create = patching.original(LayerVersion, "create_from_cloudformation_json")

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
        extra = {
            k: properties[k]
            for k in ("CodeSigningConfigArn", "Layers", "PackageType")
            if k in properties
        }
        token = _CFN_EXTRA.set(extra)
        try:
            return as_stack_failure(
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
            code = _cfn_code(properties.get("Code") or {})
            data = _function_zip(account_id, code, original_resource.package_type, updating=True)
            verdicts = check_deployment(
                account_id,
                region_name,
                original_resource.function_name,
                csc_arn,
                data,
                list(properties.get("Layers", [])),
            )
            original_resource.code_signing_config_arn = csc_arn
            if data is not None:
                signed_code.record(original_resource, _signer(data, verdicts))
            deployed = (
                properties if data is None else {**properties, "Code": _as_zipfile(code, data)}
            )
            return original_cfn_update(
                cls,
                original_resource,
                new_resource_name,
                {**cloudformation_json, "Properties": deployed},
                account_id,
                region_name,
            )

        return as_stack_failure(
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
        return as_stack_failure(
            lambda: original_layer_create(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            ),
            kwargs.get("LogicalId"),
            "AWS::Lambda::LayerVersion",
        )

    # CloudFormation's Ref of an AWS::Lambda::LayerVersion is its version ARN; moto's
    # LayerVersion has no physical id, so a function's Layers would get the object itself.
    patching.install(LayerVersion, "physical_resource_id", property(lambda self: self.arn))
    patching.install(LambdaFunction, "create_from_cloudformation_json", classmethod(cfn_create))
    patching.install(LambdaFunction, "update_from_cloudformation_json", classmethod(cfn_update))
    patching.install(LayerVersion, "create_from_cloudformation_json", classmethod(layer_create))


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
        code_locations.install()
        signed_code.install()
    cloudformation.install(state, first=first)
