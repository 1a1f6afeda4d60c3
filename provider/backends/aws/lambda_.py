"""Lambda's code signing configs, through boto3 (functions and layers: :mod:`.lambda_functions`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provider.arns import check_csc_arn
from provider.backends.aws import documents
from provider.backends.aws.errors import aws_call
from provider.backends.base import (
    Document,
    csc_request,
    csc_update_request,
    policy_of_config,
)
from provider.errors import CodesignError, ConflictError
from provider.verdict import CscPolicy

if TYPE_CHECKING:
    from provider.backends.aws.session import AwsClients


def _csc_resource(arn: str) -> str:
    return f"code signing config {arn}"


class AwsLambda:
    """Code signing configs on AWS Lambda."""

    clients: AwsClients

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
        merged = csc_update_request(current, allowed, policy, description)
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
