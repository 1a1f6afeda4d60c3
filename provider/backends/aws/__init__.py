"""The aws backend: the same operations as the local backend, on AWS Signer, Lambda and S3.

boto3 is imported only under this package. :class:`AwsBackend` is a Signer part
(:mod:`.signer`) and a Lambda part: code signing configs and the verdict prediction
(:mod:`.lambda_`, over :mod:`.facts`), functions and layers (:mod:`.lambda_functions`),
each made from one set of clients (:mod:`.session`) and the S3 object store (:mod:`.s3`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from provider.backends.aws.cloudformation import StackDeployer
from provider.backends.aws.lambda_functions import AwsFunctions
from provider.backends.aws.s3 import ObjectStore, S3Object
from provider.backends.aws.session import AwsClients, open_clients
from provider.backends.aws.signer import DEFAULT_JOB_DELAY, DEFAULT_JOB_MAX_ATTEMPTS, AwsSigner
from provider.errors import ValidationError

__all__ = ["AwsBackend", "AwsClients", "S3Object"]


class AwsBackend(AwsSigner, AwsFunctions):
    """Signer + Lambda operations on an AWS account (or LocalStack, or a moto server): a
    Signer part and a Lambda part over one set of clients and one S3 object store (the
    Lambda part judges packages through Signer's API itself, not through the Signer part)."""

    def __init__(
        self,
        region: str | None = None,
        *,
        profile: str | None = None,
        endpoint_url: str | None = None,
        retry_mode: str | None = None,
        max_attempts: int | None = None,
        clients: AwsClients | None = None,
        job_delay: float = DEFAULT_JOB_DELAY,
        job_max_attempts: int = DEFAULT_JOB_MAX_ATTEMPTS,
    ) -> None:
        """Open clients from boto3's standard resolution (``region``, ``profile`` and
        ``endpoint_url`` override it), or use the given ``clients``. Signing jobs are
        polled every ``job_delay`` seconds, at most ``job_max_attempts`` times."""
        if job_delay < 0 or job_max_attempts < 1:
            raise ValidationError(
                f"job_delay/job_max_attempts: {job_delay}/{job_max_attempts} must be >= 0 / >= 1"
            )
        clients = clients or open_clients(
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
        )
        objects = ObjectStore(clients.s3)
        AwsSigner.__init__(
            self, clients, objects, job_delay=job_delay, job_max_attempts=job_max_attempts
        )
        AwsFunctions.__init__(self, clients, objects)
        #: Seconds between CloudFormation status checks (as ``sam deploy``: 5).
        self.stack_delay: float = 5

    def stacks(self, *, delay: float | None = None) -> StackDeployer:
        """CloudFormation change sets (``sam-ext deploy``), polled every ``delay`` seconds
        (default: this backend's ``stack_delay``)."""
        return StackDeployer(
            self.clients.cloudformation_client(),
            self.objects,
            delay=self.stack_delay if delay is None else delay,
        )

    def adopt_layer(
        self,
        source: str,
        profile_name: str,
        *,
        layer_name: str | None,
        now: datetime,
        destination: str | None = None,
    ) -> dict[str, Any]:
        """Sign the third-party layer version ``source`` (an ARN) unchanged, through
        ``destination`` (``s3://bucket[/prefix]``), and publish it in this account (see
        :mod:`.adopt`)."""
        from provider.backends.aws.adopt import adopt_layer

        return adopt_layer(
            self, source, profile_name, layer_name=layer_name, destination=destination, now=now
        )
