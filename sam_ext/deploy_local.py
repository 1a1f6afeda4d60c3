"""``sam-ext deploy`` on the local backend: a packaged template into the local registry.

Every function's code and layers are verified first, under the code signing config each
function will have, in the template and in every nested stack of it (a packaged nested
template, stack ``PARENT-ChildId``); if any deployment would be rejected, nothing at all
changes. Then, parents before children, code signing configs, layers and functions are
created or updated, and the registry verifies each deployment again, exactly as Lambda does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.errors import DeploymentRejected, NotFoundError, ValidationError
from provider.statuses import ArtifactKind
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY, Decision, Verdict
from sam_ext.cdk.assembly import stack_of_template
from sam_ext.output import warn
from sam_ext.packaging.csc import resolve_csc, resolve_csc_value, resolve_publishers
from sam_ext.packaging.destination import LOCAL_BUCKET
from sam_ext.packaging.nested import child_parameters, join_path, local_template
from sam_ext.packaging.resources import function_property, packageable
from sam_ext.packaging.run import package_template
from sam_ext.parameters import parameter_values, require_values, substitute
from sam_ext.settings import DeploySettings
from sam_ext.template import Template, load_template

if TYPE_CHECKING:
    from provider.backends.local import LocalBackend
    from provider.trust import TrustFile
    from sam_ext.context import CliContext


@dataclass
class FunctionOutcome:
    """What happened to one function."""

    #: The logical id, or its path in a nested stack (``ChildStack/FunctionId``).
    logical_id: str
    function_name: str
    operation: str
    #: Verdict documents (``schemas/verdict.schema.json``) of the deployment.
    verdicts: list[dict[str, Any]]


def _local_path(value: Any, logical_id: str, template_dir: Path) -> Path:
    if isinstance(value, dict) and value.get("S3Bucket") == LOCAL_BUCKET:
        value = value.get("S3Key")
    if not isinstance(value, str) or value.startswith("s3://"):
        raise ValidationError(
            f"{logical_id}: its code is not a local package ({value!r}); run sam-ext package "
            "with the local backend first, or pass --signing-profiles to package now"
        )
    path = (template_dir / value).resolve()
    if not path.is_file():
        raise ValidationError(
            f"{logical_id}: {path} is not a packaged .zip; run sam-ext package first"
        )
    return path


@dataclass
class _Stack:
    """One template of the tree being deployed."""

    deployer: LocalDeployer
    #: ``""`` for the top template, else the nested stack's path.
    path: str
    template: Template
    template_dir: Path
    #: Values for verification (a parent's config as a resolution, see ``child_parameters``).
    parameters: dict[str, Any]
    functions: dict[str, Path]
    layers: dict[str, Path]
    #: The parent stack and the nested stack resource's ``Parameters``, for a child.
    parent: _Stack | None = None
    given: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    #: Values for applying (a parent's config as its ARN, once the parent is applied).
    applied_parameters: dict[str, Any] = field(default_factory=dict)


def _nested_file(value: str, where: str, template_dir: Path) -> Path:
    path = (template_dir / value).resolve()
    if not path.is_file():
        raise ValidationError(
            f"{where}: its nested template {path} does not exist; run sam-ext package first"
        )
    return path


def _csc_reference(value: Any, state: dict[str, Any]) -> str | None:
    """The ARN of the applied config a ``Ref``/``GetAtt`` names, if it is one."""
    if isinstance(value, dict):
        referenced = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
        if isinstance(referenced, str) and referenced in state["csc"]:
            return str(state["csc"][referenced])
    return None


class LocalDeployer:
    """Deploys one stack of a template into a :class:`LocalBackend`."""

    def __init__(
        self,
        backend: LocalBackend,
        stack_name: str,
        now: datetime,
        *,
        trust_file: TrustFile | None = None,
    ) -> None:
        if trust_file is not None:
            # Publishers from the trust file answer first, in the checks here and in the
            # registry's own checks of each deployment.
            backend.trust_file = trust_file
        self.backend = backend
        self.stack_name = stack_name
        self.now = now
        self.state_path = backend.store.home / "stacks" / f"{stack_name}.json"

    def _state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return {"csc": {}, "layers": {}, "functions": {}}

    def _save(self, state: dict[str, Any]) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True))
        temporary.replace(self.state_path)

    def deploy(
        self, template: Template, template_dir: Path, parameters: dict[str, Any]
    ) -> list[FunctionOutcome]:
        """Verify everything, nested stacks included, then apply; raise
        :class:`DeploymentRejected` on a rejection."""
        stacks = self._collect(template, template_dir, parameters, "", ())
        # 1. Verify every function (code + layers) of every stack under its CSC.
        rejected = [verdict for stack in stacks for verdict in self._verify(stack)]
        if rejected:
            raise DeploymentRejected(
                "deployment rejected, nothing was changed: "
                + "; ".join(v.message for v in rejected)
                + ". Remedy: "
                + " ".join(dict.fromkeys(f.remedy for v in rejected for f in v.failed)),
                code=rejected[0].exception or "CodeVerificationFailedException",
                verdict=rejected[0],
            )
        # 2. Apply, parents first (a child may be passed a parent's config).
        outcomes: list[FunctionOutcome] = []
        for stack in stacks:
            outcomes += stack.deployer._apply(stack)
        return outcomes

    def _collect(
        self,
        template: Template,
        template_dir: Path,
        parameters: dict[str, Any],
        path: str,
        ancestors: tuple[Path, ...],
    ) -> list[_Stack]:
        """This stack's code, then its nested stacks' (parents before children)."""
        functions: dict[str, Path] = {}
        layers: dict[str, Path] = {}
        for logical_id, resource in template["Resources"].items():
            entry = packageable(resource["Type"])
            if entry is None or (resource.get("Properties") or {}).get("PackageType") == "Image":
                continue
            code = _local_path(
                (resource.get("Properties") or {}).get(entry.property),
                join_path(path, logical_id),
                template_dir,
            )
            (functions if entry.kind is ArtifactKind.FUNCTION else layers)[logical_id] = code
        stack = _Stack(self, path, template, template_dir, parameters, functions, layers)
        stacks = [stack]
        for logical_id, resource in template["Resources"].items():
            location = local_template(resource)
            if location is None:
                continue
            where = join_path(path, logical_id)
            child_file = _nested_file(location, where, template_dir)
            if child_file in ancestors:
                raise ValidationError(f"{where}: {child_file} nests itself")
            child_template = load_template(child_file)
            given = (resource.get("Properties") or {}).get("Parameters")

            def resolve(value: dict[str, Any]) -> Any:
                return resolve_csc_value(template, value, self.backend, parameters)

            child = LocalDeployer(self.backend, f"{self.stack_name}-{logical_id}"[:128], self.now)
            below = child._collect(
                child_template,
                child_file.parent,
                child_parameters(child_template, given, parameters, resolve, where=where),
                where,
                (*ancestors, child_file),
            )
            below[0].parent, below[0].given = stack, given
            stacks += below
        return stacks

    def _verify(self, stack: _Stack) -> list[Verdict]:
        """The rejections of one stack's functions (code and layers)."""
        rejected: list[Verdict] = []
        resources = stack.template["Resources"]
        for logical_id, code in stack.functions.items():
            resource = resources[logical_id]
            csc = resolve_csc(stack.template, resource, self.backend, stack.parameters)
            if not csc.declared:
                continue
            name = join_path(stack.path, logical_id)
            if csc.policy is None:
                raise ValidationError(
                    f"{name}: its code signing config cannot be resolved locally "
                    f"({csc.unknown_reason})"
                )
            artifacts = [(name, code)] + [
                (f"{name} layer {ref}", stack.layers[ref])
                for ref in self._layer_refs(stack.template, resource, stack.layers)
            ]
            for label, path in artifacts:
                verdict = self.backend.evaluate_package(path, csc.policy, at=self.now, name=label)
                if verdict.decision is Decision.REJECT:
                    rejected.append(verdict)
        return rejected

    def _apply(self, stack: _Stack) -> list[FunctionOutcome]:
        """Create or update one stack's configs, layers and functions; save its state."""
        template, state = stack.template, self._state()
        stack.state = state
        if stack.parent is None:
            parameters = stack.parameters
        else:
            parent = stack.parent

            def resolve(value: dict[str, Any]) -> Any:
                return _csc_reference(value, parent.state)

            parameters = child_parameters(
                template, stack.given, parent.applied_parameters, resolve, where=stack.path
            )
        stack.applied_parameters = parameters
        self._apply_cscs(template, parameters, state)
        for logical_id, content in stack.layers.items():
            published = self.backend.publish_layer_version(
                f"{self.stack_name}-{logical_id}"[:64], content, now=self.now
            )
            state["layers"][logical_id] = published["LayerVersionArn"]
        outcomes = [
            self._apply_function(template, logical_id, code, state, parameters)
            for logical_id, code in stack.functions.items()
        ]
        self._save(state)
        for outcome in outcomes:
            outcome.logical_id = join_path(stack.path, outcome.logical_id)
        return outcomes

    @staticmethod
    def _layer_refs(
        template: Template, resource: dict[str, Any], layers: dict[str, Path]
    ) -> list[str]:
        refs = function_property(template, resource, "Layers") or []
        return [ref["Ref"] for ref in refs if isinstance(ref, dict) and ref.get("Ref") in layers]

    def _apply_cscs(
        self, template: Template, parameters: dict[str, Any], state: dict[str, Any]
    ) -> None:
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::CodeSigningConfig":
                continue
            properties = substitute(resource.get("Properties") or {}, parameters)
            allowed = resolve_publishers(
                (properties.get("AllowedPublishers") or {}).get("SigningProfileVersionArns"),
                self.backend,
            )
            policy = (properties.get("CodeSigningPolicies") or {}).get(
                "UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value
            )
            description = (
                properties.get("Description")
                if isinstance(properties.get("Description"), str)
                else None
            )
            existing = state["csc"].get(logical_id)
            if existing:
                try:
                    self.backend.update_code_signing_config(
                        existing,
                        allowed=allowed,
                        policy=policy,
                        description=description,
                        now=self.now,
                    )
                    continue
                except NotFoundError:
                    pass
            created = self.backend.create_code_signing_config(
                allowed or [], policy=policy, description=description, now=self.now
            )
            state["csc"][logical_id] = created["CodeSigningConfig"]["CodeSigningConfigArn"]

    def _csc_arn(
        self,
        template: Template,
        resource: dict[str, Any],
        state: dict[str, Any],
        parameters: dict[str, Any],
    ) -> str | None:
        value = substitute(
            function_property(template, resource, "CodeSigningConfigArn"), parameters
        )
        if value is None or isinstance(value, str):
            return value
        arn = _csc_reference(value, state)
        if arn is not None:
            return arn
        raise ValidationError(f"CodeSigningConfigArn {value!r} cannot be resolved locally")

    def _apply_function(
        self,
        template: Template,
        logical_id: str,
        code: Path,
        state: dict[str, Any],
        parameters: dict[str, Any],
    ) -> FunctionOutcome:
        resource = template["Resources"][logical_id]
        configured = (resource.get("Properties") or {}).get("FunctionName")
        name = configured if isinstance(configured, str) else f"{self.stack_name}-{logical_id}"[:64]
        csc_arn = self._csc_arn(template, resource, state, parameters)
        layer_arns = [
            state["layers"][ref]
            for ref in self._layer_refs(template, resource, {k: Path() for k in state["layers"]})
        ]
        try:
            current = self.backend.get_function(name)
        except NotFoundError:
            current = None
        if current is None:
            function = self.backend.create_function(
                name, code, csc_arn=csc_arn, layers=layer_arns, now=self.now
            )
            operation = "created"
        else:
            if current.get("CodeSigningConfigArn") != csc_arn:
                if csc_arn:
                    self.backend.put_function_code_signing_config(name, csc_arn)
                else:
                    self.backend.delete_function_code_signing_config(name)
            self.backend.update_function_configuration(name, layers=layer_arns, now=self.now)
            function = self.backend.update_function_code(name, code, now=self.now)
            operation = "updated"
        state["functions"][logical_id] = name
        verdict = function.get("LastVerdict")
        verdicts = [] if verdict is None else [verdict]
        return FunctionOutcome(logical_id, name, operation, verdicts)


def cloudformation_only(template: Template) -> list[str]:
    """What of a template only CloudFormation checks, which the local function registry
    (functions, layers and code signing configs, no CloudFormation) does not: parameters
    read from SSM Parameter Store and ``Rules`` (a CDK template's ``BootstrapVersion`` and
    ``CheckBootstrapVersion``), one sentence each."""
    notes = []
    for name, spec in (template.get("Parameters") or {}).items():
        kind = spec.get("Type") if isinstance(spec, dict) else None
        if isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::"):
            notes.append(
                f"parameter {name} ({kind}, {spec.get('Default')!r}) is resolved from SSM "
                "Parameter Store by CloudFormation; the local backend has no Parameter Store "
                "and leaves it unresolved (--backend aws resolves it)"
            )
    for name in template.get("Rules") or {}:
        notes.append(
            f"rule {name} is checked by CloudFormation; the local backend does not evaluate "
            "Rules (--backend aws does)"
        )
    return notes


def deploy_locally(ctx: CliContext, deploy: DeploySettings) -> list[FunctionOutcome]:
    """``sam-ext deploy`` on the local backend: every parameter given a value (as
    CloudFormation requires) before anything is signed, the template packaged first when
    signing profiles are given (or when it is a CDK stack template, whose code is CDK
    assets), then deployed by a :class:`LocalDeployer`."""
    settings = deploy.package
    template = load_template(settings.template_file)
    parameters = parameter_values(template, settings.parameter_overrides)
    require_values(template, parameters)
    for note in cloudformation_only(template):
        warn(f"{settings.template_file.name}: {note}")
    if settings.signing_profiles or stack_of_template(settings.template_file) is not None:
        template = package_template(ctx, settings).template
    deployer = LocalDeployer(
        ctx.local_backend, deploy.stack_name, ctx.now, trust_file=deploy.trust_file
    )
    return deployer.deploy(template, settings.template_file.parent.resolve(), parameters)
