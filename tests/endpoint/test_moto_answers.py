"""moto's own answers reach the client as moto gives them (and as Lambda gives them):
its not-found errors are not taken for an unserved operation, and the hook on moto's
deploy paths reports what is missing in the order and words Lambda uses."""

from __future__ import annotations

from .conftest import Clients, error_code, package_bytes, unique

NO_SUCH_BUCKET = (
    "Error occurred while GetObject. S3 Error Code: NoSuchBucket. "
    "S3 Error Message: The specified bucket does not exist"
)
NO_SUCH_KEY = (
    "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
    "S3 Error Message: The specified key does not exist."
)


def test_a_missing_event_source_mapping_is_not_found_not_unserved(aws: Clients) -> None:
    """moto answers these with an HTML content type: still its answer, not a missing route."""
    lambda_ = aws("lambda")
    missing = "11111111-2222-3333-4444-555555555555"
    code, message, status = error_code(lambda: lambda_.get_event_source_mapping(UUID=missing))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "The resource you requested does not exist."


def test_a_missing_bucket_and_a_missing_key_are_each_named(aws: Clients, role: str) -> None:
    lambda_, s3 = aws("lambda"), aws("s3")
    bucket = unique("bucket-")
    s3.create_bucket(Bucket=bucket)
    cases = (
        ({"S3Bucket": unique("no-such-bucket-"), "S3Key": "app.zip"}, NO_SUCH_BUCKET),
        ({"S3Bucket": bucket, "S3Key": "no-such-key.zip"}, NO_SUCH_KEY),
    )
    for code, message in cases:
        error = error_code(
            lambda code=code: lambda_.create_function(
                FunctionName=unique("fn-"),
                Runtime="python3.12",
                Handler="app.handler",
                Role=role,
                Code=code,
            )
        )
        assert error[:2] == ("InvalidParameterValueException", message)
    name = unique("fn-")
    lambda_.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role,
        Code={"ZipFile": package_bytes()},
    )  # fmt: skip
    error = error_code(
        lambda: lambda_.update_function_code(
            FunctionName=name, S3Bucket=unique("no-such-bucket-"), S3Key="app.zip"
        )
    )
    assert error[1] == NO_SUCH_BUCKET


def test_unknown_layers_are_named_before_missing_code(aws: Clients, role: str) -> None:
    """Lambda (and moto) check a function's layers first."""
    lambda_ = aws("lambda")
    unknown = f"arn:aws:lambda:us-east-1:123456789012:layer:{unique('nope')}:1"
    code, message, status = error_code(
        lambda: lambda_.create_function(
            FunctionName=unique("fn-"),
            Runtime="python3.12",
            Handler="app.handler",
            Role=role,
            Code={"S3Bucket": unique("no-such-bucket-"), "S3Key": "app.zip"},
            Layers=[unknown],
        )
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"One or more LayerVersion does not exist ['{unknown}']"
