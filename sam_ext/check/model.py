"""The typed model a template becomes before it is judged: every function and layer, where
its code is, the code signing config it deploys under, and what ``sam-ext package`` would
sign it with. :mod:`sam_ext.check.reader` makes it; :mod:`sam_ext.check.judge` judges it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from provider.objects import S3Object
from provider.statuses import ArtifactKind
from sam_ext.packaging.csc import CscResolution
from sam_ext.signing_profiles import SigningProfileRef


class CodeKind(StrEnum):
    """Where a function's or layer's code comes from."""

    #: A local file or directory (``CodeUri: src/``): packaged, unsigned unless signed.
    LOCAL = "local"
    #: A CDK file asset (``aws:asset:path``): a staged directory, or a file used as-is.
    ASSET = "asset"
    #: An object in S3 (a packaged template): judged by what the backend knows of it.
    S3 = "s3"
    #: Inline code (``InlineCode``, ``Code.ZipFile``): never signed.
    INLINE = "inline"
    #: A container image: code signing does not apply.
    IMAGE = "image"
    #: A location computed at deploy time.
    COMPUTED = "computed"


@dataclass(frozen=True)
class CodeSource:
    """One function's or layer's code: its kind, and the path, object or reason."""

    kind: CodeKind
    path: Path | None = None
    s3: S3Object | None = None
    #: Why a computed location cannot be known.
    reason: str | None = None

    @property
    def local(self) -> bool:
        """Whether ``sam-ext package`` packages (and may sign) it."""
        return self.kind in (CodeKind.LOCAL, CodeKind.ASSET)


@dataclass(frozen=True)
class LambdaResource:
    """A function or layer of a template, as the check knows it."""

    #: The file declaring it (a nested stack: its own file).
    template: Path
    logical_id: str
    resource_type: str
    kind: ArtifactKind
    code: CodeSource
    #: The function's code signing config (``None`` for a layer: it has none of its own).
    config: CscResolution | None
    #: The logical ids of the template's layers the function uses (``!Ref Layer``).
    layers: tuple[str, ...] = ()
    #: The CDK construct path, when known.
    construct_path: str | None = None
    #: The nested-stack resources leading here, outermost first.
    nested_in: tuple[str, ...] = ()
    #: The profile ``--signing-profiles`` names for it.
    signing_profile: SigningProfileRef | None = None

    @property
    def path(self) -> str:
        """Its path through nested stacks (how ``--signing-profiles`` names it)."""
        return "/".join((*self.nested_in, self.logical_id))


@dataclass(frozen=True)
class TemplateModel:
    """A template tree's functions and layers, and what could not be read (a nested
    template that is not reachable here)."""

    #: The top template file (``sam-ext package --template-file`` takes it).
    template: Path
    resources: tuple[LambdaResource, ...]
    notes: tuple[str, ...] = ()
