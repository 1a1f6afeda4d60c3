"""Nested applications: the code of nested stacks, packaged and signed like the parent's.

``AWS::Serverless::Application`` (``Location``) and ``AWS::CloudFormation::Stack``
(``TemplateURL``) with a local template are packaged recursively, as ``sam package`` does,
but here their functions and layers are signed too (SAM CLI does not sign them:
aws/aws-sam-cli#4596, #8025). ``--signing-profiles`` names a nested resource by its path,
``ChildStack/FunctionId``, as SAM CLI names nested resources elsewhere; a profile given for
a nested stack's own id (``ChildStack=Profile``) applies to every function and layer in it
and in its own nested stacks, unless a longer path names another.

The whole tree is planned before anything is zipped or signed, so bad input anywhere is
found first; then every artifact of every level is packaged in one parallel run; then each
child template is rewritten, placed (a file in the artifact directory, or an S3 object as
``sam package`` uploads it), and its parent's ``Location``/``TemplateURL`` pointed at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provider.errors import ValidationError
from sam_ext.cdk.assembly import CdkStack
from sam_ext.packaging.csc import resolve_csc_value
from sam_ext.packaging.destination import ArtifactDestination
from sam_ext.packaging.packager import Packaged, Packager, Plan, rewrite
from sam_ext.packaging.resources import has_local_code, packageable
from sam_ext.parameters import parameter_values, substitute
from sam_ext.signing_profiles import SigningProfileRef
from sam_ext.template import Template, dump_template, load_template

#: Nested stack types and the property that names their template (SAM CLI's exporters).
NESTED = {
    "AWS::Serverless::Application": "Location",
    "AWS::CloudFormation::Stack": "TemplateURL",
}
_REMOTE_PREFIXES = ("s3://", "https://", "http://")


def join_path(stack: str, logical_id: str) -> str:
    """``stack/logical_id``, or the logical id at the top (``stack`` "")."""
    return f"{stack}/{logical_id}" if stack else logical_id


#: The most levels nested stacks may go down: far beyond any real application, and well
#: within Python's recursion limit (each level is a few frames of recursion here).
MAX_NESTING = 100


def check_nesting(path: str) -> None:
    """Refuse a nested stack at ``path`` (``A/B/C``) deeper than :data:`MAX_NESTING`."""
    if path.count("/") >= MAX_NESTING:
        raise ValidationError(f"{path}: nested stacks go more than {MAX_NESTING} levels deep")


def local_template(resource: dict[str, Any]) -> str | None:
    """The local template path of a nested stack resource, if it has one (not an S3 or
    HTTPS URL, nor a Serverless Application Repository ``{ApplicationId, ...}``)."""
    prop = NESTED.get(resource["Type"])
    value = (resource.get("Properties") or {}).get(prop) if prop else None
    if isinstance(value, str) and value and not value.startswith(_REMOTE_PREFIXES):
        return value
    return None


def has_local_template(resource: dict[str, Any]) -> bool:
    """Whether a resource is a nested stack whose template is still a local file, which
    CloudFormation cannot deploy."""
    return local_template(resource) is not None


@dataclass
class StackPlan:
    """One template of the tree: its profiles and plan, and its local nested stacks'."""

    #: ``""`` for the top template, else the nested stack's path (``Child/Grandchild``).
    path: str
    template: Template
    template_file: Path
    #: Parameter values as resolved for packaging (see :func:`child_parameters`).
    parameters: dict[str, Any]
    #: The profile of each of this template's own resources (stack-wide ones applied).
    profiles: dict[str, SigningProfileRef]
    #: What the user should know about this template before any work.
    notices: list[str] = field(default_factory=list)
    #: Filled by :func:`plan_nested` once the whole tree is loaded and its paths checked.
    plan: Plan = field(default_factory=lambda: Plan([]))
    #: By the logical id of the nested stack resource in ``template``.
    children: dict[str, StackPlan] = field(default_factory=dict)

    def walk(self) -> Iterator[StackPlan]:
        """This plan, then every nested one, parents before children."""
        yield self
        for child in self.children.values():
            yield from child.walk()

    def merged(self) -> Plan:
        """Every artifact and notice of the tree, as one plan to run in parallel."""
        plans = [stack.plan for stack in self.walk()]
        return Plan(
            [a for plan in plans for a in plan.artifacts],
            [n for plan in plans for n in plan.notices],
        )


def child_parameters(
    child: Template,
    given: Any,
    parent_parameters: dict[str, Any],
    resolve: Callable[[dict[str, Any]], Any | None],
    *,
    where: str,
) -> dict[str, Any]:
    """The parameter values of a nested template: its defaults, under the values its
    parent passes (``Parameters``, with the parent's parameters substituted). A value
    that is still an intrinsic (``!GetAtt Config.CodeSigningConfigArn``) is what
    ``resolve`` makes of it, or unknown (``None``: left out, defaults included)."""
    declared = child.get("Parameters") or {}
    if given is not None and not isinstance(given, dict):
        raise ValidationError(f"{where}: Parameters must be a mapping of parameter values")
    unknown = sorted(set(given or {}) - set(declared))
    if unknown:
        raise ValidationError(
            f"{where}: Parameters: the nested template declares no parameter {', '.join(unknown)}"
        )
    values = parameter_values(child, {})  # the defaults
    missing = [name for name in declared if name not in values and name not in (given or {})]
    if missing:
        # CloudFormation refuses the nested stack then; say so now, naming the parameter.
        raise ValidationError(
            f"{where}: Parameters: no value for {', '.join(missing)}, which the nested "
            "template declares with no Default (CloudFormation refuses the stack without one)"
        )
    for name, value in (given or {}).items():
        value = substitute(value, parent_parameters)
        if isinstance(value, dict):
            value = resolve(value)
        if value is None or isinstance(value, list):
            values.pop(name, None)
        else:
            values[name] = value
    return values


def nested_parameters(
    template: Template,
    resource: dict[str, Any],
    child: Template,
    parameters: dict[str, Any],
    backend: Any,
    *,
    where: str,
) -> dict[str, Any]:
    """The parameter values of ``child``, the template of ``template``'s nested stack
    ``resource``: :func:`child_parameters` of what the resource passes, a config ARN that
    is still an intrinsic resolved in ``template`` on ``backend`` (``parameters``: the
    parent's own values)."""

    def resolve(value: dict[str, Any]) -> Any:
        return resolve_csc_value(template, value, backend, parameters)

    given = (resource.get("Properties") or {}).get("Parameters")
    return child_parameters(child, given, parameters, resolve, where=where)


def nested_template_file(resource: dict[str, Any], template_dir: Path, where: str) -> Path:
    """The local template file of a nested stack resource, which must exist."""
    location = local_template(resource)
    assert location is not None
    path = (template_dir / location).resolve()
    if not path.is_file():
        raise ValidationError(
            f"{where} ({resource['Type']}): {NESTED[resource['Type']]} {location!r} does not "
            f"exist or is not a file (resolved to {path})"
        )
    return path


def _split_profiles(
    template: Template,
    profiles: dict[str, SigningProfileRef],
    path: str,
    template_file: Path,
) -> tuple[dict[str, SigningProfileRef], dict[str, dict[str, SigningProfileRef]], list[str]]:
    """This template's own profiles, those for each local nested stack (relative paths,
    ``""`` for the stack-wide one), and notices; raise on a path that names nothing."""
    resources = template["Resources"]
    own: dict[str, SigningProfileRef] = {}
    nested: dict[str, dict[str, SigningProfileRef]] = {}
    notices: list[str] = []
    where = f" (nested stack {path}, {template_file})" if path else " in the template"
    for key, ref in profiles.items():
        head, slash, rest = key.partition("/")
        full = join_path(path, key)
        if not head or (slash and not rest):
            raise ValidationError(
                f"--signing-profiles: {full!r} is not a resource path; name nested resources "
                "as ChildStack/FunctionId"
            )
        if head not in resources:
            raise ValidationError(f"--signing-profiles: no resource named {full}{where}")
        resource = resources[head]
        if resource["Type"] not in NESTED:
            if slash:
                raise ValidationError(
                    f"--signing-profiles: {full}: {join_path(path, head)} is a "
                    f"{resource['Type']}, not a nested application or stack"
                )
            if packageable(resource["Type"]) is None:
                # Said here, not only by the plan, so that it comes before any other
                # template's finding.
                raise ValidationError(
                    f"--signing-profiles: {full} is a {resource['Type']}, which has no code "
                    "package to sign"
                )
            own[key] = ref
        elif not has_local_template(resource):
            notices.append(
                f"{join_path(path, head)}: its template is not a local file "
                f"({NESTED[resource['Type']]}); the code in it is not signed"
            )
        else:
            nested.setdefault(head, {})[rest] = ref
    return own, nested, notices


def load_tree(
    backend: Any,
    template: Template,
    template_file: Path,
    profiles: dict[str, SigningProfileRef],
    parameters: dict[str, Any],
    *,
    path: str = "",
    default: SigningProfileRef | None = None,
    ancestors: tuple[Path, ...] = (),
) -> StackPlan:
    """Load a template's local nested templates, recursively, and give each its share of
    ``profiles`` (refusing paths that name nothing) and its parameters. ``default`` is the
    profile a parent gave for this whole stack; ``ancestors`` are the template files
    above it (a template that nests itself is refused)."""
    template_file = template_file.resolve()
    template_dir = template_file.parent
    own, nested, notices = _split_profiles(template, profiles, path, template_file)
    resources = template["Resources"]
    if default is not None:
        for logical_id, resource in resources.items():
            if packageable(resource["Type"]) and has_local_code(template, resource):
                own.setdefault(logical_id, default)
    stack = StackPlan(path, template, template_file, parameters, own, notices)
    for logical_id, resource in resources.items():
        if not has_local_template(resource):
            continue
        child_path = join_path(path, logical_id)
        check_nesting(child_path)
        child_file = nested_template_file(resource, template_dir, child_path)
        if child_file in (*ancestors, template_file):
            raise ValidationError(
                f"{child_path}: {child_file} nests itself (a template cannot contain itself)"
            )
        child_template = load_template(child_file)
        child_profiles = nested.get(logical_id, {})
        stack.children[logical_id] = load_tree(
            backend,
            child_template,
            child_file,
            {key: ref for key, ref in child_profiles.items() if key},
            nested_parameters(
                template, resource, child_template, parameters, backend, where=child_path
            ),
            path=child_path,
            default=child_profiles.get("", default),
            ancestors=(*ancestors, template_file),
        )
    return stack


def plan_nested(
    packager: Packager,
    template: Template,
    template_file: Path,
    profiles: dict[str, SigningProfileRef],
    parameters: dict[str, Any],
    *,
    cdk: CdkStack | None = None,
) -> StackPlan:
    """Load the tree (:func:`load_tree`), then plan each of its templates, parents first;
    raise on bad input anywhere before any work. ``cdk``: the CDK stack whose template the
    top one is (its code may be CDK assets)."""
    tree = load_tree(packager.backend, template, template_file, profiles, parameters)
    for stack in tree.walk():
        stack.plan = packager.plan(
            stack.template,
            stack.template_file.parent,
            stack.profiles,
            stack.parameters,
            stack=stack.path,
            cdk=cdk if stack is tree else None,
        )
        stack.plan.notices[:0] = stack.notices
    return tree


def rewrite_nested(
    stack: StackPlan, results: list[Packaged], destination: ArtifactDestination
) -> Template:
    """Rewrite the tree's templates, children first: each child is placed at
    ``destination`` and its parent's ``Location``/``TemplateURL`` pointed at it."""
    for logical_id, child in stack.children.items():
        body = dump_template(rewrite_nested(child, results, destination)).encode("utf-8")
        resource = stack.template["Resources"][logical_id]
        resource["Properties"][NESTED[resource["Type"]]] = destination.place_template(body)
    return rewrite(
        stack.template, [p for p in results if p.artifact.stack == stack.path], destination
    )


def package_nested(
    packager: Packager,
    template: Template,
    template_file: Path,
    profiles: dict[str, SigningProfileRef],
    parameters: dict[str, Any],
    notify: Callable[[str], None],
    *,
    cdk: CdkStack | None = None,
) -> tuple[Template, list[Packaged]]:
    """Plan the tree (``notify`` gets each notice), package every level in one parallel
    run, rewrite; the packaged top template and every artifact's result."""
    tree = plan_nested(packager, template, template_file, profiles, parameters, cdk=cdk)
    merged = tree.merged()
    for notice in merged.notices:
        notify(notice)
    results = packager.run(merged)
    return rewrite_nested(tree, results, packager.destination), results
