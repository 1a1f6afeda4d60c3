"""Lambda's code signing config operations, served from the local backend; the
function <-> config links are kept on moto's own function objects (they live as long as
moto's functions do)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provider.arns import check_csc_arn
from provider.backends.local import LocalBackend
from provider.endpoint.state import Caller, EndpointState, now
from provider.errors import ConflictError, NotFoundError, ValidationError

Document = dict[str, Any]


class CscNotFound(NotFoundError):
    """Lambda's name for a code signing config that does not exist."""

    code = "CodeSigningConfigNotFoundException"


def moto_lambda(account: str, region: str) -> Any:
    """moto's Lambda backend of an account and region."""
    from moto.awslambda.models import lambda_backends

    return lambda_backends[account][region]


def moto_function(account: str, region: str, name: str) -> Any:
    """moto's function object (latest version), or ResourceNotFoundException."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        return moto_lambda(account, region).get_function(name)
    except UnknownFunctionException:
        raise NotFoundError(f"Function not found: {name}") from None


def csc_backend(
    state: EndpointState, arn: str, field: str = "CodeSigningConfigArn"
) -> LocalBackend:
    """The keystore holding the code signing config ``arn`` (its account and region)."""
    parts = check_csc_arn(arn, field).split(":")
    return state.backend(parts[4], parts[3])


def csc_policy(state: EndpointState, arn: str) -> Any:
    """The verdict inputs of a served code signing config."""
    backend = csc_backend(state, arn)
    try:
        return backend.csc_policy_of(arn)
    except NotFoundError as exc:
        raise CscNotFound(exc.message) from None


def functions_using(account: str, region: str, arn: str) -> list[Any]:
    """moto's functions (latest versions) attached to a code signing config."""
    return [
        fn
        for fn in moto_lambda(account, region).list_functions()
        if getattr(fn, "code_signing_config_arn", None) == arn
    ]


class LambdaCscApi:
    """The code signing config operations of Lambda, by API name."""

    OPERATIONS = frozenset(
        {
            "CreateCodeSigningConfig",
            "GetCodeSigningConfig",
            "UpdateCodeSigningConfig",
            "DeleteCodeSigningConfig",
            "ListCodeSigningConfigs",
            "ListFunctionsByCodeSigningConfig",
            "PutFunctionCodeSigningConfig",
            "GetFunctionCodeSigningConfig",
            "DeleteFunctionCodeSigningConfig",
        }
    )

    def __init__(self, state: EndpointState) -> None:
        self.state = state
        self.operations: dict[str, Callable[[Caller, Document], Document]] = {
            name: getattr(
                self, "_" + "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
            )
            for name in self.OPERATIONS
        }

    def _own(self, caller: Caller, arn: str) -> LocalBackend:
        backend = csc_backend(self.state, arn)
        if backend.location.account != caller.account or backend.location.region != caller.region:
            raise CscNotFound(f"code signing config {arn} does not exist")
        try:
            backend.get_code_signing_config(arn)
        except NotFoundError as exc:
            raise CscNotFound(exc.message) from None
        return backend

    @staticmethod
    def _policies(p: Document) -> str | None:
        policies = p.get("CodeSigningPolicies")
        return None if policies is None else policies.get("UntrustedArtifactOnDeployment")

    def _create_code_signing_config(self, caller: Caller, p: Document) -> Document:
        backend = self.state.backend(caller.account, caller.region)
        document = backend.create_code_signing_config(
            p["AllowedPublishers"]["SigningProfileVersionArns"],
            policy=self._policies(p),
            description=p.get("Description"),
            now=now(),
        )
        if p.get("Tags"):
            self.state.set_tags(document["CodeSigningConfig"]["CodeSigningConfigArn"], p["Tags"])
        return document

    def _get_code_signing_config(self, caller: Caller, p: Document) -> Document:
        arn = p["CodeSigningConfigArn"]
        return self._own(caller, arn).get_code_signing_config(arn)

    def _update_code_signing_config(self, caller: Caller, p: Document) -> Document:
        arn = p["CodeSigningConfigArn"]
        allowed = p.get("AllowedPublishers")
        return self._own(caller, arn).update_code_signing_config(
            arn,
            allowed=None if allowed is None else allowed["SigningProfileVersionArns"],
            policy=self._policies(p),
            description=p.get("Description"),
            now=now(),
        )

    def _delete_code_signing_config(self, caller: Caller, p: Document) -> Document:
        arn = p["CodeSigningConfigArn"]
        backend = self._own(caller, arn)
        users = sorted(
            fn.function_name for fn in functions_using(caller.account, caller.region, arn)
        )
        if users:
            raise ConflictError(
                f"code signing config {arn} is used by function(s) {', '.join(users)}; detach "
                "it (delete-function-code-signing-config) or delete them first",
                code="ResourceConflictException",
            )
        backend.delete_code_signing_config(arn)
        return {}

    def _list_code_signing_configs(self, caller: Caller, p: Document) -> Document:
        configs = self.state.backend(caller.account, caller.region).list_code_signing_configs()[
            "CodeSigningConfigs"
        ]
        return _paged(configs, p, "CodeSigningConfigs")

    def _list_functions_by_code_signing_config(self, caller: Caller, p: Document) -> Document:
        arn = p["CodeSigningConfigArn"]
        self._own(caller, arn)
        arns = sorted(fn.function_arn for fn in functions_using(caller.account, caller.region, arn))
        return _paged(arns, p, "FunctionArns")

    def _put_function_code_signing_config(self, caller: Caller, p: Document) -> Document:
        arn = p["CodeSigningConfigArn"]
        self._own(caller, arn)
        fn = moto_function(caller.account, caller.region, p["FunctionName"])
        fn.code_signing_config_arn = arn
        return {"CodeSigningConfigArn": arn, "FunctionName": fn.function_name}

    def _get_function_code_signing_config(self, caller: Caller, p: Document) -> Document:
        fn = moto_function(caller.account, caller.region, p["FunctionName"])
        return {
            "CodeSigningConfigArn": fn.code_signing_config_arn or "",
            "FunctionName": fn.function_name,
        }

    def _delete_function_code_signing_config(self, caller: Caller, p: Document) -> Document:
        fn = moto_function(caller.account, caller.region, p["FunctionName"])
        fn.code_signing_config_arn = None
        return {}


def _paged(items: list[Any], p: Document, key: str) -> Document:
    marker = p.get("Marker") or "0"
    if not marker.isdigit():
        raise ValidationError(f"Marker: {marker!r} is not a marker this service issued")
    start, size = int(marker), p.get("MaxItems") or 50
    document: Document = {key: items[start : start + size]}
    if start + size < len(items):
        document["NextMarker"] = str(start + size)
    return document
