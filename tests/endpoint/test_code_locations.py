"""Code locations through a real server: GetLayerVersion's and GetLayerVersionByArn's
``Content.Location`` and GetFunction's ``Code.Location`` download the zip from this server,
as Lambda's presigned URLs do (moto alone has no GetLayerVersionByArn, answers ``s3://`` for
a layer and an ``amazonaws.com`` URL for a function)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from .conftest import Clients, Server, error_code, package_bytes, unique


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def test_a_layer_version_read_by_arn_or_name_downloads_its_content(aws: Clients) -> None:
    lambda_ = aws("lambda")
    data = package_bytes({"python/vendor.py": b"X = 1\n"})
    name = unique("vendor")
    published = lambda_.publish_layer_version(LayerName=name, Content={"ZipFile": data})
    arn = published["LayerVersionArn"]

    by_arn = lambda_.get_layer_version_by_arn(Arn=arn)
    by_name = lambda_.get_layer_version(LayerName=name, VersionNumber=1)
    by_layer_arn = lambda_.get_layer_version(LayerName=published["LayerArn"], VersionNumber=1)

    assert by_arn["LayerVersionArn"] == by_name["LayerVersionArn"] == arn
    for answer in (by_arn, by_name, by_layer_arn):
        assert answer["Content"]["CodeSha256"] == published["Content"]["CodeSha256"]
        assert _download(answer["Content"]["Location"]) == data


def test_a_missing_layer_version_is_not_found_by_arn_by_name_or_location(
    aws: Clients,
) -> None:
    lambda_ = aws("lambda")
    name = unique("vendor")
    published = lambda_.publish_layer_version(LayerName=name, Content={"ZipFile": package_bytes()})
    missing = published["LayerArn"] + ":9"
    code, message, status = error_code(lambda: lambda_.get_layer_version_by_arn(Arn=missing))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert f"{name}:9" in message
    code, _, _ = error_code(lambda: lambda_.get_layer_version(LayerName=name, VersionNumber=9))
    assert code == "ResourceNotFoundException"
    location = lambda_.get_layer_version_by_arn(Arn=published["LayerVersionArn"])["Content"][
        "Location"
    ]
    with pytest.raises(urllib.error.HTTPError) as caught:
        _download(location[:-1] + "9")
    assert caught.value.code == 404
    assert b"NoSuchKey" in caught.value.read()


def test_a_functions_code_location_downloads_each_versions_code_from_this_server(
    aws: Clients, role: str, server: Server
) -> None:
    lambda_ = aws("lambda")
    name = unique("fn-")
    first = package_bytes({"app.py": b"def handler(e, c):\n    return 1\n"})
    second = package_bytes({"app.py": b"def handler(e, c):\n    return 2\n"})
    lambda_.create_function(
        FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=role,
        Code={"ZipFile": first},
    )  # fmt: skip
    version = lambda_.publish_version(FunctionName=name)["Version"]
    lambda_.update_function_code(FunctionName=name, ZipFile=second)

    latest = lambda_.get_function(FunctionName=name)["Code"]
    published = lambda_.get_function(FunctionName=name, Qualifier=version)["Code"]
    for code in (latest, published):
        assert code["RepositoryType"] == "S3"
        assert code["Location"].startswith(server.url + "/")
    assert _download(latest["Location"]) == second
    assert _download(published["Location"]) == first
