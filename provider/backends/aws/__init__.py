"""The aws backend: the same operations as the local backend, on AWS Signer, Lambda and S3.

boto3 is imported only under this package. :class:`AwsBackend` composes the Signer
operations (:mod:`.signer`), Lambda's code signing configs (:mod:`.lambda_`), functions
and layers (:mod:`.lambda_functions`), the S3 object store (:mod:`.s3`)
and the verdict prediction (:mod:`.facts`) over one set of clients (:mod:`.session`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from provider.arns import Location
from provider.backends.aws.cloudformation import StackDeployer
from provider.backends.aws.facts import job_id_from_key, object_facts
from provider.backends.aws.lambda_ import AwsLambda
from provider.backends.aws.lambda_functions import AwsFunctions
from provider.backends.aws.s3 import ObjectStore, S3Object, as_object
from provider.backends.aws.session import AwsClients, open_clients
from provider.backends.aws.signer import DEFAULT_JOB_DELAY, DEFAULT_JOB_MAX_ATTEMPTS, AwsSigner
from provider.errors import NotFoundError, ValidationError
from provider.objects import parse_destination
from provider.verdict import ArtifactFacts, CscPolicy, Verdict, decide

__all__ = ["AwsBackend", "AwsClients", "S3Object"]


class AwsBackend(AwsSigner, AwsLambda, AwsFunctions):
    """Signer + Lambda operations on an AWS account (or LocalStack, or a moto server)."""

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
        self.clients = clients or open_clients(
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
        )
        self.objects = ObjectStore(self.clients.s3)
        self.job_delay = job_delay
        self.job_max_attempts = job_max_attempts
        #: Seconds between CloudFormation status checks (as ``sam deploy``: 5).
        self.stack_delay: float = 5
        self._location: Location | None = None

    @property
    def location(self) -> Location:
        """Partition, region and account of this backend's ARNs (the account is asked of
        STS on first use)."""
        if self._location is None:
            self._location = Location(
                self.clients.region, self.clients.caller_account(), self.clients.partition
            )
        return self._location

    @location.setter
    def location(self, value: Location) -> None:
        self._location = value

    def stacks(self, *, delay: float | None = None) -> StackDeployer:
        """CloudFormation change sets (``sam-ext deploy``), polled every ``delay`` seconds
        (default: this backend's ``stack_delay``)."""
        return StackDeployer(
            self.clients.cloudformation_client(),
            self.objects,
            delay=self.stack_delay if delay is None else delay,
        )

    def object_facts(
        self, package: Path | str | S3Object, *, name: str | None = None, job_id: str | None = None
    ) -> ArtifactFacts:
        """What the checks need to know about an S3 object, judged by its bytes (see
        :mod:`.facts`); ``job_id``: the signing job to match bytes in no readable format
        with first (else the one the key names)."""
        obj = as_object(package)
        return object_facts(self.clients, self.objects, obj, name=name or obj.uri, job_id=job_id)

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
