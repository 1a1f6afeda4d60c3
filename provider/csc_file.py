"""``schemas/csc-file.schema.json`` (a CreateCodeSigningConfig request or a
GetCodeSigningConfig response, as ``sam-ext verify --csc-file`` takes) as a plain predicate.

jsonschema's import is most of a ``verify --csc-file``'s start-up, so a document this module
accepts is not validated again; one it rejects goes to jsonschema (``schemas.validate``),
which says what is wrong. tests/provider/test_csc_file_validator.py proves, with
hypothesis, that this module accepts and rejects exactly what the schema does, and that the
patterns below are the schema's own.
"""

from __future__ import annotations

import re
from typing import Any

from provider import verdict

#: The common definitions' patterns (schemas/common.schema.json), verbatim; matched with
#: ``re.search``, as jsonschema matches ``pattern``.
PATTERNS = {
    # Lambda's own (botocore's lambda shape ``Arn``): an allowed publisher that is no
    # profile version ARN (CDK's imported profiles, ':/' doubled) matches no signature.
    "allowedPublisherArn": (
        r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
        r"-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
    ),
    "cscId": r"^csc-[a-zA-Z0-9-_\.]{17}$",
    "cscArn": (
        r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:"
        r"csc-[a-zA-Z0-9-_\.]{17}$"
    ),
    "instant": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$",
}
#: The ``policy`` enum.
POLICIES = verdict.POLICIES
#: ``SigningProfileVersionArns``' item bounds, and ``Description``'s length bound.
ARNS_ITEMS = (1, 20)
DESCRIPTION_MAX = 256
#: The request's properties (it allows no others) and the config's required ones.
REQUEST_FIELDS = frozenset(("Description", "AllowedPublishers", "CodeSigningPolicies", "Tags"))
CONFIG_REQUIRED = (
    "CodeSigningConfigId",
    "CodeSigningConfigArn",
    "AllowedPublishers",
    "CodeSigningPolicies",
    "LastModified",
)
_COMPILED = {name: re.compile(pattern) for name, pattern in PATTERNS.items()}


def _matches(value: Any, name: str) -> bool:
    return isinstance(value, str) and _COMPILED[name].search(value) is not None


def _description(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= DESCRIPTION_MAX


def _allowed_publishers(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != {"SigningProfileVersionArns"}:
        return False
    arns = value["SigningProfileVersionArns"]
    return (
        isinstance(arns, list)
        and ARNS_ITEMS[0] <= len(arns) <= ARNS_ITEMS[1]
        and all(_matches(arn, "allowedPublisherArn") for arn in arns)
    )


def _policies(value: Any, *, required: bool) -> bool:
    if not isinstance(value, dict) or not set(value) <= {"UntrustedArtifactOnDeployment"}:
        return False
    if "UntrustedArtifactOnDeployment" not in value:
        return not required
    policy = value["UntrustedArtifactOnDeployment"]
    return isinstance(policy, str) and policy in POLICIES


def _request(document: dict[str, Any]) -> bool:
    return (
        "AllowedPublishers" in document
        and set(document) <= REQUEST_FIELDS
        and _allowed_publishers(document["AllowedPublishers"])
        and ("Description" not in document or _description(document["Description"]))
        and (
            "CodeSigningPolicies" not in document
            or _policies(document["CodeSigningPolicies"], required=False)
        )
        and (
            "Tags" not in document
            or (
                isinstance(document["Tags"], dict)
                and all(isinstance(tag, str) for tag in document["Tags"].values())
            )
        )
    )


def _response(document: dict[str, Any]) -> bool:
    config = document.get("CodeSigningConfig")
    if not isinstance(config, dict) or any(field not in config for field in CONFIG_REQUIRED):
        return False
    return (
        _matches(config["CodeSigningConfigId"], "cscId")
        and _matches(config["CodeSigningConfigArn"], "cscArn")
        and ("Description" not in config or _description(config["Description"]))
        and _allowed_publishers(config["AllowedPublishers"])
        and _policies(config["CodeSigningPolicies"], required=True)
        and _matches(config["LastModified"], "instant")
    )


def conforms(document: Any) -> bool:
    """Whether ``document`` conforms to schemas/csc-file.schema.json. The schema's
    ``oneOf`` is an ``or`` here: a request allows no ``CodeSigningConfig`` property and a
    response requires one, so no document is both."""
    return isinstance(document, dict) and (_request(document) or _response(document))
