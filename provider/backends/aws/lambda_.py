"""Lambda's code signing configs, functions and layers, through boto3.

On AWS, Lambda itself checks code at CreateFunction, UpdateFunctionCode and
UpdateFunctionConfiguration; its refusals (``InvalidCodeSignatureException``,
``CodeVerificationFailedException``) become :class:`~provider.errors.DeploymentRejected`,
explained by the verdict this backend predicts for the same code when it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.arns import FUNCTION_NAME_RE, check_csc_arn
from provider.backends.aws import documents
from provider.backends.aws.errors import aws_call, restated
from provider.backends.aws.s3 import S3Object, as_object
from provider.backends.base import Document, csc_request, policy_of_config
from provider.errors import CodesignError, ConflictError, DeploymentRejected, ValidationError
from provider.verdict import CscPolicy, Decision, Verdict

if TYPE_CHECKING:
    from provider.backends.aws.session import AwsClients

#: A function's code: an S3 object, or ``s3://bucket/key[?versionId=V]``.
Code = S3Object | str | Path


def _check_function_name(name: str, field: str = "FunctionName") -> str:
    if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
        raise ValidationError(f"{field}: {name!r} must be 1 to 64 letters, digits, '-' or '_'")
    return name


def _csc_resource(arn: str) -> str:
    return f"code signing config {arn}"


class AwsLambda:
    """Code signing configs, functions and layers on AWS Lambda."""

    clients: AwsClients

    #: Provided by :class:`~provider.backends.aws.AwsBackend`: the facts need Signer and S3.
    evaluate_package: Callable[..., Verdict]

    # --- code signing configs -----------------------------------------------------------
    def create_code_signing_config(
        self,
        allowed: Sequence[str],
        *,
        policy: str | None = None,
        description: str | None = None,
        now: datetime,
    ) -> Document:
        """CreateCodeSigningConfig (policy defaults to ``Warn``)."""
        request = csc_request(allowed, policy, description)
        with aws_call("lambda:CreateCodeSigningConfig", "a new code signing config"):
            response = self.clients.lambda_.create_code_signing_config(**request)
        return {"CodeSigningConfig": documents.code_signing_config(response["CodeSigningConfig"])}

    def get_code_signing_config(self, arn: str) -> Document:
        """GetCodeSigningConfig."""
        check_csc_arn(arn)
        with aws_call("lambda:GetCodeSigningConfig", _csc_resource(arn)):
            response = self.clients.lambda_.get_code_signing_config(CodeSigningConfigArn=arn)
        return {"CodeSigningConfig": documents.code_signing_config(response["CodeSigningConfig"])}

    def update_code_signing_config(
        self,
        arn: str,
        *,
        allowed: Sequence[str] | None = None,
        policy: str | None = None,
        description: str | None = None,
        now: datetime,
    ) -> Document:
        """UpdateCodeSigningConfig: only the given fields change. Deployed code is not
        re-checked until its next deployment."""
        current = self.get_code_signing_config(arn)["CodeSigningConfig"]
        merged = csc_request(
            list(allowed)
            if allowed is not None
            else current["AllowedPublishers"]["SigningProfileVersionArns"],
            policy
            if policy is not None
            else current["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"],
            description if description is not None else current.get("Description", ""),
        )
        params: dict[str, Any] = {"CodeSigningConfigArn": arn}
        if allowed is not None:
            params["AllowedPublishers"] = merged["AllowedPublishers"]
        if policy is not None:
            params["CodeSigningPolicies"] = merged["CodeSigningPolicies"]
        if description is not None:
            params["Description"] = description
        with aws_call("lambda:UpdateCodeSigningConfig", _csc_resource(arn)):
            response = self.clients.lambda_.update_code_signing_config(**params)
        return {"CodeSigningConfig": documents.code_signing_config(response["CodeSigningConfig"])}

    def delete_code_signing_config(self, arn: str) -> None:
        """DeleteCodeSigningConfig; refused while a function uses it (the error names them)."""
        check_csc_arn(arn)
        try:
            with aws_call("lambda:DeleteCodeSigningConfig", _csc_resource(arn)):
                self.clients.lambda_.delete_code_signing_config(CodeSigningConfigArn=arn)
        except ConflictError as error:
            try:
                users = self.list_functions_by_code_signing_config(arn)
            except CodesignError:
                users = []
            named = f" by function(s) {', '.join(users)}" if users else " by a function"
            detach = " ".join(
                f"aws lambda delete-function-code-signing-config --function-name {user};"
                for user in users or ["FUNCTION"]
            )
            raise ConflictError(
                f"code signing config {arn} is in use{named}; detach it first ({detach} or "
                "remove CodeSigningConfigArn from their template and deploy it again), or "
                f"delete those functions ({error.message})",
                code="ResourceConflictException",
            ) from None

    def list_code_signing_configs(self) -> Document:
        """ListCodeSigningConfigs (every page)."""
        configs: list[Document] = []
        paginator = self.clients.lambda_.get_paginator("list_code_signing_configs")
        with aws_call("lambda:ListCodeSigningConfigs", "code signing configs"):
            for page in paginator.paginate():
                configs.extend(
                    documents.code_signing_config(c) for c in page.get("CodeSigningConfigs", [])
                )
        return {"CodeSigningConfigs": configs}

    def list_functions_by_code_signing_config(self, arn: str) -> list[str]:
        """The ARNs of the functions a code signing config is attached to."""
        check_csc_arn(arn)
        arns: list[str] = []
        paginator = self.clients.lambda_.get_paginator("list_functions_by_code_signing_config")
        with aws_call("lambda:ListFunctionsByCodeSigningConfig", _csc_resource(arn)):
            for page in paginator.paginate(CodeSigningConfigArn=arn):
                arns.extend(page.get("FunctionArns", []))
        return arns

    def csc_policy_of(self, arn: str) -> CscPolicy:
        """The verdict inputs of a code signing config (GetCodeSigningConfig)."""
        return policy_of_config(self.get_code_signing_config(arn)["CodeSigningConfig"], arn)

    # --- functions' code signing configs ------------------------------------------------
    def put_function_code_signing_config(self, name: str, csc_arn: str) -> Document:
        """PutFunctionCodeSigningConfig: governs the function's next deployments only."""
        _check_function_name(name)
        check_csc_arn(csc_arn)
        with aws_call("lambda:PutFunctionCodeSigningConfig", f"function {name!r}"):
            response = self.clients.lambda_.put_function_code_signing_config(
                FunctionName=name, CodeSigningConfigArn=csc_arn
            )
        return {
            "CodeSigningConfigArn": response["CodeSigningConfigArn"],
            "FunctionName": response["FunctionName"],
        }

    def get_function_code_signing_config(self, name: str) -> Document:
        """GetFunctionCodeSigningConfig (``CodeSigningConfigArn`` is ``""`` when none)."""
        _check_function_name(name)
        with aws_call("lambda:GetFunctionCodeSigningConfig", f"function {name!r}"):
            response = self.clients.lambda_.get_function_code_signing_config(FunctionName=name)
        return {
            "CodeSigningConfigArn": response.get("CodeSigningConfigArn") or "",
            "FunctionName": response.get("FunctionName", name),
        }

    def delete_function_code_signing_config(self, name: str) -> None:
        """DeleteFunctionCodeSigningConfig."""
        _check_function_name(name)
        with aws_call("lambda:DeleteFunctionCodeSigningConfig", f"function {name!r}"):
            self.clients.lambda_.delete_function_code_signing_config(FunctionName=name)

    # --- functions and layers -----------------------------------------------------------
    def _explained(
        self,
        rejection: DeploymentRejected,
        function: str,
        code: S3Object | None,
        csc_arn: str | None,
        at: datetime,
    ) -> DeploymentRejected:
        """Lambda's refusal, with the checks that failed when this backend can tell."""
        verdict: Verdict | None = None
        if code is not None and csc_arn:
            try:
                verdict = self.evaluate_package(
                    code, self.csc_policy_of(csc_arn), at=at, name=f"function {function}"
                )
            except CodesignError:
                verdict = None
        detail = (
            f"; predicted: {verdict.message}"
            if verdict is not None and verdict.decision is not Decision.ALLOW
            else ""
        )
        remedies = (
            " Remedy: " + " ".join(dict.fromkeys(f.remedy for f in verdict.failed))
            if verdict is not None and verdict.failed
            else ""
        )
        return DeploymentRejected(
            f"deployment of function {function!r} rejected by Lambda's code signing check "
            f"({rejection.code}): {rejection.message}{detail}.{remedies}",
            code=rejection.code,
            verdict=verdict,
        )

    def _wait_updated(self, name: str) -> None:
        waiter = self.clients.lambda_.get_waiter("function_updated_v2")
        with aws_call("lambda:GetFunction", f"function {name!r}"):
            waiter.wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})

    def create_function(
        self,
        name: str,
        code: Code,
        *,
        csc_arn: str | None = None,
        layers: Sequence[str] = (),
        now: datetime,
        role: str | None = None,
        runtime: str = "python3.12",
        handler: str = "app.handler",
        description: str | None = None,
    ) -> Document:
        """CreateFunction from a signed S3 object, with the code signing config attached in
        the same call (Lambda checks the code and layers; a refusal creates nothing)."""
        _check_function_name(name)
        if not role or not role.startswith("arn:"):
            raise ValidationError(
                f"role: {role!r} is not an IAM role ARN; a function on AWS needs an execution "
                "role (arn:aws:iam::ACCOUNT:role/NAME)"
            )
        obj = as_object(code, "code")
        params: dict[str, Any] = {
            "FunctionName": name,
            "Role": role,
            "Runtime": runtime,
            "Handler": handler,
            "Code": obj.lambda_code(),
            "PackageType": "Zip",
        }
        if csc_arn:
            params["CodeSigningConfigArn"] = check_csc_arn(csc_arn)
        if layers:
            params["Layers"] = list(layers)
        if description is not None:
            params["Description"] = description
        try:
            with aws_call("lambda:CreateFunction", f"function {name!r} (code {obj.uri})"):
                response = self.clients.lambda_.create_function(**params)
        except DeploymentRejected as rejection:
            raise self._explained(rejection, name, obj, csc_arn, now) from None
        result = documents.function_configuration(response)
        if csc_arn:
            result["CodeSigningConfigArn"] = csc_arn
        return result

    def update_function_code(
        self, name: str, code: Code, *, now: datetime, publish: bool = False
    ) -> Document:
        """UpdateFunctionCode from a signed S3 object; Lambda checks it under the
        function's code signing config (a refusal changes nothing)."""
        _check_function_name(name)
        obj = as_object(code, "code")
        params: dict[str, Any] = {"FunctionName": name, "Publish": publish, **obj.lambda_code()}
        try:
            with aws_call("lambda:UpdateFunctionCode", f"function {name!r} (code {obj.uri})"):
                response = self.clients.lambda_.update_function_code(**params)
        except DeploymentRejected as rejection:
            attached = self._attached_csc(name)
            raise self._explained(rejection, name, obj, attached, now) from None
        self._wait_updated(name)
        return documents.function_configuration(response)

    def _attached_csc(self, name: str) -> str | None:
        try:
            return self.get_function_code_signing_config(name)["CodeSigningConfigArn"] or None
        except CodesignError:
            return None

    def deploy_function_code(
        self, name: str, code: Code, *, csc_arn: str | None, now: datetime
    ) -> Document:
        """Attach (or detach) a code signing config, then update the code under it. When
        Lambda refuses the code, the previous config is put back, so a failed deploy leaves
        the function as it was; if that fails too, the error says what is left to undo."""
        previous = self._attached_csc(name)
        changed = (csc_arn or None) != previous
        if changed:
            if csc_arn:
                self.put_function_code_signing_config(name, csc_arn)
            else:
                self.delete_function_code_signing_config(name)
        try:
            return self.update_function_code(name, code, now=now)
        except CodesignError as error:
            if not changed:
                raise
            try:
                if previous:
                    self.put_function_code_signing_config(name, previous)
                else:
                    self.delete_function_code_signing_config(name)
            except CodesignError as undo:
                raise restated(
                    error,
                    f"{error.message}; restoring function {name!r}'s previous code signing "
                    f"config ({previous or 'none'}) failed too ({undo.message}): it now has "
                    f"{csc_arn or 'none'}; set it back with put-function-code-signing-config",
                ) from None
            raise

    def update_function_configuration(
        self, name: str, *, layers: Sequence[str], now: datetime
    ) -> Document:
        """UpdateFunctionConfiguration (layers): Lambda checks every layer under the CSC."""
        _check_function_name(name)
        try:
            with aws_call("lambda:UpdateFunctionConfiguration", f"function {name!r}"):
                response = self.clients.lambda_.update_function_configuration(
                    FunctionName=name, Layers=list(layers)
                )
        except DeploymentRejected as rejection:
            raise self._explained(rejection, name, None, None, now) from None
        self._wait_updated(name)
        return documents.function_configuration(response)

    def get_function(self, name: str) -> Document:
        """GetFunction's configuration, with ``CodeSigningConfigArn`` when one is attached."""
        _check_function_name(name)
        with aws_call("lambda:GetFunction", f"function {name!r}"):
            response = self.clients.lambda_.get_function(FunctionName=name)
        result = documents.function_configuration(response["Configuration"])
        attached = self.get_function_code_signing_config(name)["CodeSigningConfigArn"]
        if attached:
            result["CodeSigningConfigArn"] = attached
        return result

    def delete_function(self, name: str) -> None:
        """DeleteFunction."""
        _check_function_name(name)
        with aws_call("lambda:DeleteFunction", f"function {name!r}"):
            self.clients.lambda_.delete_function(FunctionName=name)

    def publish_layer_version(
        self,
        layer_name: str,
        content: Code,
        *,
        now: datetime,
        compatible_runtimes: Sequence[str] = (),
    ) -> Document:
        """PublishLayerVersion from a signed S3 object. Layers have no code signing config:
        Lambda checks them on each function with one that uses them."""
        _check_function_name(layer_name, "LayerName")
        obj = as_object(content, "content")
        params: dict[str, Any] = {"LayerName": layer_name, "Content": obj.lambda_code()}
        if compatible_runtimes:
            params["CompatibleRuntimes"] = list(compatible_runtimes)
        with aws_call("lambda:PublishLayerVersion", f"layer {layer_name!r} (code {obj.uri})"):
            response = self.clients.lambda_.publish_layer_version(**params)
        result = documents.document(response)
        if isinstance(result.get("CreatedDate"), str):
            result["CreatedDate"] = documents.lambda_instant(
                result["CreatedDate"], field="CreatedDate"
            )
        return result
