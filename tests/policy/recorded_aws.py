"""pulumi-aws and aws-native resources as the engine hands them to a policy pack.

Their provider plugins cannot be installed here, so these are written in the exact shape
the engine sends (what ``pulumi_policy.deserialize.serialize_properties`` gives back, as
tests/policy/recorded/*.json records for this project's own resources): camelCase property
names from each provider's schema, unknown values as Pulumi's sentinel string, and
``property_dependencies`` keyed by top-level property.

Where the names and shapes come from:

- ``aws:lambda/function:Function``: pulumi-aws ``sdk/python/pulumi_aws/lambda_/function.py``
  (``codeSigningConfigArn``, ``packageType`` ``Zip|Image``, ``imageUri``, ``s3Bucket``,
  ``s3Key``, ``s3ObjectVersion``, ``layers``, ``code`` (an archive), ``role``, ``runtime``,
  ``handler``; outputs ``arn``, ``signingProfileVersionArn``);
- ``aws:lambda/codeSigningConfig:CodeSigningConfig``: pulumi-aws
  ``lambda_/code_signing_config.py`` (``allowedPublishers.signingProfileVersionArns``,
  ``policies.untrustedArtifactOnDeployment``, ``description``; outputs ``arn``,
  ``configId``);
- ``aws:lambda/layerVersion:LayerVersion``: pulumi-aws ``lambda_/layer_version.py``
  (``layerName``, ``s3Bucket``, ``s3Key``, ``s3ObjectVersion``; output ``arn``, the layer
  version's ARN);
- ``aws:signer/signingProfile:SigningProfile``: pulumi-aws ``signer/signing_profile.py``
  (``platformId``, ``signatureValidityPeriod {type, value}``; outputs ``name``,
  ``versionArn``, ``status``);
- ``aws-native:lambda:Function`` and ``aws-native:lambda:CodeSigningConfig``: pulumi-aws-native
  ``sdk/python/pulumi_aws_native/lambda_/function.py`` and ``code_signing_config.py``, the
  CloudFormation ``AWS::Lambda::Function``/``CodeSigningConfig`` schemas in camelCase
  (``code {s3Bucket, s3Key, s3ObjectVersion, imageUri, zipFile}``, ``codeSigningConfigArn``,
  ``packageType``, ``layers``; ``allowedPublishers.signingProfileVersionArns``,
  ``codeSigningPolicies.untrustedArtifactOnDeployment``; output ``codeSigningConfigArn``);
- this project's ``SignedPackage`` on the aws backend: ``provider/resources/signed_package.py``
  (``bucket``, ``key``, ``object_version``, ``location`` ``s3://...``, ``digest`` ``None``).
"""

from __future__ import annotations

from typing import Any

from provider.policy.wire import UNKNOWN

ACCOUNT = "123456789012"
BUCKET = "artifacts-123456789012"
PUBLISHER_ARN = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/publisher/AbCdEf1234"
OUTSIDER_ARN = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/outsider/ZyXwVu9876"
ENFORCE_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-0a1b2c3d4e5f60718"
WARN_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-0f1e2d3c4b5a69788"
LAYER_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:deps:3"
CODESIGN_CSC_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-0c0d0e0f101112131"
#: When the recorded signatures were made, and a day later (the instant tests judge at).
SIGNED_AT = "2026-11-01T10:00:00.000Z"
JUDGED_AT = "2026-11-02T10:00:00.000Z"

Record = dict[str, Any]


def urn(type_: str, name: str) -> str:
    """The URN the engine gives a resource of this stack."""
    return f"urn:pulumi:prod::shop::{type_}::{name}"


def record(
    type_: str, name: str, props: Record, deps: dict[str, list[str]] | None = None
) -> Record:
    """One resource, in the shape of tests/policy/recorded/*.json."""
    return {
        "type": type_,
        "name": name,
        "urn": urn(type_, name),
        "props": props,
        "property_dependencies": deps or {},
    }


def signed_package(
    name: str,
    *,
    job_id: str,
    signer: str = PUBLISHER_ARN,
    expires_at: str = "2027-11-01T10:00:00.000Z",
    revoked: bool = False,
) -> Record:
    """This project's SignedPackage after its signing job (aws backend outputs)."""
    key = f"signed/signed_{job_id}.zip"
    return record(
        "pulumi-python:dynamic/codesign:SignedPackage",
        name,
        {
            "source": f"/src/{name}",
            "profile_name": signer.split("/")[-2],
            "destination": f"s3://{BUCKET}/signed/",
            "settings": {"backend": "aws", "region": "us-east-1"},
            "source_hash": "9f" * 48,
            "job_id": job_id,
            "location": f"s3://{BUCKET}/{key}",
            "bucket": BUCKET,
            "key": key,
            "object_version": f"v-{job_id[:8]}",
            "profile_version_arn": signer,
            "signed_at": SIGNED_AT,
            "signature_expires_at": expires_at,
            "revoked": revoked,
        },
    )


def aws_function(name: str, props: Record, deps: dict[str, list[str]] | None = None) -> Record:
    """A pulumi-aws function (role, runtime and handler as every program sets them)."""
    base = {
        "role": f"arn:aws:iam::{ACCOUNT}:role/lambda-exec",
        "runtime": "python3.12",
        "handler": "app.handler",
        "packageType": "Zip",
    }
    return record("aws:lambda/function:Function", name, {**base, **props}, deps)


def s3_code(package: Record) -> Record:
    """A function's S3 inputs taken from a package's outputs."""
    props = package["props"]
    return {
        "s3Bucket": props["bucket"],
        "s3Key": props["key"],
        "s3ObjectVersion": props["object_version"],
    }


def deployed_aws_stack() -> list[Record]:
    """A pulumi-aws stack already deployed (outputs known), with one of each case."""
    api_code = signed_package("api-code", job_id="1a2b3c4d-0000-4000-8000-000000000001")
    old_code = signed_package(
        "old-code",
        job_id="1a2b3c4d-0000-4000-8000-000000000002",
        expires_at="2026-11-01T12:00:00.000Z",
    )
    outside_code = signed_package(
        "outside-code", job_id="1a2b3c4d-0000-4000-8000-000000000003", signer=OUTSIDER_ARN
    )
    soon_code = signed_package(
        "soon-code",
        job_id="1a2b3c4d-0000-4000-8000-000000000004",
        expires_at="2026-11-20T10:00:00.000Z",
    )
    layer_code = signed_package(
        "layer-code", job_id="1a2b3c4d-0000-4000-8000-000000000005", revoked=True
    )
    enforce = record(
        "aws:lambda/codeSigningConfig:CodeSigningConfig",
        "enforce",
        {
            "allowedPublishers": {"signingProfileVersionArns": [PUBLISHER_ARN]},
            "policies": {"untrustedArtifactOnDeployment": "Enforce"},
            "description": "publisher only",
            "arn": ENFORCE_ARN,
            "configId": "csc-0a1b2c3d4e5f60718",
        },
    )
    # No policies block: Lambda's default, Warn.
    warn = record(
        "aws:lambda/codeSigningConfig:CodeSigningConfig",
        "warn",
        {
            "allowedPublishers": {"signingProfileVersionArns": [PUBLISHER_ARN]},
            "arn": WARN_ARN,
            "configId": "csc-0f1e2d3c4b5a69788",
        },
    )
    profile = record(
        "aws:signer/signingProfile:SigningProfile",
        "publisher",
        {
            "platformId": "AWSLambda-SHA384-ECDSA",
            "signatureValidityPeriod": {"type": "MONTHS", "value": 135},
            "name": "publisher",
            "versionArn": PUBLISHER_ARN,
            "status": "Active",
        },
    )
    layer = record(
        "aws:lambda/layerVersion:LayerVersion",
        "deps",
        {"layerName": "deps", **s3_code(layer_code), "arn": LAYER_ARN},
    )
    package_urn = api_code["urn"]
    functions = [
        # Takes the package's own outputs: joined by the program's graph.
        aws_function(
            "api",
            {**s3_code(api_code), "codeSigningConfigArn": ENFORCE_ARN},
            {key: [package_urn] for key in ("s3Bucket", "s3Key", "s3ObjectVersion")},
        ),
        # The same object written out by value (another program's package): joined by value.
        aws_function("api-copy", {**s3_code(api_code), "codeSigningConfigArn": ENFORCE_ARN}),
        aws_function("legacy", {**s3_code(old_code), "codeSigningConfigArn": ENFORCE_ARN}),
        aws_function("partner", {**s3_code(outside_code), "codeSigningConfigArn": WARN_ARN}),
        aws_function("soon", {**s3_code(soon_code), "codeSigningConfigArn": ENFORCE_ARN}),
        aws_function(
            "with-layer",
            {**s3_code(api_code), "codeSigningConfigArn": ENFORCE_ARN, "layers": [LAYER_ARN]},
        ),
        aws_function("unsigned", {"s3Bucket": BUCKET, "s3Key": "plain/app.zip"}),
        aws_function(
            "image",
            {
                "packageType": "Image",
                "imageUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app:1",
            },
        ),
        record(
            "aws-native:lambda:Function",
            "native",
            {
                "role": f"arn:aws:iam::{ACCOUNT}:role/lambda-exec",
                "runtime": "python3.12",
                "handler": "app.handler",
                "code": {
                    "s3Bucket": BUCKET,
                    "s3Key": outside_code["props"]["key"],
                    "s3ObjectVersion": outside_code["props"]["object_version"],
                },
                "codeSigningConfigArn": ENFORCE_ARN,
            },
        ),
        record(
            "aws-native:lambda:Function",
            "native-inline",
            {
                "role": f"arn:aws:iam::{ACCOUNT}:role/lambda-exec",
                "runtime": "python3.12",
                "handler": "index.handler",
                "code": {"zipFile": "def handler(e, c): return 1"},
            },
        ),
    ]
    # This project's CodeSigningConfig on the aws backend, used by a pulumi-aws function.
    codesign_config = record(
        "pulumi-python:dynamic/codesign:CodeSigningConfig",
        "codesign-enforce",
        {
            "allowed_publishers": [OUTSIDER_ARN],
            "policy": "Enforce",
            "settings": {"backend": "aws", "region": "us-east-1"},
            "arn": CODESIGN_CSC_ARN,
            "config_id": "csc-0c0d0e0f101112131",
        },
    )
    functions.append(
        aws_function(
            "partner-enforced",
            {**s3_code(outside_code), "codeSigningConfigArn": CODESIGN_CSC_ARN},
            {"codeSigningConfigArn": [codesign_config["urn"]]},
        )
    )
    native_config = record(
        "aws-native:lambda:CodeSigningConfig",
        "native-warn",
        {
            "allowedPublishers": {"signingProfileVersionArns": [PUBLISHER_ARN]},
            "codeSigningPolicies": {"untrustedArtifactOnDeployment": "Warn"},
            "codeSigningConfigArn": WARN_ARN.replace("0f1e", "0e1e"),
        },
    )
    return [
        profile,
        enforce,
        warn,
        native_config,
        codesign_config,
        api_code,
        old_code,
        outside_code,
        soon_code,
        layer_code,
        layer,
        *functions,
    ]


def new_aws_stack(*, listed: bool) -> list[Record]:
    """A pulumi-aws stack before anything exists: a new signer profile, a config that lists
    it (``listed``) or another new profile, and a function deployed from a new package."""
    profile_type = "aws:signer/signingProfile:SigningProfile"
    profiles = [
        record(
            profile_type,
            name,
            {
                "platformId": "AWSLambda-SHA384-ECDSA",
                "signatureValidityPeriod": {"type": "DAYS", "value": 10},
                "versionArn": UNKNOWN,
                "name": UNKNOWN,
            },
        )
        for name in ("publisher", "other")
    ]
    listed_profile = profiles[0 if listed else 1]
    config = record(
        "aws:lambda/codeSigningConfig:CodeSigningConfig",
        "enforce",
        {
            "allowedPublishers": {"signingProfileVersionArns": [UNKNOWN]},
            "policies": {"untrustedArtifactOnDeployment": "Enforce"},
            "arn": UNKNOWN,
        },
        {"allowedPublishers": [listed_profile["urn"]]},
    )
    package = record(
        "pulumi-python:dynamic/codesign:SignedPackage",
        "api-code",
        {
            "source": "/src/api",
            "profile_name": UNKNOWN,
            "destination": f"s3://{BUCKET}/signed/",
            "settings": {"backend": "aws"},
            "source_hash": "9f" * 48,
        },
        {"profile_name": [profiles[0]["urn"]]},
    )
    function = aws_function(
        "api",
        {
            "s3Bucket": UNKNOWN,
            "s3Key": UNKNOWN,
            "s3ObjectVersion": UNKNOWN,
            "codeSigningConfigArn": UNKNOWN,
        },
        {
            "s3Bucket": [package["urn"]],
            "s3Key": [package["urn"]],
            "s3ObjectVersion": [package["urn"]],
            "codeSigningConfigArn": [config["urn"]],
        },
    )
    return [*profiles, config, package, function]
