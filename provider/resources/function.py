"""``LambdaFunction``: a function whose deployments are verified as Lambda verifies them,
and whose next verdict ``pulumi preview`` predicts."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from provider.inspect_package import facts_from_file
from provider.resources._base import (
    CodesignProvider,
    auto_name,
    check_inputs,
    checked,
    is_unknown,
    local_backend_of,
    local_only,
    now_of,
    reported,
    settings_input,
)
from provider.resources.code_signing_config import CodeSigningConfig
from provider.verdict import ArtifactFacts, Check, CscPolicy, Decision, Verdict, decide

_NAME_ALPHABET = string.ascii_letters + string.digits + "-_"
#: What to use instead on AWS, where Lambda itself verifies code at every deployment.
_ON_AWS = (
    "on AWS, Lambda itself verifies code at every deployment; deploy the SignedPackage's "
    "S3 object with pulumi_aws.lambda_.Function(s3_bucket=package.bucket, "
    "s3_key=package.key, s3_object_version=package.object_version, "
    "code_signing_config_arn=config.arn, ...)"
)


@dataclass
class LambdaFunctionArgs:
    """Inputs of :class:`LambdaFunction`."""

    #: The .zip to deploy: a path, typically ``SignedPackage.location``.
    code: pulumi.Input[str]
    #: A :class:`CodeSigningConfig` (its policy is then known to previews before it is
    #: applied) or a code signing config ARN.
    code_signing_config: CodeSigningConfig | pulumi.Input[str] | None = None
    #: 1-64 of ``[A-Za-z0-9-_]``; default: the resource name plus a random suffix.
    function_name: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _file_sha384(path: str) -> str:
    return hashlib.sha384(Path(path).read_bytes()).hexdigest()


def _prediction(verdict: Verdict) -> dict[str, Any]:
    """The stable part of a verdict (no evaluation instant), shown in preview diffs."""
    document = verdict.to_document()
    return {
        "decision": document["decision"],
        "policy": document["policy"],
        "exception": document.get("exception"),
        "failed_checks": [f"{f['check']}: {f['message']}" for f in document["failedChecks"]],
        "remedies": sorted({f["remedy"] for f in document["failedChecks"]}),
        "unknown_until_deploy": document.get("unknownChecks", []),
    }


class LambdaFunctionProvider(CodesignProvider):
    """Lifecycle: create/update code are verified by the backend as Lambda does; ``check``
    predicts the next deployment's verdict and fails the preview on a predicted rejection."""

    def _csc(self, inputs: dict[str, Any]) -> CscPolicy | CheckFailure | None:
        arn = inputs.get("code_signing_config_arn")
        policy = inputs.get("code_signing_policy")
        allowed = inputs.get("allowed_publishers")
        if arn is None and policy is None:
            return None
        if policy is not None and allowed is not None:
            if is_unknown(policy) or is_unknown(allowed):
                raise _Unknown("the code signing config's policy or publishers")
            return CscPolicy(tuple(allowed), policy, None if is_unknown(arn) else arn)
        if is_unknown(arn):
            raise _Unknown("the code signing config")
        return checked(
            lambda: local_backend_of(inputs).csc_policy_of(str(arn)), "code_signing_config_arn"
        )

    def _predict(self, inputs: dict[str, Any]) -> tuple[dict[str, Any] | None, list[CheckFailure]]:
        name = inputs.get("function_name")
        try:
            csc = self._csc(inputs)
        except _Unknown as unknown:
            return {"decision": "UNKNOWN", "unknown_until_deploy": [str(unknown)]}, []
        if csc is None:
            return None, []
        if isinstance(csc, CheckFailure):
            return None, [csc]
        code = inputs.get("code")
        now = now_of(inputs)
        if is_unknown(code):
            facts = ArtifactFacts(name=f"function {name}", unknown=frozenset(Check))
        else:
            facts = facts_from_file(
                Path(str(code)), local_backend_of(inputs), name=f"function {name}"
            )
        verdict = decide(facts, csc, now)
        prediction = _prediction(verdict)
        if verdict.decision is not Decision.REJECT:
            return prediction, []
        remedy = " ".join(prediction["remedies"])
        reason = (
            f"function {name}: the next deploy would be rejected by "
            f"{('code signing config ' + csc.arn) if csc.arn else 'its code signing config'} "
            f"({csc.policy}) with {verdict.exception}: "
            + "; ".join(prediction["failed_checks"])
            + f". Remedy: {remedy}"
        )
        return prediction, [CheckFailure("code", reason)]

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, hash the code and predict the verdict of the next deploy."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-function", "LambdaFunction") + local_only(
            inputs, "LambdaFunction", _ON_AWS
        )
        if failures:
            return CheckResult(inputs, failures)
        if inputs.get("function_name") is None:
            inputs["function_name"] = olds.get("function_name") or auto_name(
                inputs["logical_name"], "-", _NAME_ALPHABET, 64
            )
        code = inputs.get("code")
        if not is_unknown(code):
            code = str(code)
            if not Path(code).is_file():
                return CheckResult(
                    inputs,
                    [CheckFailure("code", f"LambdaFunction input code: {code!r} is not a file")],
                )
            inputs["code_sha384"] = _file_sha384(code)
        inputs["predicted_verdict"], failures = self._predict(inputs)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on a new name; update for new code, a new CSC, or a new prediction."""
        replaces = (
            ["function_name"] if olds.get("function_name") != news.get("function_name") else []
        )
        keys = ("code_sha384", "code_signing_config_arn", "predicted_verdict")
        changes = bool(replaces) or any(olds.get(k) != news.get(k) for k in keys)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """CreateFunction, verified under the CSC (a rejection creates nothing)."""
        with reported():
            backend = local_backend_of(props)
            function = backend.create_function(
                props["function_name"],
                Path(props["code"]),
                csc_arn=props.get("code_signing_config_arn"),
                now=now_of(props),
            )
        return CreateResult(function["FunctionName"], {**props, **_outputs(function)})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Attach a new CSC first (it governs this deploy), then UpdateFunctionCode."""
        with reported():
            backend = local_backend_of(news)
            now = now_of(news)
            csc_arn = news.get("code_signing_config_arn")
            if csc_arn != olds.get("code_signing_config_arn"):
                if csc_arn:
                    backend.put_function_code_signing_config(id_, csc_arn)
                else:
                    backend.delete_function_code_signing_config(id_)
            if news.get("code_sha384") != olds.get("code_sha384") or csc_arn != olds.get(
                "code_signing_config_arn"
            ):
                function = backend.update_function_code(id_, Path(news["code"]), now=now)
            else:
                function = backend.get_function(id_)
        return UpdateResult({**news, **_outputs(function)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetFunction."""
        with reported():
            function = local_backend_of(props).get_function(id_)
        return ReadResult(id_, {**props, **_outputs(function)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteFunction."""
        with reported():
            local_backend_of(props).delete_function(id_)


class _Unknown(Exception):
    """An input the prediction needs is unknown until deploy."""


def _outputs(function: dict[str, Any]) -> dict[str, Any]:
    return {
        "function_arn": function["FunctionArn"],
        "deployed_code_sha384": function["CodeSha384"],
        "verdict": function.get("LastVerdict"),
        "warnings": function.get("Warnings", []),
    }


def _report_prediction(resource: pulumi.Resource, name: str, prediction: Any) -> None:
    """During a preview, say on the resource what its next deploy will meet."""
    if not pulumi.runtime.is_dry_run() or not prediction:
        return
    decision = prediction.get("decision")
    unknown = ", ".join(prediction.get("unknown_until_deploy") or [])
    if decision == "WARN":
        pulumi.log.warn(
            f"code signing: the next deploy of {name} would deploy with a warning under "
            f"the Warn policy: {'; '.join(prediction['failed_checks'])}",
            resource,
        )
    elif decision == "UNKNOWN":
        pulumi.log.info(
            f"code signing: the verdict for {name} is unknown until deploy ({unknown})",
            resource,
        )
    elif decision == "ALLOW":
        suffix = f"; unknown until deploy: {unknown}" if unknown else ""
        pulumi.log.info(f"code signing: the next deploy of {name} is allowed{suffix}", resource)


def _report_warnings(resource: pulumi.Resource, warnings: Any) -> None:
    """After a deploy, show the Warn-policy findings as warnings on the resource."""
    if pulumi.runtime.is_dry_run():
        return
    for warning in warnings or []:
        pulumi.log.warn(f"code signing: deployed with a warning: {warning}", resource)


class LambdaFunction(Resource, module="codesign", name="LambdaFunction"):
    """A Lambda function whose code is verified against its code signing config on every
    create and code update, exactly as Lambda verifies it, in the local backend's function
    registry. On ``codesign:backend aws`` it fails ``check`` saying to deploy the
    :class:`~provider.resources.signed_package.SignedPackage` object with
    ``pulumi_aws.lambda_.Function``, since AWS Lambda itself verifies code there.

    Outputs: ``function_name``, ``function_arn``, ``predicted_verdict`` (what the next
    deploy meets, computed during preview), ``verdict`` (what the last deploy met) and
    ``warnings`` (Warn-policy findings of the last deploy).
    """

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    code_sha384: pulumi.Output[str]
    predicted_verdict: pulumi.Output[dict[str, Any] | None]
    verdict: pulumi.Output[dict[str, Any] | None]
    warnings: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        csc = args.code_signing_config
        if isinstance(csc, CodeSigningConfig):
            csc_inputs: dict[str, Any] = {
                "code_signing_config_arn": csc.arn,
                "code_signing_policy": csc.policy,
                "allowed_publishers": csc.allowed_publishers,
            }
        else:
            csc_inputs = {
                "code_signing_config_arn": csc,
                "code_signing_policy": None,
                "allowed_publishers": None,
            }
        props = {
            "logical_name": name,
            "function_name": args.function_name,
            "code": pulumi.Output.from_input(args.code).apply(lambda p: str(Path(p).resolve())),
            **csc_inputs,
            "settings": settings_input(args.backend, args.home, args.region),
            **{
                key: None
                for key in (
                    "code_sha384",
                    "predicted_verdict",
                    "function_arn",
                    "deployed_code_sha384",
                    "verdict",
                    "warnings",
                )
            },
        }
        super().__init__(LambdaFunctionProvider(), name, props, opts)
        # Separate applies: in a preview, outputs a deploy computes (warnings) are unknown,
        # and an apply over an unknown never runs.
        pulumi.Output.all(self.function_name, self.predicted_verdict).apply(
            lambda values: _report_prediction(self, *values)
        )
        self.warnings.apply(lambda warnings: _report_warnings(self, warnings))
