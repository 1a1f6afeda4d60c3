"""botocore's failures, said as the project's one-line errors.

Every AWS call of the backend runs inside :func:`aws_call`, which names the IAM action
and the resource; a :class:`~botocore.exceptions.ClientError` (after botocore's retries)
or a credentials/connection failure becomes a :class:`~provider.errors.CodesignError`
whose message says what was refused, on what, and how to fix it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from provider.errors import (
    AccessDeniedError,
    CodesignError,
    ConflictError,
    DeploymentRejected,
    NotFoundError,
    ValidationError,
)


class ThrottledError(CodesignError):
    """AWS kept throttling a call after every retry botocore made."""

    code = "ThrottlingException"


class StackDeployFailed(CodesignError):
    """A CloudFormation change set failed, or the stack's deployment rolled back."""

    code = "StackDeployFailed"


class FunctionStateError(CodesignError):
    """A Lambda function did not become ``Active``, or its update did not succeed."""

    code = "FunctionStateError"


class AwsServiceError(CodesignError):
    """Any other failure of an AWS service or of the connection to it."""

    code = "ServiceException"


ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AllAccessDisabled",
    }
)
NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchVersion",
        "NotFound",
        "404",
        "CodeSigningConfigNotFoundException",
    }
)
CONFLICT = frozenset({"ResourceConflictException", "ConflictException", "ResourceInUseException"})
INVALID = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValueException",
        "BadRequestException",
        "InvalidRequest",
        "InvalidArgument",
        "InvalidBucketName",
    }
)
THROTTLED = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
    }
)
#: Lambda's code signing refusals (see docs/architecture.md, "The one decision").
REJECTED = frozenset({"InvalidCodeSignatureException", "CodeVerificationFailedException"})

#: Where a region can be set, for every caller: the CLI and the Pulumi provider.
NO_REGION = (
    "region: no AWS region is configured; set AWS_REGION (or AWS_DEFAULT_REGION), a region "
    "in ~/.aws/config, --region (sam-ext) or codesign:region (Pulumi stack config)"
)

_CREDENTIALS_FIX = (
    "configure credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY)"
)


def one_line(text: object) -> str:
    """Collapse whitespace so an AWS message never breaks the one-line rule."""
    return re.sub(r"\s+", " ", str(text)).strip()


#: How AWS's own "not found" messages say it; such a message only repeats ours.
_SAYS_MISSING = re.compile(
    r"does not exist|doesn't exist|not found|cannot be found|could not be found|no such",
    re.IGNORECASE,
)


def _caller_hint() -> str:
    profile = os.environ.get("AWS_PROFILE")
    return f" (AWS_PROFILE={profile})" if profile else ""


def _endpoint_hint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f" {endpoint} (AWS_ENDPOINT_URL)" if endpoint else ""


def translate(error: ClientError, action: str, resource: str) -> CodesignError:
    """The project's error for a failed call of IAM ``action`` on ``resource``."""
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = one_line(details.get("Message") or "")
    said = f": {message}" if message else ""
    if code in ACCESS_DENIED or (not code and status == 403):
        return AccessDeniedError(
            f"{action} on {resource} was denied{said}. Grant {action} to the caller"
            f"{_caller_hint()} in IAM (and in any bucket or signing profile policy), or use "
            "credentials that have it",
            code=code or None,
        )
    if status == 404 and (not code or code.isdigit()) and not action.startswith("s3:"):
        # No AWS error code: not the service saying "no such resource" but an emulator
        # (moto, LocalStack) without a route for the operation. (S3's HEAD requests do
        # answer a bare 404 for a missing object.)
        return AwsServiceError(
            f"{action} on {resource}: the endpoint{_endpoint_hint()} does not implement "
            f"{error.operation_name or action} (it answered HTTP 404 with no AWS error code, "
            "as moto or LocalStack do for an operation they lack); use an endpoint that "
            "serves it, or AWS itself",
            code="UnsupportedOperation",
        )
    if isinstance(status, int) and status >= 500 and (not code or code.isdigit()):
        # No AWS error code either: not the service's answer (AWS says InternalFailure or
        # ServiceUnavailable) but the server itself failing, likely an HTML error page.
        return AwsServiceError(
            f"{action} on {resource}: the endpoint{_endpoint_hint()} failed with HTTP {status} "
            "and no AWS error code (a fault of the server, not an answer of the service; moto "
            "and LocalStack answer so for an operation their code does not handle); retry, or "
            "use an endpoint that serves it, or AWS itself",
            code=None,
        )
    if code in NOT_FOUND or (not code and status == 404):
        # AWS's message ("The Code Signing Config arn:... does not exist") would say it twice.
        why = "" if _SAYS_MISSING.search(message) else said
        return NotFoundError(
            f"{resource} does not exist (or is not visible to this account and region){why}",
            code=code if code and not code.isdigit() else None,
        )
    if code in CONFLICT:
        return ConflictError(f"{action} on {resource} conflicts with its state{said}", code=code)
    if code in THROTTLED:
        attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts")
        tried = f" after {int(attempts) + 1} attempts" if attempts is not None else ""
        return ThrottledError(
            f"AWS throttled {action} on {resource}{tried}; retry later, or set "
            "AWS_RETRY_MODE=adaptive and a larger AWS_MAX_ATTEMPTS",
            code=code,
        )
    if code in INVALID:
        return ValidationError(f"{action} on {resource}: {message or code}", code=code)
    if code in REJECTED:
        return DeploymentRejected(f"{action} on {resource} rejected by Lambda{said}", code=code)
    return AwsServiceError(f"{action} on {resource} failed{said or ': ' + code}", code=code or None)


def translate_core(error: BotoCoreError, action: str, resource: str) -> CodesignError:
    """The project's error for a failure before or outside the service's answer."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return AccessDeniedError(
            f"{action} on {resource}: no usable AWS credentials were found; {_CREDENTIALS_FIX}",
            code="NoCredentials",
        )
    if isinstance(error, NoRegionError):
        return ValidationError(NO_REGION)
    if isinstance(error, ProfileNotFound):
        return ValidationError(
            f"AWS_PROFILE (or --profile): {one_line(error)}; check ~/.aws/config"
        )
    if isinstance(error, ParamValidationError):
        return ValidationError(f"{action} on {resource}: {one_line(error)}")
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return AwsServiceError(
            f"{action} on {resource}: cannot reach AWS ({one_line(error)}); check the network, "
            "the region and AWS_ENDPOINT_URL",
            code="EndpointConnectionError",
        )
    return AwsServiceError(f"{action} on {resource} failed: {one_line(error)}")


@contextmanager
def aws_call(action: str, resource: str) -> Iterator[None]:
    """Run AWS calls for ``action`` (an IAM action, e.g. ``signer:StartSigningJob``) on
    ``resource`` (e.g. ``signing profile 'app'``); failures become :class:`CodesignError`."""
    try:
        yield
    except ClientError as error:
        raise translate(error, action, resource) from None
    except BotoCoreError as error:
        raise translate_core(error, action, resource) from None


def restated(error: CodesignError, message: str) -> CodesignError:
    """The same error (class, code and attributes) with a longer message."""
    # Not copy.copy: it would call __init__ again, whose signature differs per class.
    copied = type(error).__new__(type(error), message)
    copied.__dict__.update(error.__dict__)
    copied.args = (message,)
    return copied


def error_code(error: ClientError) -> str:
    """The ``Error.Code`` of a :class:`ClientError`."""
    return str(error.response.get("Error", {}).get("Code") or "")
