"""S3: locations, the versioning requirement, content-addressed uploads (moto)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws.s3 import ObjectStore, S3Object, as_object, parse_destination
from provider.errors import ValidationError

from .conftest import BUCKET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://bkt-1/a/b.zip", S3Object("bkt-1", "a/b.zip")),
        ("s3:/bkt-1/a/b.zip", S3Object("bkt-1", "a/b.zip")),  # after pathlib
        ("s3://bkt-1/b.zip?versionId=abc", S3Object("bkt-1", "b.zip", "abc")),
    ],
)
def test_object_uris_parse(text: str, expected: S3Object) -> None:
    assert S3Object.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s3://bkt-1/", "names no object"),
        ("s3://BAD_bucket/k", "is not an S3 bucket name"),
        ("s3://bkt-1/k?version=1", "only ?versionId=V may follow the key"),
        ("https://bkt-1/k", "is not an S3 location"),
    ],
)
def test_bad_object_uris_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=f"package: .*{re.escape(message)}"):
        S3Object.parse(text)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # What sam-ext and SAM CLI write given an endpoint (sam-ext serve, LocalStack).
        (
            "http://127.0.0.1:4566/b-1/t/x.template?versionId=v1",
            S3Object("b-1", "t/x.template", "v1"),
        ),
        ("http://localhost:4566/b-1/x.template", S3Object("b-1", "x.template")),
        # S3's own hosts: path style (regional, legacy dash, global) and virtual-hosted.
        ("https://s3.us-east-1.amazonaws.com/b-1/a/b.template", S3Object("b-1", "a/b.template")),
        ("https://s3-eu-west-1.amazonaws.com/b-1/k", S3Object("b-1", "k")),
        ("https://s3.amazonaws.com/b-1/k?versionId=V", S3Object("b-1", "k", "V")),
        ("https://b-1.s3.amazonaws.com/k", S3Object("b-1", "k")),
        (
            "https://my.dotted.bucket.s3.eu-west-1.amazonaws.com/k%20x",
            S3Object("my.dotted.bucket", "k x"),
        ),
        ("https://s3.dualstack.us-east-1.amazonaws.com/b-1/k", S3Object("b-1", "k")),
    ],
)
def test_template_urls_name_their_object(url: str, expected: S3Object) -> None:
    assert S3Object.from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["s3://b-1/k", "ftp://host/b-1/k", "https://s3.amazonaws.com/b-1/", "http://127.0.0.1:1/b-1"],
)
def test_a_url_naming_no_object_is_refused_naming_it(url: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"TemplateURL: {url!r}")):
        S3Object.from_url(url)


def test_a_local_path_is_refused_with_the_s3_form_to_use() -> None:
    with pytest.raises(ValidationError, match=r"is a local file; .*\(s3://BUCKET/KEY"):
        as_object(Path("build/app.zip"))


def test_destinations_are_a_bucket_and_a_directory_prefix() -> None:
    assert parse_destination("s3://bkt-1") == ("bkt-1", "")
    assert parse_destination("s3://bkt-1/apps/web") == ("bkt-1", "apps/web/")
    assert parse_destination("s3:/bkt-1/apps/") == ("bkt-1", "apps/")


def test_an_unversioned_bucket_is_refused_before_anything_is_uploaded(
    s3: Any, package: Callable[..., Path]
) -> None:
    s3.create_bucket(Bucket="plain-bucket")
    store = ObjectStore(s3)
    with pytest.raises(ValidationError) as caught:
        store.put_content_addressed(package(), "plain-bucket", "app/")
    assert "S3 bucket 'plain-bucket': versioning is not enabled" in caught.value.message
    assert (
        "aws s3api put-bucket-versioning --bucket plain-bucket "
        "--versioning-configuration Status=Enabled" in caught.value.message
    )
    assert "Contents" not in s3.list_objects_v2(Bucket="plain-bucket")


def test_a_suspended_bucket_is_refused_too(s3: Any, package: Callable[..., Path]) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    with pytest.raises(ValidationError, match="versioning is suspended"):
        ObjectStore(s3).put_content_addressed(package(), BUCKET, "")


def test_an_unchanged_package_is_uploaded_once(s3: Any, package: Callable[..., Path]) -> None:
    store = ObjectStore(s3)
    first, uploaded = store.put_content_addressed(package(), BUCKET, "app/")
    again, uploaded_again = store.put_content_addressed(package("copy.zip"), BUCKET, "app/")
    assert (uploaded, uploaded_again) == (True, False)
    assert again == first
    assert first.key.startswith("app/") and first.key.endswith(".zip") and len(first.key) == 72
    assert len(store.versions(BUCKET, first.key)) == 1


def test_an_object_overwritten_under_the_content_key_is_uploaded_again(
    s3: Any, package: Callable[..., Path]
) -> None:
    store = ObjectStore(s3)
    first, _ = store.put_content_addressed(package(), BUCKET, "")
    s3.put_object(Bucket=BUCKET, Key=first.key, Body=b"something else")
    second, uploaded = store.put_content_addressed(package(), BUCKET, "")
    assert uploaded and second.version != first.version
    body = s3.get_object(Bucket=BUCKET, Key=second.key)["Body"].read()
    assert body == package().read_bytes()


def test_a_missing_source_names_it(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"source: .*missing\.zip' does not exist"):
        ObjectStore(s3).put_content_addressed(tmp_path / "missing.zip", BUCKET, "")


def test_a_source_replaced_while_it_uploads_is_uploaded_as_hashed(
    s3: Any, package: Callable[..., Path], tmp_path: Path
) -> None:
    """One thread replaces the source in a loop between two packages while it is uploaded
    content-addressed: every object holds the bytes its key (their SHA-256) names, and its
    metadata says so (a later HEAD trusts the metadata to skip the upload)."""
    first = package("one.zip").read_bytes()
    second = package(
        "two.zip", files={"app.py": b"def handler(e, c):\n    return 2\n"}
    ).read_bytes()
    source = tmp_path / "racing.zip"
    source.write_bytes(first)
    stop = threading.Event()

    def replace() -> None:
        spare = tmp_path / "racing.next"
        while not stop.is_set():
            for data in (first, second):
                spare.write_bytes(data)
                os.replace(spare, source)
                time.sleep(0.0005)

    store = ObjectStore(s3)
    placed: list[S3Object] = []
    writer = threading.Thread(target=replace, daemon=True)
    writer.start()
    try:
        for _ in range(100):
            # A fresh prefix each time: every call hashes and uploads.
            placed.append(store.put_content_addressed(source, BUCKET, f"{len(placed)}/")[0])
    finally:
        stop.set()
        writer.join(30)
    digests = set()
    for obj in placed:
        got = s3.get_object(Bucket=BUCKET, Key=obj.key, VersionId=obj.version)
        digest = obj.key.split("/")[1].removesuffix(".zip")
        assert hashlib.sha256(got["Body"].read()).hexdigest() == digest, obj
        assert got["Metadata"]["codesign-sha256"] == digest
        digests.add(digest)
    assert len(digests) == 2, "the source was not replaced while it was uploaded"
