"""Every schema in schemas/ is a valid Draft 2020-12 schema that the project can load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from provider import schemas
from provider.errors import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.json"))


def test_the_schemas_directory_is_the_one_the_code_loads():
    assert schemas.schema_dir().resolve() == SCHEMA_DIR
    assert len(SCHEMA_FILES) >= 13
    assert all(p.name.endswith(".schema.json") for p in SCHEMA_FILES)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_each_schema_is_valid_draft_2020_12(path):
    document = json.loads(path.read_text(encoding="utf-8"))

    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].endswith("/" + path.name)


@pytest.mark.parametrize("name", schemas.schema_names())
def test_a_validator_builds_for_each_schema_and_resolves_its_refs(name):
    validator = schemas.validator(name)

    # Walking a document through every keyword forces each $ref to resolve.
    list(validator.iter_errors({}))
    list(validator.iter_errors({"CodeSigningConfig": {"AllowedPublishers": {}}}))


def test_schema_names_match_the_files():
    assert schemas.schema_names() == [p.name.removesuffix(".schema.json") for p in SCHEMA_FILES]


def test_validate_names_the_origin_and_the_field():
    document = {"AllowedPublishers": {"SigningProfileVersionArns": ["nope"]}}

    with pytest.raises(ValidationError) as raised:
        schemas.validate(document, "create-code-signing-config-request", what="file csc.json")

    assert raised.value.message.startswith(
        "file csc.json: AllowedPublishers.SigningProfileVersionArns[0]"
    )


@pytest.mark.parametrize(
    ("schema", "document"),
    [
        ("verdict", {"decision": "MAYBE"}),
        (
            "signing-job",
            {
                "jobId": "x",
                "status": "Succeeded",
                "profileName": "ab",
                "platformId": "p",
                "createdAt": "2026-01-01T00:00:00Z",
                "source": {"path": "a"},
            },
        ),
        ("code-signing-config", {"CodeSigningConfig": {}}),
        ("csc-file", {"AllowedPublishers": {"SigningProfileVersionArns": []}}),
        ("put-signing-profile-response", {"arn": "x"}),
    ],
)
def test_schemas_reject_wrong_documents(schema, document):
    assert list(schemas.validator(schema).iter_errors(document))


def test_a_succeeded_job_needs_its_signed_object():
    job = {
        "jobId": "x",
        "status": "Failed",
        "statusReason": "empty zip",
        "profileName": "ab",
        "platformId": "p",
        "createdAt": "2026-01-01T00:00:00Z",
        "source": {"path": "a"},
    }

    assert list(schemas.validator("signing-job").iter_errors(job)) == []
    assert list(schemas.validator("signing-job").iter_errors({**job, "status": "Succeeded"}))
