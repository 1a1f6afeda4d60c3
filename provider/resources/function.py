"""``LambdaFunction``: a function whose deployments are verified as Lambda verifies them,
and whose every finding ``pulumi preview`` reports before anything deploys."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from provider.backends.local import LocalBackend
from provider.errors import CodesignError
from provider.prediction import UNKNOWN, Code, ConfigView, Prediction, Publisher, combined
from provider.resources import judging
from provider.resources._base import (
    CodesignProvider,
    auto_name,
    check_inputs,
    is_unknown,
    local_backend_of,
    local_only,
    name_seed,
    now_of,
    reported,
    settings_input,
)
from provider.resources.code_signing_config import CodeSigningConfig
from provider.resources.report import watch
from provider.resources.signed_package import SignedPackage, package_ref

if TYPE_CHECKING:
    from provider.resources.layer import LayerVersion

_NAME_ALPHABET = string.ascii_letters + string.digits + "-_"
#: What to use instead on AWS, where Lambda itself verifies code at every deployment.
_ON_AWS = (
    "on AWS, Lambda itself verifies code at every deployment; deploy the SignedPackage's "
    "S3 object with pulumi_aws.lambda_.Function(s3_bucket=package.bucket, "
    "s3_key=package.key, s3_object_version=package.object_version, "
    "code_signing_config_arn=config.arn, ...)"
)
#: Lambda allows up to five layers per function.
MAX_LAYERS = 5


@dataclass
class LambdaFunctionArgs:
    """Inputs of :class:`LambdaFunction`."""

    #: The .zip to deploy: a :class:`SignedPackage` (then a preview predicts its verdict
    #: from the program's graph, even before the package exists), or a path, such as
    #: ``SignedPackage.location``.
    code: SignedPackage | pulumi.Input[str]
    #: A :class:`CodeSigningConfig` (its policy and publishers are then known to previews
    #: before it is applied) or a code signing config ARN.
    code_signing_config: CodeSigningConfig | pulumi.Input[str] | None = None
    #: 1-64 of ``[A-Za-z0-9-_]``; default: the resource name plus a suffix derived from the
    #: stack and the resource (the same in every preview and up).
    function_name: pulumi.Input[str] | None = None
    #: Up to 5 layers: :class:`~provider.resources.layer.LayerVersion` resources or layer
    #: version ARNs. Under a code signing config each is checked like the code.
    layers: Sequence[LayerVersion | pulumi.Input[str]] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _file_sha384(path: str) -> str:
    return hashlib.sha384(Path(path).read_bytes()).hexdigest()


def _deployed(backend: LocalBackend, function: dict[str, Any]) -> list[tuple[str, Code]]:
    """The code and layers a function runs now, as the registry holds them."""
    name = function["FunctionName"]
    artifacts: list[tuple[str, Code]] = [
        (
            f"code of function {name}",
            judging.code_of(function["CodeLocation"], None, backend, f"code of function {name}"),
        )
    ]
    for layer in function.get("Layers", []):
        label = f"layer {layer['Location']} of function {name}"
        artifacts.append((label, judging.layer_code(backend, {"arn": layer["Location"]}, label)))
    return artifacts


def _standing(
    backend: LocalBackend,
    function: dict[str, Any],
    view: ConfigView | None,
    at: datetime,
    keep: set[str] | None = None,
) -> list[Prediction]:
    """What the deployed code (and layers) would meet at its next deploy under ``view``.
    ``keep``: only the artifacts not being redeployed (``code``, ``layers``)."""
    if view is None:
        return []
    artifacts = _deployed(backend, function)
    if keep is not None:
        artifacts = [a for i, a in enumerate(artifacts) if ("code" if i == 0 else "layers") in keep]
    return judging.judge(artifacts, view, at)


def _stored_view(backend: LocalBackend, csc_arn: str | None) -> ConfigView | None:
    if not csc_arn:
        return None
    stored = backend.csc_policy_of(csc_arn)
    return ConfigView(
        stored.policy, tuple(Publisher(a) for a in stored.allowed_profile_version_arns), stored.arn
    )


def _prediction_output(predictions: Sequence[Prediction]) -> dict[str, Any] | None:
    """The ``predicted_verdict`` output: the combined decision, the code's details, and
    every artifact's prediction."""
    if not predictions:
        return None
    documents = [p.to_document() for p in predictions]
    first = documents[0]
    return {
        "decision": combined(p.decision for p in predictions),
        "policy": first["policy"],
        "exception": next((d["exception"] for d in documents if d["exception"]), None),
        "failed_checks": [
            f"{d['name']}: {c}" if i else c
            for i, d in enumerate(documents)
            for c in d["failed_checks"]
        ],
        "remedies": list(
            dict.fromkeys(judging.pulumi_remedy(f) for p in predictions for f in p.failed)
        ),
        "unknown_until_deploy": sorted({c for d in documents for c in d["unknown_until_deploy"]}),
        "artifacts": documents,
    }


def _changed(olds: dict[str, Any], news: dict[str, Any], key: str) -> bool:
    return bool(olds) and (is_unknown(news.get(key)) or olds.get(key) != news.get(key))


class LambdaFunctionProvider(CodesignProvider):
    """Lifecycle: create and code or layer updates are verified by the backend as Lambda
    does. ``check`` never fails on a verdict: it returns ``findings`` (the verdict of each
    deploy this step makes, the standing of deployed code it does not redeploy), which the
    program reports on the resource, failing the preview once at its end on a rejection."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, hash the code, and judge what this step deploys."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-function", "LambdaFunction") + local_only(
            inputs, "LambdaFunction", _ON_AWS
        )
        layers = inputs.get("layers") or []
        if isinstance(layers, list) and len(layers) > MAX_LAYERS:
            failures.append(
                CheckFailure(
                    "layers",
                    f"LambdaFunction input layers: {len(layers)} layers given; Lambda "
                    f"allows at most {MAX_LAYERS}",
                )
            )
        if failures:
            return CheckResult(inputs, failures)
        if inputs.get("function_name") is None:
            inputs["function_name"] = olds.get("function_name") or auto_name(
                inputs["logical_name"], "-", _NAME_ALPHABET, 64, inputs.get("name_seed")
            )
        code = inputs.get("code")
        if not is_unknown(code):
            if not Path(str(code)).is_file():
                return CheckResult(
                    inputs,
                    [CheckFailure("code", f"LambdaFunction input code: {code!r} is not a file")],
                )
            inputs["code_sha384"] = _file_sha384(str(code))
        inputs["layer_arns"] = (
            [layer.get("arn") for layer in layers] if isinstance(layers, list) else layers
        )
        try:
            self._judge(olds, inputs)
        except CodesignError as exc:
            return CheckResult(inputs, [CheckFailure("code", f"LambdaFunction: {exc}")])
        return CheckResult(inputs, [])

    def _judge(self, olds: dict[str, Any], inputs: dict[str, Any]) -> None:
        backend = local_backend_of(inputs)
        now = now_of(inputs)
        name = str(inputs["function_name"])
        view = judging.config_view(inputs, backend)
        layers = inputs.get("layers") if isinstance(inputs.get("layers"), list) else []
        deploy_code = not olds or _changed(olds, inputs, "code_sha384")
        deploy_layers = not olds or _changed(olds, inputs, "layer_arns")
        inputs["findings"] = []
        inputs["predicted_verdict"] = None
        inputs["deployed_code_standing"] = None
        # Which parts this step deploys (policy packs judge only those as deploys).
        inputs["deploying"] = {"code": deploy_code, "layers": deploy_layers}
        if view is None:
            return
        artifacts: list[tuple[str, Code]] = []
        if deploy_code:
            artifacts.append(
                (
                    f"function {name}",
                    judging.code_of(
                        inputs.get("code"), inputs.get("code_package"), backend, f"function {name}"
                    ),
                )
            )
        if deploy_layers:
            for index, layer in enumerate(layers or []):
                label = f"{judging.layer_label(index, layer)} of function {name}"
                artifacts.append((label, judging.layer_code(backend, layer, label)))
        deploys = judging.judge(artifacts, view, now)
        findings = judging.deploy_findings(deploys) if deploys else []
        kept = {
            part
            for part, redeployed in (("code", deploy_code), ("layers", deploy_layers))
            if not redeployed
        }
        standing: list[Prediction] = []
        if olds and kept:
            try:
                function = backend.get_function(name)
            except CodesignError:
                function = None  # deleted outside Pulumi: a refresh will say so
            if function is not None:
                standing = _standing(backend, function, view, now, kept)
                note = judging.signer_note(backend, inputs.get("code_package"))
                findings += judging.standing_findings(
                    standing, note if deploy_code is False else ""
                )
        # The standing the function will have after this step (code first, then layers),
        # when decided: what state records, so a refresh shows a later change as a diff.
        code_part = deploys[:1] if deploy_code else standing[:1]
        layer_part = deploys[1 if deploy_code else 0 :] if deploy_layers else standing[1:]
        after = code_part + layer_part
        if after and all(p.decision != UNKNOWN for p in after):
            inputs["deployed_code_standing"] = judging.standing_document(after)
        inputs["findings"] = findings
        inputs["predicted_verdict"] = _prediction_output(deploys or standing)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on a new name; update for new code, layers or config, or to record a
        new standing of the deployed code (which deploys nothing)."""
        replaces = (
            ["function_name"] if olds.get("function_name") != news.get("function_name") else []
        )
        keys = ["code_sha384", "code_signing_config_arn", "layer_arns"]
        if news.get("deployed_code_standing") is not None:
            # Recording a new standing deploys nothing; a refresh shows it as a diff.
            keys.append("deployed_code_standing")
        changes = bool(replaces) or any(
            is_unknown(news.get(k)) or olds.get(k) != news.get(k) for k in keys
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """CreateFunction with its layers, verified under the CSC (a rejection creates
        nothing)."""
        with reported():
            backend = local_backend_of(props)
            now = now_of(props)
            function = backend.create_function(
                props["function_name"],
                Path(props["code"]),
                csc_arn=props.get("code_signing_config_arn"),
                layers=list(props.get("layer_arns") or []),
                now=now,
            )
            outs = _outputs(backend, function, now, props.get("code_package"))
        return CreateResult(function["FunctionName"], {**props, **outs})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Attach a new CSC first (it governs the deploys that follow), then
        UpdateFunctionCode when the code changed and UpdateFunctionConfiguration when the
        layers did. A new config alone deploys nothing (Lambda checks code only when code
        is deployed)."""
        with reported():
            backend = local_backend_of(news)
            now = now_of(news)
            csc_arn = news.get("code_signing_config_arn")
            if csc_arn != olds.get("code_signing_config_arn"):
                if csc_arn:
                    backend.put_function_code_signing_config(id_, csc_arn)
                else:
                    backend.delete_function_code_signing_config(id_)
            if news.get("code_sha384") != olds.get("code_sha384"):
                backend.update_function_code(id_, Path(news["code"]), now=now)
            layer_arns = list(news.get("layer_arns") or [])
            if layer_arns != list(olds.get("layer_arns") or []):
                backend.update_function_configuration(id_, layers=layer_arns, now=now)
            outs = _outputs(backend, backend.get_function(id_), now, news.get("code_package"))
        return UpdateResult({**news, **outs})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetFunction, and the standing of the deployed code now (refresh records it)."""
        with reported():
            backend = local_backend_of(props)
            outs = _outputs(
                backend, backend.get_function(id_), now_of(props), props.get("code_package")
            )
        refreshed = {**props, **outs}
        # Returned as inputs too: the engine diffs a refresh on inputs, and a new standing
        # of the deployed code (a revocation, an expiry since) must show as a change.
        return ReadResult(id_, refreshed, refreshed)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteFunction."""
        with reported():
            local_backend_of(props).delete_function(id_)


def _outputs(
    backend: LocalBackend, function: dict[str, Any], at: datetime, package: Any = None
) -> dict[str, Any]:
    """Outputs after a step: the function, and the standing of what it runs now (its
    findings are what later previews of an unchanged function report); ``package``: the
    ``code_package`` input."""
    name = function["FunctionName"]
    standing = _standing(
        backend, function, _stored_view(backend, function.get("CodeSigningConfigArn")), at
    )
    return {
        "function_name": name,
        "function_arn": function["FunctionArn"],
        "deployed_code_sha384": function["CodeSha384"],
        "deployed_layers": [layer["Location"] for layer in function.get("Layers", [])],
        "verdict": function.get("LastVerdict"),
        "warnings": function.get("Warnings", []),
        "deployed_code_standing": judging.standing_document(standing) if standing else None,
        # After a step nothing is being deployed: a later preview of an unchanged function
        # (whose state is these outputs) judges the standing of its deployed code.
        "deploying": {"code": False, "layers": False},
        "findings": judging.standing_findings(standing, judging.signer_note(backend, package)),
    }


def _report_warnings(resource: pulumi.Resource, warnings: Any) -> None:
    """After a deploy, show the Warn-policy findings as warnings on the resource."""
    if pulumi.runtime.is_dry_run():
        return
    for warning in warnings or []:
        pulumi.log.warn(f"code signing: deployed with a warning: {warning}", resource)


def csc_inputs(csc: CodeSigningConfig | pulumi.Input[str] | None) -> dict[str, Any]:
    """The code signing config inputs of a function: from a :class:`CodeSigningConfig`
    its ARN, policy and publishers (with the program's references to its profiles), or
    an ARN alone."""
    if isinstance(csc, CodeSigningConfig):
        return {
            "code_signing_config_arn": csc.arn,
            "code_signing_policy": csc.policy,
            "allowed_publishers": csc.allowed_publishers,
            "publisher_refs": csc.publisher_refs,
        }
    return {
        "code_signing_config_arn": csc,
        "code_signing_policy": None,
        "allowed_publishers": None,
        "publisher_refs": None,
    }


def _layer_input(layer: Any) -> Any:
    from provider.resources.layer import LayerVersion

    if isinstance(layer, LayerVersion):
        return {
            "arn": layer.layer_version_arn,
            "name": layer.layer_name,
            "code": layer.code,
            "package": package_ref(layer.package) if layer.package is not None else None,
        }
    return {"arn": layer, "name": None, "code": None, "package": None}


class LambdaFunction(Resource, module="codesign", name="LambdaFunction"):
    """A Lambda function whose code and layers are verified against its code signing config
    on every create and code or layer update, exactly as Lambda verifies them, in the local
    backend's function registry. On ``codesign:backend aws`` it fails ``check`` saying to
    deploy the :class:`~provider.resources.signed_package.SignedPackage` object with
    ``pulumi_aws.lambda_.Function``, since AWS Lambda itself verifies code there.

    In a preview, every deploy this step makes (create, new code, new layers) is judged
    (``predicted_verdict``): a rejection is an error on the resource and fails the preview
    at its end, a warning a warning; code already deployed and not redeployed gets its
    standing (``deployed_code_standing``), as a warning, never a failure.

    Outputs: ``function_name``, ``function_arn``, ``predicted_verdict``, ``verdict`` (what
    the last deploy met), ``warnings`` (Warn-policy findings of the last deploy),
    ``deployed_code_standing`` (what the deployed code would meet at its next deploy, as
    of the last up or refresh) and ``findings`` (what a preview reports).
    """

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    code_sha384: pulumi.Output[str]
    predicted_verdict: pulumi.Output[dict[str, Any] | None]
    verdict: pulumi.Output[dict[str, Any] | None]
    warnings: pulumi.Output[list[str]]
    deployed_code_standing: pulumi.Output[dict[str, Any] | None]
    findings: pulumi.Output[list[dict[str, str]]]

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        code = args.code
        if isinstance(code, SignedPackage):
            code_input: Any = code.location
            package: Any = package_ref(code)
        else:
            code_input = pulumi.Output.from_input(code).apply(lambda p: str(Path(p).resolve()))
            package = None
        props = {
            "logical_name": name,
            "name_seed": name_seed("LambdaFunction", name, opts),
            "function_name": args.function_name,
            "code": code_input,
            "code_package": package,
            **csc_inputs(args.code_signing_config),
            "layers": [_layer_input(layer) for layer in args.layers or []],
            "settings": settings_input(args.backend, args.home, args.region),
            **{
                key: None
                for key in (
                    "code_sha384",
                    "layer_arns",
                    "predicted_verdict",
                    "findings",
                    "function_arn",
                    "deployed_code_sha384",
                    "deployed_layers",
                    "deployed_code_standing",
                    "deploying",
                    "verdict",
                    "warnings",
                )
            },
        }
        super().__init__(LambdaFunctionProvider(), name, props, opts)
        watch(self, self.findings)
        self.warnings.apply(lambda warnings: _report_warnings(self, warnings))
