"""``LambdaFunction``: a function whose deployments are verified as Lambda verifies them,
and whose every finding ``pulumi preview`` reports before anything deploys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

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

from provider.backends.base import Backend, Document
from provider.backends.function_settings import FunctionSettings
from provider.backends.values import FunctionConfiguration
from provider.deployed import deployed_artifacts
from provider.errors import CodesignError, NotFoundError
from provider.objects import S3Object
from provider.prediction import KnownCode, KnownConfig, Prediction, combined
from provider.resources import engine_log, judging
from provider.resources._base import (
    CodesignProvider,
    backend_of,
    check_inputs,
    checked,
    gone,
    is_unknown,
    missing_is_deleted,
    name_seed,
    now_of,
    reported,
    settings_input,
)
from provider.resources.code_signing_config import CodeSigningConfig
from provider.resources.deployable import (
    SETTINGS,
    code_inputs,
    code_ref,
    code_to_deploy,
    default_lambda_name,
    deployable_code,
    input_failure,
)
from provider.resources.layer import LayerVersion
from provider.resources.origins import traced
from provider.resources.report import watch
from provider.resources.signed_package import SignedPackage, package_ref
from provider.verdict import Decision, decide

#: Lambda allows up to five layers per function.
MAX_LAYERS = 5


@dataclass
class LambdaFunctionArgs:
    """Inputs of :class:`LambdaFunction` (the settings named as pulumi-aws names them)."""

    #: The code to deploy: a :class:`SignedPackage` (then a preview predicts its verdict
    #: from the program's graph, even before the package exists; on aws its S3 object's
    #: version is deployed), a local .zip path (local backend), or
    #: ``s3://BUCKET/KEY[?versionId=V]`` (aws backend); or give ``s3_bucket``/``s3_key``.
    code: SignedPackage | pulumi.Input[str] | None = None
    #: A :class:`CodeSigningConfig` (its policy and publishers are then known to previews
    #: before it is applied) or a code signing config ARN.
    code_signing_config: CodeSigningConfig | pulumi.Input[str] | None = None
    #: 1-64 of ``[A-Za-z0-9-_]``; default: the resource name plus a suffix derived from the
    #: stack and the resource (the same in every preview and up).
    function_name: pulumi.Input[str] | None = None
    #: Up to 5 layers: :class:`~provider.resources.layer.LayerVersion` resources or layer
    #: version ARNs. Under a code signing config each is checked like the code.
    layers: Sequence[LayerVersion | pulumi.Input[str]] | None = None
    #: The code as an S3 object, instead of ``code`` (aws backend).
    s3_bucket: pulumi.Input[str] | None = None
    s3_key: pulumi.Input[str] | None = None
    s3_object_version: pulumi.Input[str] | None = None
    #: The execution role's ARN (required on aws; recorded on local).
    role: pulumi.Input[str] | None = None
    #: Default ``python3.12`` and ``app.handler``.
    runtime: pulumi.Input[str] | None = None
    handler: pulumi.Input[str] | None = None
    #: MB (default 128) and seconds (default 3), as Lambda's defaults.
    memory_size: pulumi.Input[int] | None = None
    timeout: pulumi.Input[int] | None = None
    #: ``{"variables": {...}}`` as pulumi-aws takes it, or the variables themselves.
    environment: pulumi.Input[dict[str, Any]] | None = None
    #: ``["x86_64"]`` (default) or ``["arm64"]``; a change deploys the code again.
    architectures: pulumi.Input[list[str]] | None = None
    description: pulumi.Input[str] | None = None
    tags: pulumi.Input[dict[str, str]] | None = None
    #: Publish a version on each code deploy.
    publish: bool = False
    #: ``Zip`` only: ``Image`` is refused in ``check`` (code signing covers .zip only).
    package_type: str = "Zip"
    backend: str | None = None
    home: str | None = None
    region: str | None = None


def _deployed(
    backend: Backend, function: Document, layers: Any, recorded: Any
) -> list[tuple[str, KnownCode]]:
    """The code and layers a function runs now, each judged by the signer Lambda reports
    for it (``SigningProfileVersionArn``, ``SigningJobArn``); where Lambda reports none,
    its code as deployed from ``recorded`` (state's ``deployed_code``), its layers by ARN or
    by the program's ``LayerVersion``."""
    name = function["FunctionName"]
    code_artifact, *layer_artifacts = deployed_artifacts(function)
    label = f"code of function {name}"
    known: KnownCode = judging.reported_facts(backend, code_artifact, label)
    if known is None:
        code = backend.deployed_code(function, judging.location_of(recorded))
        known = judging.known_code(code, None, backend, label)
    artifacts: list[tuple[str, KnownCode]] = [(label, known)]
    by_arn = {
        str(layer.get("arn")): layer
        for layer in layers or []
        if isinstance(layer, dict) and not is_unknown(layer.get("arn"))
    }
    for artifact in layer_artifacts:
        label = f"layer {artifact.arn} of function {name}"
        known = judging.reported_facts(backend, artifact, label)
        if known is None:
            known = judging.layer_code(
                backend, by_arn.get(artifact.arn, {"arn": artifact.arn}), label
            )
        artifacts.append((label, known))
    return artifacts


def _standing(
    backend: Backend,
    function: Document,
    view: KnownConfig | None,
    at: datetime,
    props: dict[str, Any],
    keep: set[str] | None = None,
) -> list[Prediction]:
    """What the deployed code (and layers) would meet at its next deploy under ``view``.
    ``keep``: only the artifacts not being redeployed (``code``, ``layers``)."""
    if view is None:
        return []
    artifacts = _deployed(backend, function, props.get("layers"), props.get("deployed_code"))
    if keep is not None:
        artifacts = [a for i, a in enumerate(artifacts) if ("code" if i == 0 else "layers") in keep]
    return judging.judge(artifacts, view, at)


def _stored_view(backend: Backend, csc_arn: str | None) -> KnownConfig | None:
    if not csc_arn:
        return None
    return KnownConfig.of(backend.csc_policy_of(csc_arn))


def _prediction_output(predictions: Sequence[Prediction]) -> dict[str, Any] | None:
    """The ``predicted_verdict`` output: the combined decision, the code's details, and
    every artifact's prediction."""
    if not predictions:
        return None
    # Each artifact's remedies are the ones said for it here and in its finding (what a
    # Pulumi user does), not the API-level ones: one failure, one piece of advice.
    documents = [
        {**p.to_document(), "remedies": list(dict.fromkeys(map(judging.pulumi_remedy, p.failed)))}
        for p in predictions
    ]
    first = documents[0]
    return {
        "decision": combined(p.decision for p in predictions).value,
        "policy": first["policy"],
        "exception": next((d["exception"] for d in documents if d["exception"]), None),
        "failed_checks": [
            f"{d['name']}: {c}" if i else c
            for i, d in enumerate(documents)
            for c in d["failed_checks"]
        ],
        "remedies": list(dict.fromkeys(r for d in documents for r in d["remedies"])),
        "unknown_until_deploy": sorted({c for d in documents for c in d["unknown_until_deploy"]}),
        "artifacts": documents,
    }


def _changed(olds: dict[str, Any], news: dict[str, Any], key: str) -> bool:
    return bool(olds) and (is_unknown(news.get(key)) or olds.get(key) != news.get(key))


def function_settings(props: dict[str, Any]) -> FunctionSettings:
    """The function's settings among its inputs (those known; validated)."""
    return FunctionSettings.from_inputs(
        {k: props.get(k) for k in SETTINGS if not is_unknown(props.get(k))}
    )


class LambdaFunctionProvider(CodesignProvider):
    """Lifecycle, through the backend interface (the same on local and aws): create and
    code or layer updates are verified as Lambda does (by the local registry, or by Lambda
    itself). ``check`` never fails on a verdict: it returns ``findings`` (the verdict of
    each deploy this step makes, the standing of deployed code it does not redeploy),
    which the program reports on the resource, failing the preview once at its end on a
    rejection."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate, auto-name, identify the code, and judge what this step deploys."""
        inputs = dict(news)
        failures = check_inputs(inputs, "resource-function", "LambdaFunction")
        layers = inputs.get("layers") or []
        if isinstance(layers, list) and len(layers) > MAX_LAYERS:
            failures.append(
                CheckFailure(
                    "layers",
                    f"LambdaFunction input layers: {len(layers)} layers given; Lambda "
                    f"allows at most {MAX_LAYERS}",
                )
            )
        try:
            settings = function_settings(inputs)
        except CodesignError as exc:
            failures.append(input_failure("LambdaFunction", exc, inputs))
        if failures:
            return CheckResult(inputs, failures)
        default_lambda_name(inputs, olds, "function_name")
        backend = checked(lambda: backend_of(inputs), "settings")
        if isinstance(backend, CheckFailure):
            return CheckResult(inputs, [backend])
        code, failures = deployable_code(inputs, backend, "LambdaFunction", settings)
        if failures:
            return CheckResult(inputs, failures)
        inputs["layer_arns"] = (
            [layer.get("arn") for layer in layers] if isinstance(layers, list) else layers
        )
        try:
            inputs.update(self._judge(olds, inputs, backend, code))
        except CodesignError as exc:
            return CheckResult(inputs, [CheckFailure("code", f"LambdaFunction: {exc}")])
        return CheckResult(inputs, [])

    def _judge(
        self,
        olds: dict[str, Any],
        inputs: dict[str, Any],
        backend: Backend,
        code: Path | S3Object | None,
    ) -> CheckOutputs:
        """What ``check`` adds to the inputs: the verdict of each deploy this step makes,
        the standing of deployed code it keeps, and which parts it deploys."""
        now = now_of(inputs)
        name = str(inputs["function_name"])
        view = judging.known_config(inputs, backend)
        layers = inputs.get("layers") if isinstance(inputs.get("layers"), list) else []
        deploy_code = (
            not olds or _changed(olds, inputs, "code_id") or _changed(olds, inputs, "architectures")
        )
        deploy_layers = not olds or _changed(olds, inputs, "layer_arns")
        judged: CheckOutputs = {
            "findings": [],
            "predicted_verdict": None,
            "deployed_code_standing": None,
            # Which parts this step deploys (policy packs judge only those as deploys).
            "deploying": {"code": deploy_code, "layers": deploy_layers},
        }
        if view is None:
            return judged
        artifacts: list[tuple[str, KnownCode]] = []
        if deploy_code:
            label = f"function {name}"
            artifacts.append(
                (label, judging.known_code(code, inputs.get("code_package"), backend, label))
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
                standing = _standing(backend, function, view, now, {**inputs, **_kept(olds)}, kept)
                note = judging.signer_note(backend, inputs.get("code_package"))
                findings += judging.standing_findings(
                    standing, note if deploy_code is False else ""
                )
        # The standing the function will have after this step (code first, then layers),
        # when decided: what state records, so a refresh shows a later change as a diff.
        code_part = deploys[:1] if deploy_code else standing[:1]
        layer_part = deploys[1 if deploy_code else 0 :] if deploy_layers else standing[1:]
        after = code_part + layer_part
        if after and all(p.decision is not Decision.UNKNOWN for p in after):
            judged["deployed_code_standing"] = judging.standing_document(after)
        judged["findings"] = findings
        judged["predicted_verdict"] = _prediction_output(deploys or standing)
        return judged

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on a new name; update for new code, layers, config or settings, or to
        record a new standing of the deployed code (which deploys nothing)."""
        replaces = (
            ["function_name"] if olds.get("function_name") != news.get("function_name") else []
        )
        keys = ["code_id", "code_signing_config_arn", "layer_arns", *SETTINGS]
        if news.get("deployed_code_standing") is not None:
            # Recording a new standing deploys nothing; a refresh shows it as a diff.
            keys.append("deployed_code_standing")
        changes = bool(replaces) or any(
            is_unknown(news.get(k)) or olds.get(k) != news.get(k) for k in keys
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """CreateFunction with its settings, layers and code signing config, verified under
        the config (a rejection creates nothing)."""
        with reported():
            backend = backend_of(props)
            now = now_of(props)
            code = code_to_deploy(props)
            function = backend.create_function(
                props["function_name"],
                code,
                csc_arn=props.get("code_signing_config_arn"),
                layers=list(props.get("layer_arns") or []),
                now=now,
                settings=function_settings(props),
            )
            outs = _outputs(backend, function, now, props, code)
        return CreateResult(function["FunctionName"], {**props, **outs})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Attach a new CSC first (it governs the deploys that follow), then
        UpdateFunctionCode when the code (or the architecture) changed, and
        UpdateFunctionConfiguration when the layers or settings did. A new config alone
        deploys nothing (Lambda checks code only when code is deployed)."""
        with reported():
            backend = backend_of(news)
            now = now_of(news)
            csc_arn = news.get("code_signing_config_arn")
            if csc_arn != olds.get("code_signing_config_arn"):
                if csc_arn:
                    backend.put_function_code_signing_config(id_, csc_arn)
                else:
                    backend.delete_function_code_signing_config(id_)
            before, after = function_settings(olds), function_settings(news)
            architectures = after.with_defaults().architectures
            new_architecture = architectures != before.with_defaults().architectures
            deployed: Path | S3Object | None = None
            if news.get("code_id") != olds.get("code_id") or new_architecture:
                deployed = code_to_deploy(news)
                backend.update_function_code(
                    id_,
                    deployed,
                    now=now,
                    publish=after.publish,
                    architectures=architectures if new_architecture else None,
                )
            layer_arns = list(news.get("layer_arns") or [])
            new_layers = layer_arns != list(olds.get("layer_arns") or [])
            changed = before.update_to(after)
            if new_layers or changed is not None:
                backend.update_function_configuration(
                    id_, layers=layer_arns if new_layers else None, now=now, settings=changed
                )
            outs = _outputs(
                backend,
                backend.get_function(id_),
                now,
                {**news, **_kept(olds)},
                deployed,
                redeployed=deployed is not None or new_layers,
            )
        return UpdateResult({**news, **outs})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GetFunction and GetFunctionCodeSigningConfig, and the standing of the deployed
        code now: ``drift`` says what changed out of band (a config detached or replaced,
        other code, a signature revoked or expired since). What is read back replaces what
        was deployed, so the next ``pulumi up`` puts the program's back. A function
        deleted out of band is dropped from state (the next ``up`` creates it again).
        Deployed code whose standing is not ALLOW is said as a warning on the function,
        naming the check and the fix, as a preview says it."""
        with reported():
            backend = backend_of(props)
            now = now_of(props)
            try:
                function = backend.get_function(id_)
            except NotFoundError:
                return gone()
            recorded = judging.location_of(props.get("deployed_code"))
            drift = backend.function_drift(
                id_,
                csc_arn=props.get("code_signing_config_arn"),
                code=recorded,
                settings=function_settings(props),
                at=now,
            )
            sha = props.get("deployed_code_sha256")
            other_code = sha is not None and sha != function.get("CodeSha256")
            kept = {**props, "deployed_code": None} if other_code else props
            outs = _outputs(backend, function, now, kept, None, redeployed=False)
        refreshed = {
            **props,
            **outs,
            "drift": drift,
            "code_signing_config_arn": function.get("CodeSigningConfigArn") or None,
        }
        if other_code:
            # Not the code that was deployed: the next up deploys the program's again.
            refreshed["code_id"] = None
            refreshed["deployed_code"] = None
        # A refresh runs no program to report findings: said from here, on the function.
        for item in outs["findings"]:
            if item.get("level") == "warning":
                engine_log.warn(f"{item['message']} (found by refresh)")
        # Returned as inputs too: the engine diffs a refresh on inputs, and a new standing
        # of the deployed code (a revocation, an expiry since) must show as a change.
        return ReadResult(id_, refreshed, refreshed)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DeleteFunction (a function already gone is deleted)."""
        with reported(), missing_is_deleted():
            backend_of(props).delete_function(id_)


class DeployOutputs(TypedDict):
    """Outputs of the last deploy that an update which deploys nothing keeps."""

    #: What the function runs, as deployed (:func:`code_ref`).
    deployed_code: str | None
    verdict: dict[str, Any] | None
    #: The last deploy's warnings (a step's outputs always carry a list).
    warnings: list[str] | None


class FunctionOutputs(DeployOutputs):
    """A :class:`LambdaFunction`'s outputs after a step (see :func:`_outputs`)."""

    function_name: str
    function_arn: str
    deployed_code_sha256: str | None
    deployed_code_sha384: str | None
    deployed_layers: list[str]
    version: str | None
    deployed_code_standing: dict[str, Any] | None
    deploying: dict[str, bool]
    findings: list[dict[str, str]]


class CheckOutputs(TypedDict):
    """What a :class:`LambdaFunction`'s ``check`` adds: its judgement of the step."""

    findings: list[dict[str, str]]
    predicted_verdict: dict[str, Any] | None
    deployed_code_standing: dict[str, Any] | None
    deploying: dict[str, bool]


class FunctionComputed(FunctionOutputs, CheckOutputs):
    """Every property of a :class:`LambdaFunction`'s state its provider computes: the
    outputs of a step, and what ``check`` adds (the code as judged, the prediction)."""

    code_sha384: str | None
    code_id: str | None
    code_ref: str | None
    layer_arns: list[str] | None
    drift: list[str] | None


#: The computed properties (unknown when a resource is declared): all but the name, an
#: input that a step gives back as the name Lambda knows the function by.
_COMPUTED = tuple(key for key in FunctionComputed.__annotations__ if key != "function_name")


def _kept(olds: dict[str, Any]) -> DeployOutputs:
    return {
        "deployed_code": olds.get("deployed_code"),
        "verdict": olds.get("verdict"),
        "warnings": olds.get("warnings"),
    }


def _outputs(
    backend: Backend,
    function: Document,
    at: datetime,
    props: dict[str, Any],
    deployed: Path | S3Object | None,
    *,
    redeployed: bool = True,
) -> FunctionOutputs:
    """Outputs after a step: the function, and the standing of what it runs now (its
    findings are what later previews of an unchanged function report). ``deployed``: the
    code this step deployed, if any; ``redeployed``: whether it deployed code or layers
    (then ``verdict`` and ``warnings`` are this deploy's)."""
    configuration = FunctionConfiguration.from_document(function)
    if deployed is not None:
        props = {**props, "deployed_code": code_ref(deployed)}
    view = _stored_view(backend, configuration.csc_arn)
    standing = _standing(backend, function, view, at, props)
    outs: FunctionOutputs = {
        "function_name": configuration.function_name,
        "function_arn": configuration.function_arn,
        "deployed_code": props.get("deployed_code"),
        "deployed_code_sha256": configuration.code_sha256,
        "deployed_code_sha384": configuration.code_sha384,
        "deployed_layers": list(configuration.layers),
        "version": configuration.version,
        "deployed_code_standing": judging.standing_document(standing) if standing else None,
        # After a step nothing is being deployed: a later preview of an unchanged function
        # (whose state is these outputs) judges the standing of its deployed code.
        "deploying": {"code": False, "layers": False},
        "findings": judging.standing_findings(
            standing, judging.signer_note(backend, props.get("code_package"))
        ),
        "verdict": props.get("verdict"),
        "warnings": props.get("warnings") or [],
    }
    if redeployed:
        outs["warnings"] = [p.message for p in standing if p.decision is Decision.WARN]
        outs["verdict"] = _verdict(backend, function, props.get("deployed_code"), at)
    return outs


def _verdict(
    backend: Backend, function: Document, recorded: Any, at: datetime
) -> dict[str, Any] | None:
    """What the deploy of the function's code met (``decide`` over the deployed code's
    facts, under its config, at the deploy instant)."""
    csc_arn = function.get("CodeSigningConfigArn")
    if not csc_arn:
        return None
    name = f"function {function['FunctionName']}"
    try:
        facts = judging.reported_facts(backend, deployed_artifacts(function)[0], name)
        if facts is None:
            code = backend.deployed_code(function, judging.location_of(recorded))
            if code is None:
                return None
            facts = backend.package_facts(code, name=name)
        return decide(facts, backend.csc_policy_of(csc_arn), at).to_document()
    except CodesignError:
        return None


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
    csc = traced(csc, CodeSigningConfig, ("arn",)) or csc
    if isinstance(csc, CodeSigningConfig):
        return {
            # Its id, which is its ARN: an in-place update keeps the id known in a preview,
            # where the arn output is unknown until the update runs (the function would
            # then show a change of its config in every preview of a config change).
            "code_signing_config_arn": csc.id,
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
    layer = traced(layer, LayerVersion, ("layer_version_arn",)) or layer
    if isinstance(layer, LayerVersion):
        return {
            "arn": layer.layer_version_arn,
            "name": layer.layer_name,
            "code": layer.code_ref,
            "package": package_ref(layer.package) if layer.package is not None else None,
        }
    return {"arn": layer, "name": None, "code": None, "package": None}


class LambdaFunction(Resource, module="codesign", name="LambdaFunction"):
    """A Lambda function whose code and layers are verified against its code signing config
    on every create and code or layer update, exactly as Lambda verifies them: by the local
    backend's function registry, or on ``codesign:backend aws`` by AWS Lambda itself. The
    same program runs on both (a local .zip there, an S3 object here; a
    :class:`SignedPackage` gives the right one on each).

    In a preview, every deploy this step makes (create, new code, new layers) is judged
    (``predicted_verdict``): a rejection is an error on the resource and fails the preview
    at its end, a warning a warning; code already deployed and not redeployed gets its
    standing (``deployed_code_standing``), as a warning, never a failure.

    Outputs: ``function_name``, ``function_arn``, ``version``, ``predicted_verdict``,
    ``verdict`` (what the last deploy met), ``warnings`` (Warn-policy findings of the last
    deploy), ``deployed_code_standing`` (what the deployed code would meet at its next
    deploy, as of the last up or refresh), ``drift`` (what the last refresh found changed
    out of band) and ``findings`` (what a preview reports).
    """

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    version: pulumi.Output[str]
    code_sha384: pulumi.Output[str | None]
    predicted_verdict: pulumi.Output[dict[str, Any] | None]
    verdict: pulumi.Output[dict[str, Any] | None]
    warnings: pulumi.Output[list[str]]
    deployed_code_standing: pulumi.Output[dict[str, Any] | None]
    drift: pulumi.Output[list[str] | None]
    findings: pulumi.Output[list[dict[str, str]]]

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "logical_name": name,
            "name_seed": name_seed("LambdaFunction", name, opts),
            "function_name": args.function_name,
            **code_inputs(args),
            **csc_inputs(args.code_signing_config),
            "layers": [_layer_input(layer) for layer in args.layers or []],
            **{key: getattr(args, key) for key in SETTINGS},
            "settings": settings_input(args.backend, args.home, args.region),
            **dict.fromkeys(_COMPUTED),
        }
        super().__init__(LambdaFunctionProvider(), name, props, opts)
        watch(self, self.findings)
        self.warnings.apply(lambda warnings: _report_warnings(self, warnings))
