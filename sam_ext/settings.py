"""What ``package`` and ``deploy`` are asked to do, as typed values.

Each click command builds its settings once, from its options over ``samconfig.toml``
(:mod:`sam_ext.options`, :mod:`sam_ext.deploy_options`), and hands them to the library
(:mod:`sam_ext.packaging.run`, :mod:`sam_ext.deploy_local`, :mod:`sam_ext.deploy_aws`),
which never sees a dict of options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sam_ext.signing_profiles import SigningProfileRef

if TYPE_CHECKING:
    from provider.trust import TrustFile


@dataclass(frozen=True)
class PackageSettings:
    """``sam-ext package`` (and the packaging ``deploy`` does first)."""

    #: The SAM template (``--template-file``).
    template_file: Path
    #: ``--signing-profiles``: the profile of each function and layer to sign.
    signing_profiles: dict[str, SigningProfileRef] = field(default_factory=dict)
    #: ``--parameter-overrides``: template parameter values by name.
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    #: ``--s3-bucket`` (``None``: not given).
    s3_bucket: str | None = None
    #: ``--s3-prefix`` (``""``: none).
    s3_prefix: str = ""
    #: ``--artifact-dir`` (``None``: ``.sam-ext/artifacts`` in the project).
    artifact_dir: Path | None = None
    #: ``--jobs`` (``None``: the backend's default).
    jobs: int | None = None


@dataclass(frozen=True)
class ChangeSetSettings:
    """What ``sam-ext deploy --backend aws`` asks of CloudFormation."""

    #: ``None``: the deployer's default (CAPABILITY_IAM CAPABILITY_AUTO_EXPAND).
    capabilities: tuple[str, ...] | None = None
    execute: bool = True
    fail_on_empty: bool = True
    confirm: bool = False
    role_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    notification_arns: tuple[str, ...] = ()
    resolve_s3: bool = False
    disable_rollback: bool = False


@dataclass(frozen=True)
class DeploySettings:
    """``sam-ext deploy``: one stack, packaged first when asked."""

    #: The stack (checked; on the local backend it defaults to the template's directory).
    stack_name: str
    package: PackageSettings
    #: The CloudFormation options (``--backend aws`` only).
    change_set: ChangeSetSettings = field(default_factory=ChangeSetSettings)
    #: The verified ``--trust-file`` (local backend only).
    trust_file: TrustFile | None = None
