"""The boto3 session and the three clients the aws backend uses.

Everything about *where* and *as whom* comes from boto3's own resolution, so the backend
behaves like the AWS CLI: the standard credential chain, ``AWS_PROFILE``, the region from
``AWS_REGION``/``AWS_DEFAULT_REGION`` or the profile's config, and ``AWS_ENDPOINT_URL``
(and ``AWS_ENDPOINT_URL_<SERVICE>``, which botocore reads itself) for LocalStack or a
moto server. Throttling and transient errors are retried by botocore's retry modes
(adaptive by default: see :data:`DEFAULT_RETRY_MODE`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from provider.arns import REGION_RE, check_account
from provider.backends.aws.errors import NO_REGION, aws_call, translate_core
from provider.errors import ValidationError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_signer import SignerClient

RETRY_MODES = ("standard", "adaptive", "legacy")
#: The retry mode when neither the caller nor ``AWS_RETRY_MODE`` says otherwise.
#: botocore's ``adaptive`` mode is its ``standard`` mode (retries with exponential backoff
#: and jitter, throttling errors included) plus a client-side rate limiter: after a
#: throttling answer (``ThrottlingException``, ``TooManyRequestsException``, ...) every
#: request of that client waits for a token, at a rate cut at once and raised again as
#: requests succeed. Signer's quotas are request rates per second, so many packages signed
#: at once (all threads share one client) slow down to what the account is allowed
#: instead of retrying into the limit; without throttling nothing waits.
DEFAULT_RETRY_MODE = "adaptive"
#: Attempts per call (the first one included) when neither the caller nor
#: ``AWS_MAX_ATTEMPTS`` says otherwise: more than botocore's 3, since a deploy of many
#: packages meets Signer's rate limits.
DEFAULT_MAX_ATTEMPTS = 8
#: Pooled connections per client: one per package signed at once, at most.
MAX_POOL_CONNECTIONS = 64
_USER_AGENT = "lambda-codesign/0.1"


def retry_config(mode: str | None = None, max_attempts: int | None = None) -> Config:
    """botocore's client config: the retry mode and attempts (argument, else
    ``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS``, else :data:`DEFAULT_RETRY_MODE` and
    :data:`DEFAULT_MAX_ATTEMPTS`), and enough pooled connections for concurrent signing."""
    chosen_mode = mode or os.environ.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE
    if chosen_mode not in RETRY_MODES:
        raise ValidationError(
            f"AWS_RETRY_MODE: {chosen_mode!r} is not one of {', '.join(RETRY_MODES)}"
        )
    if max_attempts is None:
        text = os.environ.get("AWS_MAX_ATTEMPTS")
        try:
            max_attempts = int(text) if text else DEFAULT_MAX_ATTEMPTS
        except ValueError:
            raise ValidationError(f"AWS_MAX_ATTEMPTS: {text!r} is not a whole number") from None
    if max_attempts < 1:
        raise ValidationError(f"AWS_MAX_ATTEMPTS: {max_attempts} must be at least 1")
    # total_max_attempts counts the first attempt, as AWS_MAX_ATTEMPTS does (botocore's
    # max_attempts would count retries only).
    retries: Any = {"mode": chosen_mode, "total_max_attempts": max_attempts}
    return Config(
        retries=retries,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        user_agent_extra=_USER_AGENT,
    )


@dataclass
class AwsClients:
    """The Signer, Lambda and S3 clients (any botocore client, real, moto or stubbed),
    and, when known, the account they act in (else asked of STS on first use)."""

    signer: SignerClient
    lambda_: LambdaClient
    s3: S3Client
    account: str | None = None
    sts: Any = None
    #: CloudFormation (``sam-ext deploy``), created on first use unless given.
    cloudformation: Any = None
    session: Any = None
    endpoint_url: str | None = None
    _account_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def region(self) -> str:
        """The region the clients talk to."""
        return str(self.signer.meta.region_name)

    @property
    def partition(self) -> str:
        """The ARN partition of that region (``aws``, ``aws-cn``, ``aws-us-gov``...)."""
        partition = self.signer.meta.partition
        return str(partition) if partition else "aws"

    def cloudformation_client(self) -> Any:
        """The CloudFormation client, created on first use (most commands never need it)."""
        if self.cloudformation is None:
            session = self.session or boto3.session.Session(region_name=self.region)
            with aws_call("cloudformation", "opening a CloudFormation client"):
                self.cloudformation = session.client(
                    "cloudformation", config=retry_config(), endpoint_url=self.endpoint_url
                )
        return self.cloudformation

    def caller_account(self) -> str:
        """The 12-digit account of the credentials (sts:GetCallerIdentity, once: threads
        asking at once wait for the first one's answer)."""
        if self.account is not None:
            return self.account
        with self._account_lock:
            if self.account is None:
                sts = self.sts
                if sts is None:
                    sts = boto3.session.Session().client(
                        "sts", region_name=self.region, config=retry_config()
                    )
                with aws_call("sts:GetCallerIdentity", "the caller's identity"):
                    identity = sts.get_caller_identity()
                self.account = check_account(str(identity["Account"]), "account")
            return self.account


def environment_region() -> str | None:
    """``AWS_REGION``: read by the AWS CLI and the other SDKs before ``AWS_DEFAULT_REGION``,
    but not by botocore, which reads only ``AWS_DEFAULT_REGION``; so it is passed on here."""
    value = os.environ.get("AWS_REGION") or None
    if value is not None and not REGION_RE.match(value):
        raise ValidationError(f"AWS_REGION: {value!r} is not an AWS region name (e.g. us-east-1)")
    return value


def open_clients(
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    retry_mode: str | None = None,
    max_attempts: int | None = None,
) -> AwsClients:
    """Clients from boto3's standard resolution; ``region``/``profile``/``endpoint_url``
    override it when given (else ``AWS_*`` variables and ``~/.aws`` decide). The region:
    ``region``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the profile's."""
    if region is not None and not REGION_RE.match(region):
        raise ValidationError(f"region: {region!r} is not an AWS region name (e.g. us-east-1)")
    region = region or environment_region()
    config = retry_config(retry_mode, max_attempts)
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        if session.region_name is None:
            raise ValidationError(NO_REGION)
        return AwsClients(
            signer=session.client("signer", config=config, endpoint_url=endpoint_url),
            lambda_=session.client("lambda", config=config, endpoint_url=endpoint_url),
            s3=session.client("s3", config=config, endpoint_url=endpoint_url),
            sts=session.client("sts", config=config, endpoint_url=endpoint_url),
            session=session,
            endpoint_url=endpoint_url,
        )
    except BotoCoreError as error:
        raise translate_core(error, "opening AWS clients", "this session") from None
