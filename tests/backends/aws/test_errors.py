"""AWS's failures become one-line messages naming the action, the resource and the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from provider.backends.aws.errors import (
    AccessDeniedError,
    AwsServiceError,
    ThrottledError,
    aws_call,
)
from provider.errors import (
    CodesignError,
    ConflictError,
    DeploymentRejected,
    NotFoundError,
    ValidationError,
)


def client_error(code: str, message: str = "", status: int = 400, retries: int = 0) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries},
        },
        "Operation",
    )


def raised(error: Exception, action: str = "signer:StartSigningJob") -> CodesignError:
    with pytest.raises(CodesignError) as caught, aws_call(action, "signing profile 'app'"):
        raise error
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied", "ExpiredToken"])
def test_access_denied_names_the_permission_and_the_resource(code: str) -> None:
    error = raised(client_error(code, "User: arn:aws:iam::1:user/ci is not\nauthorized", 403))
    assert isinstance(error, AccessDeniedError)
    assert error.message.startswith("signer:StartSigningJob on signing profile 'app' was denied")
    assert "is not authorized" in error.message
    assert "Grant signer:StartSigningJob to the caller" in error.message


def test_access_denied_mentions_the_aws_profile_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "deployer")
    assert "(AWS_PROFILE=deployer)" in raised(client_error("AccessDenied", status=403)).message


@pytest.mark.parametrize(
    "code", ["ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound"]
)
def test_missing_resources_are_not_found_errors(code: str) -> None:
    error = raised(client_error(code, "gone", 404))
    assert isinstance(error, NotFoundError)
    assert error.message.startswith("signing profile 'app' does not exist")


def test_a_bare_404_from_s3_is_a_missing_object() -> None:
    # botocore gives S3's HEAD requests the status as their code: the object is not there.
    error = raised(client_error("404", "", 404), action="s3:GetObject")
    assert isinstance(error, NotFoundError)


@pytest.mark.parametrize("code", ["404", ""])
def test_a_404_without_an_aws_error_code_is_an_endpoint_lacking_the_operation(
    code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    error = raised(client_error(code, "<!doctype html>\n<title>404 Not Found</title>", 404))
    assert isinstance(error, AwsServiceError) and not isinstance(error, NotFoundError)
    assert error.code == "UnsupportedOperation"
    assert error.message.startswith(
        "signer:StartSigningJob on signing profile 'app': the endpoint http://127.0.0.1:4566 "
        "(AWS_ENDPOINT_URL) does not implement Operation (it answered HTTP 404 with no AWS "
        "error code"
    )
    assert "does not exist" not in error.message


def test_conflicts_are_conflict_errors() -> None:
    error = raised(client_error("ResourceConflictException", "in use", 409))
    assert isinstance(error, ConflictError)
    assert error.code == "ResourceConflictException"


def test_validation_failures_keep_aws_words() -> None:
    error = raised(client_error("ValidationException", "profileName is invalid"))
    assert isinstance(error, ValidationError)
    assert (
        error.message == "signer:StartSigningJob on signing profile 'app': profileName is invalid"
    )


def test_throttling_after_the_retries_says_how_many_attempts_and_what_to_do() -> None:
    error = raised(client_error("TooManyRequestsException", "Rate exceeded", 429, retries=7))
    assert isinstance(error, ThrottledError)
    assert "after 8 attempts" in error.message
    assert "AWS_RETRY_MODE=adaptive" in error.message


@pytest.mark.parametrize(
    "code", ["CodeVerificationFailedException", "InvalidCodeSignatureException"]
)
def test_lambdas_code_signing_refusals_are_deployment_rejections(code: str) -> None:
    error = raised(client_error(code, "signature check failed"), "lambda:CreateFunction")
    assert isinstance(error, DeploymentRejected)
    assert error.code == code


def test_no_credentials_says_how_to_configure_them() -> None:
    error = raised(NoCredentialsError())
    assert isinstance(error, AccessDeniedError)
    assert "no usable AWS credentials" in error.message
    assert "AWS_PROFILE" in error.message


def test_an_unreachable_endpoint_points_at_network_region_and_endpoint() -> None:
    error = raised(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert isinstance(error, AwsServiceError)
    assert "cannot reach AWS" in error.message
    assert "AWS_ENDPOINT_URL" in error.message


def test_other_service_errors_keep_the_code() -> None:
    error = raised(client_error("InternalServiceErrorException", "try again", 500))
    assert isinstance(error, AwsServiceError)
    assert error.code == "InternalServiceErrorException"
    assert str(error).startswith("InternalServiceErrorException: signer:StartSigningJob")


@pytest.mark.parametrize(
    "said",
    [
        "The code signing config arn:aws:lambda:us-east-1:1:code-signing-config:c-1 does not exist",
        "Function not found: arn:aws:lambda:us-east-1:1:function:web",
        "The specified bucket does not exist",
        "The code signing configuration cannot be found.",
    ],
)
def test_a_not_found_message_of_aws_is_not_repeated(said: str) -> None:
    error = raised(client_error("ResourceNotFoundException", said, 404))
    assert error.message == (
        "signing profile 'app' does not exist (or is not visible to this account and region)"
    )


def test_a_not_found_message_with_more_to_say_is_kept() -> None:
    error = raised(client_error("NotFoundException", "profile revoked by owner", 404))
    assert error.message.endswith("region): profile revoked by owner")
