"""A catalogue of malformed requests, sent over HTTP to a real ``sam-ext serve``: each
gets a 4xx in the addressed service's own error shape (never a 500, an HTML page or a
hang), and nothing is stored (the listings still work and are unchanged).

The error shapes asserted (``shape`` of each case):

=========  ==========================================================================
lambda     ``x-amzn-ErrorType: CODE``; JSON ``{"__type": CODE, "message", "Type": "User"}``
rest-json  ``x-amzn-ErrorType: CODE``; JSON ``{"__type": CODE, "message"}`` (Signer)
json       the same, for an ``X-Amz-Target`` service (DynamoDB, CloudWatch Logs)
query      XML ``<ErrorResponse><Error><Type>Sender</Type><Code>CODE</Code>`` (IAM, STS)
s3         XML ``<Error><Code>CODE</Code><Message>`` (S3)
http       the HTTP server's own refusal (request line, headers): the JSON of rest-json
=========  ==========================================================================

Areas: Lambda's operations that go to moto (CreateFunction, UpdateFunctionCode,
UpdateFunctionConfiguration, PublishLayerVersion, ...), the served layer and code
signing config operations, Signer, routing (credential scope, ``X-Amz-Target``,
``Action``, a Signer path without a signature) and HTTP framing (raw bytes on a socket).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from .conftest import ACCOUNT, REGION, Server, clients_for, package_bytes, unique

PLATFORM = "AWSLambda-SHA384-ECDSA"
ZIP = base64.b64encode(package_bytes()).decode()
CSC_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (lower-cased names), body."""

    status: int
    headers: dict[str, str]
    body: bytes


def _address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname == "127.0.0.1" and parts.port
    return parts.hostname, parts.port


def authorization(service: str) -> str:
    """A SigV4 Authorization header naming ``service`` (the server reads the scope)."""
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20260601/{REGION}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


def send(
    server: Server,
    method: str,
    path: str,
    service: str | None,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with http.client (a JSON body for a dict or list)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if service is not None:
        sent["Authorization"] = authorization(service)
    connection = http.client.HTTPConnection(*_address(server), timeout=30)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def send_raw(server: Server, data: bytes) -> Answer:
    """Raw bytes on a socket (framing no client would send); the answer parsed by
    http.client."""
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )


def head(method: str, path: str, service: str | None, *lines: str) -> bytes:
    """A request head (ending in the blank line), signed for ``service``."""
    signed = [f"Authorization: {authorization(service)}"] if service else []
    return (
        "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *signed, *lines]) + "\r\n\r\n"
    ).encode()


class World:
    """What the cases act on: a function, a layer, a profile; and what the server holds."""

    def __init__(self, server: Server) -> None:
        self.server = server
        aws = clients_for(server.url)
        self.lambda_, self.signer = aws("lambda"), aws("signer")
        self.role = aws("iam").create_role(RoleName=unique("role-"), AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.function = unique("fn-")
        self.lambda_.create_function(
            FunctionName=self.function,
            Runtime="python3.12",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": package_bytes()},
        )
        self.layer = unique("layer-")
        self.lambda_.publish_layer_version(
            LayerName=self.layer, Content={"ZipFile": package_bytes()}
        )
        self.profile = unique("profile_")
        self.profile_arn = self.signer.put_signing_profile(
            profileName=self.profile, platformId=PLATFORM
        )["arn"]

    def function_body(self, **changes: Any) -> dict[str, Any]:
        """A CreateFunction body that would succeed, with ``changes`` (None drops a key)."""
        body: dict[str, Any] = {
            "FunctionName": unique("new-"),
            "Runtime": "python3.12",
            "Role": self.role,
            "Handler": "app.handler",
            "Code": {"ZipFile": ZIP},
        }
        body.update(changes)
        return {k: v for k, v in body.items() if v is not None}

    def snapshot(self) -> Any:
        """What the server holds, read with the listings a bad request must not break."""
        return (
            sorted(f["FunctionName"] for f in self.lambda_.list_functions()["Functions"]),
            {
                k: v
                for k, v in self.lambda_.get_function_configuration(
                    FunctionName=self.function
                ).items()
                if k in ("Timeout", "Layers", "CodeSha256", "MemorySize")
            },
            sorted(layer["LayerName"] for layer in self.lambda_.list_layers()["Layers"]),
            sorted(
                p["profileName"]
                for p in self.signer.list_signing_profiles(includeCanceled=True)["profiles"]
            ),
            sorted(
                c["CodeSigningConfigArn"]
                for c in self.lambda_.list_code_signing_configs()["CodeSigningConfigs"]
            ),
            self.signer.list_tags_for_resource(resourceArn=self.profile_arn)["tags"],
        )


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return World(server)


Request = Callable[[World], Answer]


def lam(method: str, path: str, body: Any = None, **headers: str) -> Request:
    return lambda w: send(w.server, method, path.format(w=w), "lambda", body, headers)


def create(**changes: Any) -> Request:
    return lambda w: send(
        w.server, "POST", "/2015-03-31/functions", "lambda", w.function_body(**changes)
    )


def sig(method: str, path: str, body: Any = None) -> Request:
    return lambda w: send(w.server, method, path.format(w=w), "signer", body)


def scoped(
    service: str | None, method: str, path: str, body: Any = None, **headers: str
) -> Request:
    return lambda w: send(w.server, method, path, service, body, headers)


def raw(data: bytes) -> Request:
    return lambda w: send_raw(w.server, data)


TARGET = "X-Amz-Target"
AMZ_JSON = {"Content-Type": "application/x-amz-json-1.0"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOT_A_ZIP = base64.b64encode(b"just some bytes").decode()
LAYER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:some-layer:1"
DOTS = quote("../../x", safe="")

# name: (request, HTTP status, error code, shape)
CASES: dict[str, tuple[Request, int, str, str]] = {
    # --- Lambda, CreateFunction (goes to moto): nothing malformed may be stored ----------------
    "CreateFunction: body not JSON": (
        lam("POST", "/2015-03-31/functions", "{not json"),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: body a JSON array": (
        lam("POST", "/2015-03-31/functions", [1, 2]),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: Layers a string": (
        create(Layers=LAYER_ARN),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: Timeout 'soon'": (
        create(Timeout="soon"),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: Timeout 0": (create(Timeout=0), 400, "ValidationException", "lambda"),
    "CreateFunction: Environment a string": (
        create(Environment="STAGE=test"),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: MemorySize 64": (create(MemorySize=64), 400, "ValidationException", "lambda"),
    "CreateFunction: name ../../x": (
        create(FunctionName="../../x"),
        400,
        "ValidationException",
        "lambda",
    ),
    "CreateFunction: empty name": (create(FunctionName=""), 400, "ValidationException", "lambda"),
    "CreateFunction: unknown runtime": (
        create(Runtime="cobol85"),
        400,
        "ValidationException",
        "lambda",
    ),
    "CreateFunction: Role not an ARN": (create(Role="admin"), 400, "ValidationException", "lambda"),
    "CreateFunction: no Role": (create(Role=None), 400, "ValidationException", "lambda"),
    "CreateFunction: Code without a source": (
        create(Code={}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "CreateFunction: S3Bucket without S3Key": (
        create(Code={"S3Bucket": "some-bucket"}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "CreateFunction: ZipFile not base64": (
        create(Code={"ZipFile": "%%%"}),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: ZipFile not a zip": (
        create(Code={"ZipFile": NOT_A_ZIP}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "CreateFunction: Image without ImageUri": (
        create(PackageType="Image", Code={}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "CreateFunction: .zip without Handler": (
        create(Handler=None),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "CreateFunction: environment key '1A'": (
        create(Environment={"Variables": {"1A": "x"}}),
        400,
        "ValidationException",
        "lambda",
    ),
    "CreateFunction: architecture sparc": (
        create(Architectures=["sparc"]),
        400,
        "ValidationException",
        "lambda",
    ),
    "CreateFunction: Description of 257 characters": (
        create(Description="d" * 257),
        400,
        "ValidationException",
        "lambda",
    ),
    "CreateFunction: Publish 'yes'": (
        create(Publish="yes"),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateFunction: Tags a list": (
        create(Tags=["a"]),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    # --- Lambda, other operations that go to moto ----------------------------------------------
    "UpdateFunctionCode: no source": (
        lam("PUT", "/2015-03-31/functions/{w.function}/code", {}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "UpdateFunctionCode: ZipFile not a zip": (
        lam("PUT", "/2015-03-31/functions/{w.function}/code", {"ZipFile": NOT_A_ZIP}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "UpdateFunctionConfiguration: Layers a string": (
        lam("PUT", "/2015-03-31/functions/{w.function}/configuration", {"Layers": LAYER_ARN}),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "UpdateFunctionConfiguration: Timeout 'soon'": (
        lam("PUT", "/2015-03-31/functions/{w.function}/configuration", {"Timeout": "soon"}),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "UpdateFunctionConfiguration: name ../../x": (
        lam("PUT", f"/2015-03-31/functions/{DOTS}/configuration", {"Timeout": 3}),
        400,
        "ValidationException",
        "lambda",
    ),
    "GetFunction: name ../../x": (
        lam("GET", f"/2015-03-31/functions/{DOTS}"),
        400,
        "ValidationException",
        "lambda",
    ),
    "PublishLayerVersion: layer ../../etc": (
        lam(
            "POST",
            f"/2018-10-31/layers/{quote('../../etc', safe='')}/versions",
            {"Content": {"ZipFile": ZIP}},
        ),
        400,
        "ValidationException",
        "lambda",
    ),
    "PublishLayerVersion: Content without a source": (
        lam("POST", "/2018-10-31/layers/{w.layer}/versions", {"Content": {}}),
        400,
        "InvalidParameterValueException",
        "lambda",
    ),
    "PublishLayerVersion: CompatibleRuntimes a string": (
        lam(
            "POST",
            "/2018-10-31/layers/{w.layer}/versions",
            {"Content": {"ZipFile": ZIP}, "CompatibleRuntimes": "python3.12"},
        ),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "GetLayerVersion: layer ../../etc": (
        lam("GET", f"/2018-10-31/layers/{quote('../../etc', safe='')}/versions/1"),
        400,
        "ValidationException",
        "lambda",
    ),
    "GetLayerVersion: version 'abc'": (
        lam("GET", "/2018-10-31/layers/{w.layer}/versions/abc"),
        400,
        "ValidationException",
        "lambda",
    ),
    "ListFunctions: MaxItems=0": (
        lam("GET", "/2015-03-31/functions/?MaxItems=0"),
        400,
        "ValidationException",
        "lambda",
    ),
    "ListFunctions: MaxItems=many": (
        lam("GET", "/2015-03-31/functions/?MaxItems=many"),
        400,
        "ValidationException",
        "lambda",
    ),
    "Invoke: invocation type 'Sometimes'": (
        lam(
            "POST",
            "/2015-03-31/functions/{w.function}/invocations",
            {},
            **{"X-Amz-Invocation-Type": "Sometimes"},
        ),
        400,
        "ValidationException",
        "lambda",
    ),
    "DeleteFunction: Qualifier '!!'": (
        lam("DELETE", "/2015-03-31/functions/{w.function}?Qualifier=%21%21"),
        400,
        "ValidationException",
        "lambda",
    ),
    "AddPermission: empty body": (
        lam("POST", "/2015-03-31/functions/{w.function}/policy", {}),
        400,
        "ValidationException",
        "lambda",
    ),
    "PutFunctionConcurrency: -1": (
        lam(
            "PUT",
            "/2017-10-31/functions/{w.function}/concurrency",
            {"ReservedConcurrentExecutions": -1},
        ),
        400,
        "ValidationException",
        "lambda",
    ),
    # --- Lambda's code signing config operations (served) --------------------------------------
    "CreateCodeSigningConfig: body not JSON": (
        lam("POST", "/2020-04-22/code-signing-configs", '{"AllowedPublishers": '),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateCodeSigningConfig: AllowedPublishers a list": (
        lam("POST", "/2020-04-22/code-signing-configs", {"AllowedPublishers": ["arn"]}),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "CreateCodeSigningConfig: policy 'Block'": (
        lambda w: send(
            w.server,
            "POST",
            "/2020-04-22/code-signing-configs",
            "lambda",
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [w.profile_arn + "/abcdefghij"]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Block"},
            },
        ),
        400,
        "ValidationException",
        "lambda",
    ),
    "GetCodeSigningConfig: not an ARN": (
        lam("GET", "/2020-04-22/code-signing-configs/csc-123"),
        400,
        "ValidationException",
        "lambda",
    ),
    "PutFunctionCodeSigningConfig: name ../../x": (
        lam(
            "PUT",
            f"/2020-06-30/functions/{DOTS}/code-signing-config",
            {"CodeSigningConfigArn": CSC_ARN},
        ),
        400,
        "ValidationException",
        "lambda",
    ),
    "ListCodeSigningConfigs: MaxItems=0": (
        lam("GET", "/2020-04-22/code-signing-configs?MaxItems=0"),
        400,
        "ValidationException",
        "lambda",
    ),
    # --- Signer ------------------------------------------------------------------------------
    "PutSigningProfile: body not JSON": (
        sig("PUT", "/signing-profiles/abc_def", "{x"),
        400,
        "SerializationException",
        "rest-json",
    ),
    "PutSigningProfile: name 'ab-c' (pattern, whole value)": (
        sig("PUT", "/signing-profiles/ab-c", {"platformId": PLATFORM}),
        400,
        "ValidationException",
        "rest-json",
    ),
    "PutSigningProfile: validity 'ten'": (
        sig(
            "PUT",
            "/signing-profiles/abc_def",
            {"platformId": PLATFORM, "signatureValidityPeriod": {"value": "ten", "type": "DAYS"}},
        ),
        400,
        "ValidationException",
        "rest-json",
    ),
    "StartSigningJob: source a string": (
        sig(
            "POST",
            "/signing-jobs",
            {
                "source": "s3://b/k",
                "destination": {"s3": {"bucketName": "b"}},
                "profileName": "abc_def",
            },
        ),
        400,
        "ValidationException",
        "rest-json",
    ),
    "GetSigningProfile: name of 65 characters": (
        sig("GET", "/signing-profiles/" + "p" * 65),
        400,
        "ValidationException",
        "rest-json",
    ),
    "ListSigningJobs: maxResults=0": (
        sig("GET", "/signing-jobs?maxResults=0"),
        400,
        "ValidationException",
        "rest-json",
    ),
    "RevokeSigningProfile: effectiveTime 'yesterday'": (
        sig(
            "PUT",
            "/signing-profiles/{w.profile}/revoke",
            {"profileVersion": "abcdefghij", "reason": "r", "effectiveTime": "yesterday"},
        ),
        400,
        "ValidationException",
        "rest-json",
    ),
    "TagResource: key 'aws:owner'": (
        lambda w: send(
            w.server,
            "POST",
            "/tags/" + quote(w.profile_arn, safe=""),
            "signer",
            {"tags": {"aws:owner": "me"}},
        ),
        400,
        "ValidationException",
        "rest-json",
    ),
    "Signer: unknown path": (
        sig("GET", "/signing-profilez"),
        404,
        "UnknownOperationException",
        "rest-json",
    ),
    # --- routing -----------------------------------------------------------------------------
    "Signer path without a signature": (
        scoped(None, "GET", "/signing-profiles/abc_def"),
        403,
        "MissingAuthenticationTokenException",
        "rest-json",
    ),
    "Signer path with a malformed SigV4 header": (
        scoped(
            None,
            "GET",
            "/signing-profiles/abc_def",
            Authorization="AWS4-HMAC-SHA256 Credential=abc, Signature=0",
        ),
        403,
        "IncompleteSignatureException",
        "rest-json",
    ),
    "Lambda path with a four-part credential scope": (
        scoped(
            None,
            "GET",
            "/2015-03-31/functions/",
            Authorization="AWS4-HMAC-SHA256 Credential=a/b/c/d, Signature=0",
        ),
        403,
        "IncompleteSignatureException",
        "lambda",
    ),
    "S3 path with a malformed SigV4 header": (
        scoped(
            None,
            "GET",
            "/",
            Authorization="AWS4-HMAC-SHA256 Credential=abc, SignedHeaders=host, Signature=0",
        ),
        400,
        "AuthorizationHeaderMalformed",
        "s3",
    ),
    "credential scope naming no service": (
        scoped("nosuchservice", "GET", "/"),
        403,
        "InvalidSignatureException",
        "json",
    ),
    "unknown X-Amz-Target": (
        scoped("dynamodb", "POST", "/", {}, **AMZ_JSON, **{TARGET: "DynamoDB_20120810.Nope"}),
        400,
        "UnknownOperationException",
        "json",
    ),
    "X-Amz-Target of another service": (
        scoped("dynamodb", "POST", "/", {}, **AMZ_JSON, **{TARGET: "Logs_20140328.ListTables"}),
        400,
        "UnknownOperationException",
        "json",
    ),
    "JSON service without X-Amz-Target": (
        scoped("dynamodb", "POST", "/", {}, **AMZ_JSON),
        400,
        "UnknownOperationException",
        "json",
    ),
    "JSON service, body not JSON": (
        scoped(
            "logs",
            "POST",
            "/",
            "{x",
            **{
                "Content-Type": "application/x-amz-json-1.1",
                TARGET: "Logs_20140328.DescribeLogGroups",
            },
        ),
        400,
        "SerializationException",
        "json",
    ),
    "X-Amz-Target to a query service": (
        scoped("sts", "POST", "/", "{}", **{TARGET: "Foo.Bar"}),
        400,
        "UnknownOperationException",
        "query",
    ),
    "IAM: unknown Action": (
        scoped("iam", "POST", "/", "Action=Nope&Version=2010-05-08", **FORM),
        400,
        "InvalidAction",
        "query",
    ),
    "STS: no Action": (
        scoped("sts", "POST", "/", "Version=2011-06-15", **FORM),
        400,
        "MissingAction",
        "query",
    ),
    "CloudFormation: unknown Action in the query string": (
        scoped("cloudformation", "GET", "/?Action=DropEverything"),
        400,
        "InvalidAction",
        "query",
    ),
    # --- HTTP framing (raw bytes on a socket) ------------------------------------------------
    "chunked body with a bad chunk size (Lambda)": (
        raw(
            head("POST", "/2015-03-31/functions", "lambda", "Transfer-Encoding: chunked")
            + b"zz\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "chunked body with a bad chunk size (Signer)": (
        raw(
            head("PUT", "/signing-profiles/abc_def", "signer", "Transfer-Encoding: chunked")
            + b"zz\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "SerializationException",
        "rest-json",
    ),
    "chunked body with a bad chunk size (S3)": (
        raw(
            head("PUT", "/some-bucket", "s3", "Transfer-Encoding: chunked")
            + b"zz\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "IncompleteBody",
        "s3",
    ),
    "chunk without its terminating newline": (
        raw(
            head("POST", "/2015-03-31/functions", "lambda", "Transfer-Encoding: chunked")
            + b"2\r\n{}XX0\r\n\r\n"
        ),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "Content-Length 'abc'": (
        raw(head("POST", "/2015-03-31/functions", "lambda", "Content-Length: abc") + b"{}"),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "Content-Length -5": (
        raw(head("PUT", "/signing-profiles/abc_def", "signer", "Content-Length: -5") + b"{}"),
        400,
        "SerializationException",
        "rest-json",
    ),
    "Content-Length and chunked together": (
        raw(
            head(
                "POST",
                "/2015-03-31/functions",
                "lambda",
                "Content-Length: 7",
                "Transfer-Encoding: chunked",
            )
            + b"2\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "InvalidRequestContentException",
        "lambda",
    ),
    "request line of one word": (raw(b"GARBAGE\r\n\r\n"), 400, "BadRequestException", "http"),
    "malformed HTTP version": (
        raw(b"GET / HTTP/1.x\r\nHost: 127.0.0.1\r\n\r\n"),
        400,
        "BadRequestException",
        "http",
    ),
    "a header line over 64 KiB": (
        raw(head("GET", "/", None, "X-Long: " + "a" * 70_000)),
        431,
        "RequestHeaderFieldsTooLargeException",
        "http",
    ),
    "over 100 headers": (
        raw(head("GET", "/", None, *(f"X-H{i}: 1" for i in range(120)))),
        431,
        "RequestHeaderFieldsTooLargeException",
        "http",
    ),
}


def error_code(answer: Answer, shape: str) -> str:
    """The error code of an answer, after checking it has ``shape``."""
    assert b"<html" not in answer.body.lower(), answer.body[:200]
    content_type = answer.headers.get("content-type", "")
    if shape in ("lambda", "rest-json", "json", "http"):
        assert content_type.startswith("application/json"), content_type
        document = json.loads(answer.body)
        assert document["__type"] == answer.headers["x-amzn-errortype"]
        assert document["message"]
        if shape == "lambda":
            assert document["Type"] == "User"
        return str(document["__type"])
    assert "xml" in content_type, content_type
    root = ET.fromstring(answer.body)
    if shape == "query":
        assert root.tag == "ErrorResponse"
        assert root.findtext("Error/Type") == "Sender"
        return str(root.findtext("Error/Code"))
    assert shape == "s3" and root.tag == "Error"
    assert root.findtext("Message")
    return str(root.findtext("Code"))


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_request_gets_a_4xx_in_the_services_shape_and_stores_nothing(
    world: World, case: str
) -> None:
    request, status, code, shape = CASES[case]
    before = world.snapshot()
    answer = request(world)
    assert (answer.status, error_code(answer, shape)) == (status, code), answer.body[:300]
    assert world.snapshot() == before  # the listings still work, and nothing was stored


def test_the_catalogue_has_fifty_requests_across_every_area() -> None:
    assert len(CASES) >= 50
    prefixes = (
        "CreateFunction",
        "UpdateFunction",
        "PublishLayerVersion",
        "CodeSigningConfig",
        "SigningProfile",
        "X-Amz-Target",
        "Action",
        "chunk",
        "Content-Length",
        "header",
    )
    for prefix in prefixes:
        assert any(prefix in name for name in CASES), prefix


def test_a_well_formed_request_still_passes_every_check(world: World) -> None:
    """The checks refuse what is malformed, not what clients send: the SDK's own requests
    for the same operations succeed."""
    name = unique("ok-")
    layer = world.lambda_.list_layer_versions(LayerName=world.layer)["LayerVersions"][0]
    created = world.lambda_.create_function(
        **{**world.function_body(FunctionName=name), "Code": {"ZipFile": package_bytes()}},
        Timeout=30,
        Layers=[layer["LayerVersionArn"]],
        Environment={"Variables": {"STAGE": "test"}},
    )
    assert created["Timeout"] == 30
    world.lambda_.update_function_configuration(FunctionName=name, Timeout=60)
    world.lambda_.update_function_code(FunctionName=name, ZipFile=package_bytes())
    assert world.lambda_.get_function(FunctionName=name)["Configuration"]["Timeout"] == 60
    assert name in [f["FunctionName"] for f in world.lambda_.list_functions()["Functions"]]
    world.lambda_.delete_function(FunctionName=name)
