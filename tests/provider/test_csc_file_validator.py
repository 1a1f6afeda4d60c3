"""The ``--csc-file`` predicate (provider/csc_file.py) accepts and rejects exactly what
schemas/csc-file.schema.json does (checked with jsonschema, by hypothesis), so skipping
jsonschema for the documents it accepts weakens nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategies import json_values as json_values_of
from schema_strategies import near

from provider import csc_file, schemas
from provider.backends.base import csc_policy
from provider.errors import ValidationError

ARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a/AbCdE12345"
REQUEST: dict[str, Any] = {
    "Description": "team a",
    "AllowedPublishers": {"SigningProfileVersionArns": [ARN, ARN.replace("team_a", "b_2")]},
    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
    "Tags": {"team": "a"},
}
RESPONSE: dict[str, Any] = {
    "CodeSigningConfig": {
        "CodeSigningConfigId": "csc-0123456789abcdef0",
        "CodeSigningConfigArn": (
            "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
        ),
        "Description": "",
        "AllowedPublishers": {"SigningProfileVersionArns": [ARN]},
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"},
        "LastModified": "2026-12-01T09:00:00.123+00:00",
    },
    "ResponseMetadata": {"HTTPStatusCode": 200},
}


def _schema_accepts(document: Any) -> bool:
    return not list(schemas.validator("csc-file").iter_errors(document))


json_values = json_values_of(["Warn", "Enforce", "warn", "", ARN])


def _near(text: str) -> st.SearchStrategy[str]:
    """Near-valid strings with the tricky characters of the csc-file patterns (newline
    before ``$``, non-ASCII digits), long ones."""
    return near(text, ["\n", " ", "-", "_", ".", "٣", "Z", ":", "/", "x" * 257])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document: dict keys and list indexes, the root first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A valid request or response with a few changes anywhere inside: a value replaced
    (by a near string or any JSON), a property dropped or added, a list grown or emptied;
    sometimes not an object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    document = copy.deepcopy(draw(st.sampled_from([REQUEST, RESPONSE])))
    if draw(st.booleans()):  # optional properties absent
        for key in draw(st.lists(st.sampled_from(["Description", "CodeSigningPolicies", "Tags"]))):
            document.pop(key, None)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(document)))
        target = _at(document, path)
        action = draw(st.integers(0, 5))
        if path and action == 0:
            del _at(document, path[:-1])[path[-1]]
        elif isinstance(target, dict) and action == 1:
            key = draw(
                st.sampled_from(
                    [
                        "CodeSigningConfig",
                        "AllowedPublishers",
                        "UntrustedArtifactOnDeployment",
                        "Tags",
                    ]
                )
                | st.text(max_size=6)
            )
            target[key] = draw(json_values)
        elif isinstance(target, list) and action == 2:
            target.extend([ARN] * draw(st.sampled_from([0, 18, 19, 20])))
            if draw(st.booleans()):
                target.clear()
        elif path:
            value = draw(_near(target) if isinstance(target, str) else json_values)
            _at(document, path[:-1])[path[-1]] = value
        else:
            document = draw(json_values)
            break
    return document


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_accepts_and_rejects_exactly_what_the_schema_does(document: Any) -> None:
    assert csc_file.conforms(document) == _schema_accepts(document), document


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(csc_file.PATTERNS)), st.data())
def test_strings_generated_from_each_pattern_are_judged_alike(name: str, data: Any) -> None:
    value = data.draw(st.from_regex(csc_file.PATTERNS[name]))
    document = copy.deepcopy(RESPONSE)
    config = document["CodeSigningConfig"]
    field = {
        "allowedPublisherArn": None,
        "cscId": "CodeSigningConfigId",
        "cscArn": "CodeSigningConfigArn",
        "instant": "LastModified",
    }[name]
    if field is None:
        config["AllowedPublishers"]["SigningProfileVersionArns"] = [value]
    else:
        config[field] = value
    assert csc_file.conforms(document) == _schema_accepts(document), document


def test_the_valid_shapes_pass_and_the_edges_are_judged_alike() -> None:
    assert csc_file.conforms(REQUEST) and _schema_accepts(REQUEST)
    assert csc_file.conforms(RESPONSE) and _schema_accepts(RESPONSE)
    minimal = {"AllowedPublishers": {"SigningProfileVersionArns": [ARN]}}
    # A response allows other properties, a request none: this is a response, never both.
    both = {**minimal, "CodeSigningConfig": RESPONSE["CodeSigningConfig"]}
    no_policy = copy.deepcopy(RESPONSE)
    del no_policy["CodeSigningConfig"]["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
    long = {**minimal, "Description": "x" * 257}
    at_bound = {**minimal, "Description": "é" * 256}
    twenty_one = {"AllowedPublishers": {"SigningProfileVersionArns": [ARN] * 21}}
    newline = {"AllowedPublishers": {"SigningProfileVersionArns": [ARN + "\n"]}}
    for document, accepted in (
        (minimal, True),
        (both, True),
        (no_policy, False),
        (long, False),
        (at_bound, True),
        (twenty_one, False),
        (newline, True),  # Python's `$` matches before a final newline, in both
    ):
        assert _schema_accepts(document) is accepted, document
        assert csc_file.conforms(document) is accepted, document


def test_the_predicates_rules_are_the_schemas_own() -> None:
    """The patterns, enum and bounds are those of the schema files, so the two cannot drift
    apart unnoticed."""
    directory = schemas.schema_dir()

    def load(name: str) -> dict[str, Any]:
        return dict(json.loads((directory / f"{name}.schema.json").read_text()))

    common = load("common")["$defs"]
    for name, pattern in csc_file.PATTERNS.items():
        spec = {k: v for k, v in common[name].items() if k != "description"}
        assert spec == {"type": "string", "pattern": pattern}, name
    assert tuple(common["policy"]["enum"]) == csc_file.POLICIES
    request = load("create-code-signing-config-request")
    response = load("code-signing-config")
    assert set(request["properties"]) == csc_file.REQUEST_FIELDS
    assert request["required"] == ["AllowedPublishers"]
    assert request["additionalProperties"] is False
    assert tuple(response["$defs"]["config"]["required"]) == csc_file.CONFIG_REQUIRED
    arns = response["$defs"]["allowedPublishers"]["properties"]["SigningProfileVersionArns"]
    assert (arns["minItems"], arns["maxItems"]) == csc_file.ARNS_ITEMS
    descriptions = (request["properties"]["Description"],)
    descriptions += (response["$defs"]["config"]["properties"]["Description"],)
    assert all(d == {"type": "string", "maxLength": csc_file.DESCRIPTION_MAX} for d in descriptions)
    assert load("csc-file")["oneOf"] == [
        {"$ref": "create-code-signing-config-request.schema.json"},
        {"$ref": "code-signing-config.schema.json"},
    ]


def test_a_rejected_document_is_still_said_by_jsonschema() -> None:
    """What the user sees for a bad document is unchanged: jsonschema's message."""
    bad = {"AllowedPublishers": {"SigningProfileVersionArns": ["arn:nope"]}}
    with pytest.raises(ValidationError, match="code signing config document"):
        csc_policy(bad)
    assert csc_policy(REQUEST).policy == "Enforce"
    assert csc_policy(RESPONSE).arn == RESPONSE["CodeSigningConfig"]["CodeSigningConfigArn"]
