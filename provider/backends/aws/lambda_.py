"""Lambda's code signing configs, through boto3 (functions and layers: :mod:`.lambda_functions`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.arns import check_csc_arn
from provider.backends.aws import documents
from provider.backends.aws.errors import aws_call
from provider.backends.aws.facts import job_id_from_key, object_facts, signed_object_sha256
from provider.backends.aws.s3 import ObjectStore, S3Object, as_object
from provider.backends.base import (
    Document,
    csc_request,
    csc_update_request,
)
from provider.backends.values import CodeSigningConfig, SigningJob
from provider.errors import CodesignError, ConflictError, NotFoundError
from provider.objects import parse_destination
from provider.verdict import ArtifactFacts, CscPolicy, Verdict, decide

if TYPE_CHECKING:
    from provider.backends.aws.session import AwsClients


def _csc_resource(arn: str) -> str:
    return f"code signing config {arn}"


class AwsLambda:
    """Code signing configs on AWS Lambda, and the verdict Lambda would give a signed S3
    object (read through S3 and Signer's API with the same clients)."""

    def __init__(self, clients: AwsClients, objects: ObjectStore) -> None:
        self.clients = clients
        self.objects = objects

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

    def code_signing_config(self, arn: str) -> CodeSigningConfig:
        """GetCodeSigningConfig, as a :class:`CodeSigningConfig`."""
        return CodeSigningConfig.from_document(self.get_code_signing_config(arn))

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
        return replace(
            self.code_signing_config(arn).policy, arn=arn
        )  # named as the caller named it

    # --- verdicts ------------------------------------------------------------------------
    def object_facts(
        self, package: Path | str | S3Object, *, name: str | None = None, job_id: str | None = None
    ) -> ArtifactFacts:
        """What the checks need to know about an S3 object, judged by its bytes (see
        :mod:`.facts`); ``job_id``: the signing job to match bytes in no readable format
        with first (else the one the key names)."""
        obj = as_object(package)
        return object_facts(self.clients, self.objects, obj, name=name or obj.uri, job_id=job_id)

    def signed_sha256(self, job: SigningJob) -> str | None:
        """Lambda's ``CodeSha256`` of the S3 object ``job`` signed, in the version it wrote
        (ListObjectVersions when the job names none, then GetObject); ``None`` when it
        cannot be read or is gone."""
        return signed_object_sha256(self.objects, job)

    def code_exists(self, code: Path | str | S3Object) -> bool:
        """Whether the S3 object ``code`` exists, in the version it names (HeadObject)."""
        try:
            self.objects.head(as_object(code))
        except NotFoundError:
            return False
        return True

    def package_facts(
        self, code: Path | str | S3Object, *, name: str | None = None
    ) -> ArtifactFacts:
        """What the checks need to know about the S3 object ``code`` (by its bytes)."""
        return self.object_facts(code, name=name)

    def newest_signature(
        self, destination: str, prefix: str
    ) -> tuple[S3Object, ArtifactFacts] | None:
        """The newest object a signing job wrote under ``destination`` + ``prefix`` (S3
        ListObjectsV2, newest first; each key names its job; among keys written in the
        same second, the job that completed last), pinned to the version the job wrote,
        and its facts (DescribeSigningJob, GetSigningProfile); objects of jobs that did
        not succeed are passed over."""
        bucket, directory = parse_destination(destination)
        try:
            keys = self.objects.newest_first(bucket, directory + prefix)
        except NotFoundError:
            return None  # no bucket yet (a preview before the program creates it)
        best: tuple[datetime, S3Object, ArtifactFacts] | None = None
        for modified, key in keys:
            if best is not None and modified < best[0]:
                break  # older than the newest signature found
            if job_id_from_key(key) is None:
                continue
            facts = self.object_facts(S3Object(bucket, key))
            if not facts.signed or facts.signed_at is None:
                continue
            if best is None or facts.signed_at > (best[2].signed_at or facts.signed_at):
                best = (modified, S3Object(bucket, key), facts)
        if best is None:
            return None
        _, found, facts = best
        written = next(
            v for v in self.objects.versions(found.bucket, found.key) if not v.delete_marker
        )
        version = None if written.version == "null" else written.version
        return S3Object(found.bucket, found.key, version), facts

    def evaluate_package(
        self,
        package: Path | str | S3Object,
        csc: CscPolicy,
        *,
        at: datetime,
        name: str | None = None,
        job_id: str | None = None,
    ) -> Verdict:
        """The verdict Lambda would give the S3 object ``package``
        (``s3://bucket/key[?versionId=V]``) under ``csc`` at ``at``, judged by its bytes
        (see :mod:`.facts`): ``UNKNOWN`` when they decide too little."""
        return decide(self.object_facts(package, name=name, job_id=job_id), csc, at)
