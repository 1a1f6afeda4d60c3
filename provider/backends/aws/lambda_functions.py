"""Lambda functions and layer versions on AWS, through boto3, as Lambda requires them.

- Waits: after CreateFunction the function is ``Pending`` until ``Active``
  (``function_active_v2``); after an update ``LastUpdateStatus`` is ``InProgress`` until
  ``Successful`` (``function_updated_v2``). Every operation returns only once its change
  is done, so the next call never meets an update in progress of its own making.
- An update refused with ``ResourceConflictException`` (an update in progress, made out of
  band) is retried after waiting for it, at most :attr:`AwsFunctions.conflict_attempts`
  times, then reported.
- Lambda's code signing refusals (``InvalidCodeSignatureException``,
  ``CodeVerificationFailedException``) become one :class:`DeploymentRejected` line naming
  the function, the failed check and the remedy, explained by the verdict this backend
  predicts for the same code when it can. A refused CreateFunction creates nothing, and a
  function that never becomes ``Active`` is deleted again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError, WaiterError

from provider.arns import check_csc_arn
from provider.backends.aws import documents
from provider.backends.aws.errors import (
    REJECTED,
    FunctionStateError,
    aws_call,
    error_code,
    one_line,
    restated,
    translate,
)
from provider.backends.aws.lambda_ import AwsLambda
from provider.backends.aws.s3 import S3Object, as_object
from provider.backends.aws.signer import AwsSigner
from provider.backends.base import Document
from provider.backends.function_settings import (
    PACKAGE_ZIP,
    Code,
    FunctionSettings,
    LayerSettings,
    check_configuration_update,
    check_function_name,
    check_layer_name,
    check_layers,
    check_role,
    drift,
    parse_layer_version_arn,
    refresh_drift,
)
from provider.deployed import deployed_artifacts, facts_of_deployed
from provider.errors import CodesignError, ConflictError, DeploymentRejected
from provider.verdict import (
    INTEGRITY_EXCEPTION,
    VERIFICATION_EXCEPTION,
    Decision,
    Verdict,
    decide,
)

T = TypeVar("T")

#: The check Lambda's refusal stands for, and what to do, when no prediction says more.
_REFUSALS = {
    INTEGRITY_EXCEPTION: (
        "integrity",
        "Deploy the signed object exactly as its signing job wrote it; if the source "
        "changed, sign it again.",
    ),
    VERIFICATION_EXCEPTION: (
        "signature (mismatch, expiry or revocation)",
        "Sign the code and every layer with a profile version the code signing config "
        "allows, with a signature neither expired nor revoked (or set the config's policy "
        "to Warn).",
    ),
}


def _resource(name: str) -> str:
    return f"function {name!r}"


def _layer_document(response: Mapping[str, Any]) -> Document:
    """A layer version response with ``CreatedDate`` as an instant."""
    result = documents.document(response)
    if isinstance(result.get("CreatedDate"), str):
        result["CreatedDate"] = documents.lambda_instant(result["CreatedDate"], field="CreatedDate")
    return result


class AwsFunctions(AwsLambda):
    """CreateFunction ... DeleteLayerVersion against AWS Lambda: with :class:`AwsLambda`'s
    code signing configs and verdicts, the aws backend's Lambda part
    (a :class:`~provider.backends.base.LambdaPart`)."""

    #: Seconds between GetFunction polls while waiting, and how many polls at most
    #: (the waiters' own defaults: 1 s, 300 times).
    function_delay: float = 1
    function_max_attempts: int = 300
    #: How many times an update refused for an update in progress is tried in all.
    conflict_attempts: int = 5

    # --- calls, waits and refusals ------------------------------------------------------
    def _call(self, action: str, resource: str, call: Callable[[], T]) -> T:
        """One Lambda call; a code signing refusal is raised with Lambda's own words."""
        with aws_call(action, resource):
            try:
                return call()
            except ClientError as error:
                code = error_code(error)
                if code not in REJECTED:
                    raise
                said = one_line(error.response.get("Error", {}).get("Message") or code)
                raise DeploymentRejected(said, code=code) from None

    def _retrying(self, action: str, name: str, call: Callable[[], T], resource: str = "") -> T:
        """:meth:`_call`, again after the update in progress ends, while Lambda answers
        ``ResourceConflictException``; at most :attr:`conflict_attempts` tries."""
        for attempt in range(1, self.conflict_attempts + 1):
            try:
                return self._call(action, resource or _resource(name), call)
            except ConflictError as error:
                if attempt >= self.conflict_attempts:
                    raise restated(
                        error,
                        f"{error.message}; refused {attempt} times, each after waiting for "
                        f"the update in progress: wait until function {name!r}'s "
                        "LastUpdateStatus is Successful, then retry",
                    ) from None
                self._wait_ready(name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, name: str, waiter_name: str, goal: str) -> None:
        waiter = self.clients.lambda_.get_waiter(waiter_name)  # type: ignore[call-overload]
        config = {"Delay": self.function_delay, "MaxAttempts": self.function_max_attempts}
        with aws_call("lambda:GetFunction", _resource(name)):
            try:
                waiter.wait(FunctionName=name, WaiterConfig=config)
            except WaiterError as error:
                raise self._state_error(name, goal, error) from None

    def _wait_ready(self, name: str) -> None:
        """Until the function is ``Active`` and its last update ``Successful``."""
        self._wait(name, "function_active_v2", "did not become Active")
        self._wait(name, "function_updated_v2", "was not updated")

    def _state_error(self, name: str, goal: str, error: WaiterError) -> CodesignError:
        last: dict[str, Any] = dict(error.last_response or {})
        if "Error" in last:  # GetFunction itself failed (the function was deleted, ...)
            failed = ClientError(last, "GetFunction")  # type: ignore[arg-type]
            return translate(failed, "lambda:GetFunction", _resource(name))
        config = last.get("Configuration") or {}
        state = config.get("State", "unknown")
        update = config.get("LastUpdateStatus", "unknown")
        reason = config.get("LastUpdateStatusReason") or config.get("StateReason")
        code = config.get("LastUpdateStatusReasonCode") or config.get("StateReasonCode")
        why = f" ({code}: {one_line(reason)})" if reason else (f" ({code})" if code else "")
        stalled = "Max attempts exceeded" in str(error)
        return FunctionStateError(
            f"function {name!r} {goal}"
            + (f" within {self.function_max_attempts} checks" if stalled else "")
            + f": State {state}, LastUpdateStatus {update}{why}; see "
            f"'aws lambda get-function --function-name {name}'",
            code=code or None,
        )

    def _explained(
        self,
        rejection: DeploymentRejected,
        operation: str,
        name: str,
        code: S3Object | None,
        csc_arn: str | None,
        at: datetime,
    ) -> DeploymentRejected:
        """Lambda's refusal as one line: the function, the failed check(s), the remedy."""
        verdict: Verdict | None = None
        if code is not None and csc_arn:
            try:
                verdict = self.evaluate_package(
                    code, self.csc_policy_of(csc_arn), at=at, name=f"function {name}"
                )
            except CodesignError:
                verdict = None
        check, remedy = _REFUSALS.get(rejection.code or "", _REFUSALS[VERIFICATION_EXCEPTION])
        check += " check"
        predicted = ""
        if verdict is not None and verdict.failed and verdict.decision is not Decision.ALLOW:
            names = [f.check.value for f in verdict.failed]
            check = " and ".join(names) + (" checks" if len(names) > 1 else " check")
            remedy = " ".join(dict.fromkeys(f.remedy for f in verdict.failed))
            predicted = f"; predicted: {verdict.message}"
        under = f" under code signing config {csc_arn}" if csc_arn else ""
        return DeploymentRejected(
            f"function {name!r}: Lambda rejected {operation}{under} with {rejection.code}, "
            f"failing the {check} ({rejection.message}){predicted}. Remedy: {remedy}",
            code=rejection.code or VERIFICATION_EXCEPTION,
            verdict=verdict,
        )

    # --- functions ----------------------------------------------------------------------
    def check_deployable(
        self,
        code: Code | None,
        settings: FunctionSettings | None = None,
        *,
        pending: frozenset[str] = frozenset(),
        field: str = "code",
    ) -> Code | None:
        """An S3 object (a local path is refused with the way forward) and, for a
        function, an execution role (Lambda runs it as that role)."""
        if settings is not None and "role" not in pending:
            check_role(settings.role)
        return None if code is None else as_object(code, field)

    def deployed_code(self, function: Document, code: Code | None) -> Code | None:
        """``code``: GetFunction's ``Code.Location`` is a presigned copy, not the signed
        object, so what was deployed is known from the deploy (refresh checks its
        ``CodeSha256``)."""
        return None if code is None else as_object(code, "code")

    def create_function(
        self,
        name: str,
        code: Code,
        *,
        csc_arn: str | None = None,
        layers: Sequence[str] = (),
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """CreateFunction from a signed S3 object with the code signing config attached in
        the same call, then wait until it is ``Active``. Lambda checks the code and layers;
        a refusal creates nothing, and a function that fails to become ``Active`` is
        deleted again."""
        check_function_name(name)
        chosen = (settings or FunctionSettings()).with_defaults()
        check_role(chosen.role)
        obj = as_object(code, "code")
        params: dict[str, Any] = {
            "FunctionName": name,
            "Code": obj.lambda_code(),
            "PackageType": PACKAGE_ZIP,
            "Publish": chosen.publish,
            "Architectures": list(chosen.architectures or ()),
            **chosen.lambda_params(),
        }
        if chosen.tags:
            params["Tags"] = dict(chosen.tags)
        if csc_arn:
            params["CodeSigningConfigArn"] = check_csc_arn(csc_arn)
        if layers:
            params["Layers"] = check_layers(layers)
        try:
            response = self._call(
                "lambda:CreateFunction",
                f"function {name!r} (code {obj.uri})",
                lambda: self.clients.lambda_.create_function(**params),
            )
        except DeploymentRejected as rejection:
            raise self._explained(rejection, "CreateFunction", name, obj, csc_arn, now) from None
        try:
            self._wait(name, "function_active_v2", "did not become Active")
        except CodesignError as error:
            raise self._undo_create(name, error) from None
        return self._published(name, response)

    def _undo_create(self, name: str, error: CodesignError) -> CodesignError:
        """Delete a function whose creation did not complete; say what is left, if anything."""
        try:
            self._call(
                "lambda:DeleteFunction",
                _resource(name),
                lambda: self.clients.lambda_.delete_function(FunctionName=name),
            )
        except CodesignError as undo:
            return restated(
                error,
                f"{error.message}; deleting it failed too ({undo.message}): delete it with "
                f"'aws lambda delete-function --function-name {name}'",
            )
        return restated(error, f"{error.message}; it was deleted, nothing is left behind")

    def update_function_code(
        self,
        name: str,
        code: Code,
        *,
        now: datetime,
        publish: bool = False,
        architectures: Sequence[str] | None = None,
    ) -> Document:
        """UpdateFunctionCode from a signed S3 object, checked by Lambda under the
        function's code signing config (a refusal changes nothing); waits for the update."""
        check_function_name(name)
        obj = as_object(code, "code")
        params: dict[str, Any] = {"FunctionName": name, "Publish": publish, **obj.lambda_code()}
        if architectures is not None:
            params["Architectures"] = list(
                FunctionSettings(architectures=architectures).architectures or ()
            )
        try:
            response = self._retrying(
                "lambda:UpdateFunctionCode",
                name,
                lambda: self.clients.lambda_.update_function_code(**params),
                f"function {name!r} (code {obj.uri})",
            )
        except DeploymentRejected as rejection:
            attached = self._attached_csc(name)
            raise self._explained(
                rejection, "UpdateFunctionCode", name, obj, attached, now
            ) from None
        self._wait(name, "function_updated_v2", "was not updated")
        return self._published(name, response)

    def _published(self, name: str, response: Mapping[str, Any]) -> Document:
        """GetFunction, as the version this deployment published, if it published one."""
        document = self.get_function(name)
        version = response.get("Version")
        if version and version != "$LATEST":
            document["Version"] = version
        return document

    def update_function_configuration(
        self,
        name: str,
        *,
        layers: Sequence[str] | None = None,
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """UpdateFunctionConfiguration with the given settings and layers (Lambda checks
        every layer under the code signing config); ``tags`` replace the function's tags."""
        check_function_name(name)
        given = settings or FunctionSettings()
        check_configuration_update(given)
        params: dict[str, Any] = {"FunctionName": name, **given.lambda_params()}
        if layers is not None:
            params["Layers"] = check_layers(layers)
        if len(params) > 1:
            try:
                self._retrying(
                    "lambda:UpdateFunctionConfiguration",
                    name,
                    lambda: self.clients.lambda_.update_function_configuration(**params),
                )
            except DeploymentRejected as rejection:
                attached = self._attached_csc(name)
                raise self._explained(
                    rejection, "UpdateFunctionConfiguration", name, None, attached, now
                ) from None
            self._wait(name, "function_updated_v2", "was not updated")
        if given.tags is not None:
            self._replace_tags(name, given.tags)
        return self.get_function(name)

    def _replace_tags(self, name: str, tags: Mapping[str, str]) -> None:
        """TagResource/UntagResource until the function has exactly ``tags``."""
        with aws_call("lambda:GetFunction", _resource(name)):
            response = self.clients.lambda_.get_function(FunctionName=name)
        arn = response["Configuration"]["FunctionArn"]
        current = dict(response.get("Tags") or {})
        removed = sorted(set(current) - set(tags))
        changed = {k: v for k, v in tags.items() if current.get(k) != v}
        if removed:
            with aws_call("lambda:UntagResource", _resource(name)):
                self.clients.lambda_.untag_resource(Resource=arn, TagKeys=removed)
        if changed:
            with aws_call("lambda:TagResource", _resource(name)):
                self.clients.lambda_.tag_resource(Resource=arn, Tags=changed)

    def get_function(self, name: str) -> Document:
        """GetFunction's configuration, with ``Tags``, and ``CodeSigningConfigArn`` when
        one is attached (GetFunctionCodeSigningConfig)."""
        check_function_name(name)
        with aws_call("lambda:GetFunction", _resource(name)):
            response = self.clients.lambda_.get_function(FunctionName=name)
        result = documents.function_configuration(response["Configuration"])
        result["Tags"] = dict(response.get("Tags") or {})
        attached = self.get_function_code_signing_config(name)["CodeSigningConfigArn"]
        if attached:
            result["CodeSigningConfigArn"] = attached
        return result

    def function_drift(
        self,
        name: str,
        *,
        csc_arn: str | None,
        code: Code | None,
        settings: FunctionSettings | None = None,
        at: datetime | None = None,
    ) -> list[str]:
        """What changed out of band since the deploy (see
        :func:`provider.backends.function_settings.drift`); with ``at``, also the standing of
        ``code`` under ``csc_arn`` then (a signature expired or revoked since)."""
        deployed = self.get_function(name)
        sha = self.objects.code_sha256(as_object(code, "code")) if code is not None else None
        reported = deployed_artifacts(deployed)[0]
        if at is not None and csc_arn and reported.signed:
            # Judged by the signer Lambda reports for the code it runs, not by ``code``.
            facts = facts_of_deployed(
                reported,
                AwsSigner(self.clients, self.objects),
                name=f"function {name}",
                signed_sha256=self.signed_sha256,
            )
            standing = decide(facts, self.csc_policy_of(csc_arn), at)
            return drift(
                deployed, csc_arn=csc_arn, code_sha256=sha, settings=settings, standing=standing
            )
        return refresh_drift(
            self,
            deployed,
            name,
            csc_arn=csc_arn,
            code=code,
            code_sha256=sha,
            settings=settings,
            at=at,
        )

    def delete_function(self, name: str) -> None:
        """DeleteFunction (after an update in progress, if one is)."""
        check_function_name(name)
        self._retrying(
            "lambda:DeleteFunction",
            name,
            lambda: self.clients.lambda_.delete_function(FunctionName=name),
        )

    # --- functions' code signing configs ------------------------------------------------
    def put_function_code_signing_config(self, name: str, csc_arn: str) -> Document:
        """PutFunctionCodeSigningConfig: governs the function's next deployments only."""
        check_function_name(name)
        check_csc_arn(csc_arn)
        response = self._retrying(
            "lambda:PutFunctionCodeSigningConfig",
            name,
            lambda: self.clients.lambda_.put_function_code_signing_config(
                FunctionName=name, CodeSigningConfigArn=csc_arn
            ),
        )
        return {
            "CodeSigningConfigArn": response["CodeSigningConfigArn"],
            "FunctionName": response["FunctionName"],
        }

    def get_function_code_signing_config(self, name: str) -> Document:
        """GetFunctionCodeSigningConfig (``CodeSigningConfigArn`` is ``""`` when none)."""
        check_function_name(name)
        with aws_call("lambda:GetFunctionCodeSigningConfig", _resource(name)):
            response = self.clients.lambda_.get_function_code_signing_config(FunctionName=name)
        return {
            "CodeSigningConfigArn": response.get("CodeSigningConfigArn") or "",
            "FunctionName": response.get("FunctionName", name),
        }

    def delete_function_code_signing_config(self, name: str) -> None:
        """DeleteFunctionCodeSigningConfig."""
        check_function_name(name)
        self._retrying(
            "lambda:DeleteFunctionCodeSigningConfig",
            name,
            lambda: self.clients.lambda_.delete_function_code_signing_config(FunctionName=name),
        )

    def _attached_csc(self, name: str) -> str | None:
        try:
            return self.get_function_code_signing_config(name)["CodeSigningConfigArn"] or None
        except CodesignError:
            return None

    def deploy_function_code(
        self, name: str, code: Code, *, csc_arn: str | None, now: datetime
    ) -> Document:
        """Attach (or detach) a code signing config, then update the code under it. When
        Lambda refuses the code, the previous config is put back, so a failed deploy leaves
        the function as it was; if that fails too, the error says what is left to undo."""
        previous = self._attached_csc(name)
        changed = (csc_arn or None) != previous
        if changed:
            if csc_arn:
                self.put_function_code_signing_config(name, csc_arn)
            else:
                self.delete_function_code_signing_config(name)
        try:
            return self.update_function_code(name, code, now=now)
        except CodesignError as error:
            if not changed:
                raise
            try:
                if previous:
                    self.put_function_code_signing_config(name, previous)
                else:
                    self.delete_function_code_signing_config(name)
            except CodesignError as undo:
                raise restated(
                    error,
                    f"{error.message}; restoring function {name!r}'s previous code signing "
                    f"config ({previous or 'none'}) failed too ({undo.message}): it now has "
                    f"{csc_arn or 'none'}; set it back with put-function-code-signing-config",
                ) from None
            raise

    # --- layers -------------------------------------------------------------------------
    def publish_layer_version(
        self,
        layer_name: str,
        content: Code,
        *,
        now: datetime,
        settings: LayerSettings | None = None,
    ) -> Document:
        """PublishLayerVersion from a signed S3 object. Layers have no code signing config:
        Lambda checks them on each function with one that uses them."""
        check_layer_name(layer_name)
        obj = as_object(content, "content")
        params: dict[str, Any] = {
            "LayerName": layer_name,
            "Content": obj.lambda_code(),
            **(settings or LayerSettings()).lambda_params(),
        }
        with aws_call("lambda:PublishLayerVersion", f"layer {layer_name!r} (code {obj.uri})"):
            response = self.clients.lambda_.publish_layer_version(**params)
        return _layer_document(response)

    def get_layer_version(self, layer_version_arn: str) -> Document:
        """GetLayerVersion, by name and number: the same answer as GetLayerVersionByArn
        (``Content.Location`` is a presigned URL), and served by moto too."""
        ref = parse_layer_version_arn(layer_version_arn, "layer_version_arn")
        with aws_call("lambda:GetLayerVersion", f"layer version {ref.arn}"):
            response = self.clients.lambda_.get_layer_version(
                LayerName=ref.layer_name, VersionNumber=ref.version
            )
        return _layer_document(response)

    def layer_version_code(self, layer_version_arn: str) -> Code | None:
        """``None``: Lambda does not say which S3 object a version was published from
        (the program's ``LayerVersion`` records it)."""
        parse_layer_version_arn(layer_version_arn, "layer_version_arn")
        return None

    def delete_layer_version(self, layer_version_arn: str) -> None:
        """DeleteLayerVersion: functions using it keep their copy; one already deleted is
        not an error (as on Lambda)."""
        ref = parse_layer_version_arn(layer_version_arn, "layer_version_arn")
        with aws_call("lambda:DeleteLayerVersion", f"layer version {ref.arn}"):
            self.clients.lambda_.delete_layer_version(
                LayerName=ref.layer_name, VersionNumber=ref.version
            )
