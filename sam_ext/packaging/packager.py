"""``sam-ext package``'s engine: plan, then zip and sign in parallel, then rewrite.

Everything that can be wrong with the inputs is found by :meth:`Packager.plan`, before a
single file is zipped, signed or written. The plan is the same for both backends; where
packages go is an :class:`~sam_ext.packaging.destination.ArtifactDestination` (a local
directory, or an S3 bucket and prefix).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.archive import package_bytes
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.verdict import CscPolicy, Decision, Verdict
from sam_ext.packaging.cache import PackageCache, fingerprint
from sam_ext.packaging.csc import CscResolution, resolve_csc
from sam_ext.packaging.destination import (
    LOCAL_BUCKET,
    ArtifactDestination,
    LocalDirectory,
    Placed,
)
from sam_ext.packaging.resources import (
    Packageable,
    apply_globals,
    function_property,
    packageable,
)
from sam_ext.signing_profiles import SigningProfileRef
from sam_ext.template import Template

if TYPE_CHECKING:
    from provider.backends.base import Backend

__all__ = ["LOCAL_BUCKET", "Artifact", "Packaged", "Packager", "Plan", "rewrite"]


@dataclass
class Artifact:
    """One resource's code to package."""

    logical_id: str
    entry: Packageable
    source: Path
    profile: SigningProfileRef | None
    csc: CscResolution
    profile_version_arn: str | None = None
    #: Logical ids of the layers a function references with ``Ref``.
    layers: tuple[str, ...] = ()
    #: The path of the nested stack holding it (``ChildStack``), "" in the top template.
    stack: str = ""

    @property
    def path(self) -> str:
        """``ChildStack/FunctionId`` in a nested stack, else the logical id."""
        return f"{self.stack}/{self.logical_id}" if self.stack else self.logical_id


@dataclass
class Packaged:
    """What packaging one artifact produced."""

    artifact: Artifact
    location: Placed
    unsigned_sha384: str
    job_id: str | None = None
    expires_at: str | None = None
    cached: bool = False
    verdict: Verdict | None = None
    #: Why the verdict could not be predicted, when it could not.
    verdict_unknown: str | None = None


@dataclass
class Plan:
    """The artifacts to package, and what the user should know first."""

    artifacts: list[Artifact]
    notices: list[str] = field(default_factory=list)


def _is_remote(value: Any) -> bool:
    return not isinstance(value, str) or value.startswith("s3://")


class Packager:
    """Packages the code of one template: zips (cached in ``artifact_dir``), places and
    signs them at ``destination`` (default: ``artifact_dir`` itself, the local backend's)."""

    def __init__(
        self,
        backend: Backend,
        artifact_dir: Path,
        *,
        now: datetime,
        progress: Callable[[str], None],
        jobs: int = 4,
        destination: ArtifactDestination | None = None,
    ) -> None:
        self.backend = backend
        self.artifact_dir = artifact_dir
        self.destination: ArtifactDestination = destination or LocalDirectory(artifact_dir)
        self.now = now
        self.progress = progress
        self.jobs = max(1, jobs)

    # --- plan ---------------------------------------------------------------------------
    def plan(
        self,
        template: Template,
        template_dir: Path,
        profiles: dict[str, SigningProfileRef],
        parameters: dict[str, Any] | None = None,
        *,
        stack: str = "",
    ) -> Plan:
        """Find the artifacts; raise on bad input (unknown ids, unusable profiles, code a
        known Enforce config would reject because it is unsigned). ``stack`` is the path
        of the nested stack ``template`` is (see :mod:`sam_ext.packaging.nested`)."""
        apply_globals(template)
        resources = template["Resources"]
        unknown = sorted(set(profiles) - set(resources))
        if unknown:
            raise ValidationError(
                f"--signing-profiles: no resource named {', '.join(unknown)} in the template"
            )
        plan = Plan([])
        for logical_id, resource in resources.items():
            name = f"{stack}/{logical_id}" if stack else logical_id  # what messages call it
            entry = packageable(resource["Type"])
            properties = resource.get("Properties") or {}
            if entry is None:
                if logical_id in profiles:
                    raise ValidationError(
                        f"--signing-profiles: {name} is a {resource['Type']}, which has "
                        "no code package to sign"
                    )
                continue
            csc = (
                resolve_csc(template, resource, self.backend, parameters)
                if entry.kind == "function"
                else (CscResolution(False))
            )
            if properties.get("PackageType") == "Image":
                if logical_id in profiles or csc.declared:
                    plan.notices.append(
                        f"{name}: container image functions cannot be code signed "
                        "(Lambda code signing covers .zip packages only); left as it is"
                    )
                continue
            value = properties.get(entry.property)
            if value is None:
                if not entry.missing_means_template_dir or "InlineCode" in properties:
                    continue
                value = "."
            if _is_remote(value):
                if logical_id in profiles:
                    plan.notices.append(
                        f"{name}: code is already remote ({entry.property}); not signed"
                    )
                continue
            source = (template_dir / value).resolve()
            if not source.exists():
                raise ValidationError(
                    f"{name}: {entry.property} {value!r} does not exist "
                    f"(resolved to {source})"
                )
            if source.is_dir() and self.artifact_dir.is_relative_to(source):
                raise ValidationError(
                    f"{name}: its code directory {source} holds the artifact directory "
                    f"{self.artifact_dir}, so its package would contain earlier packages; give "
                    f"{name} a {entry.property} of its own or pass --artifact-dir "
                    f"outside {source}"
                )
            layers = function_property(template, resource, "Layers") or []
            plan.artifacts.append(
                Artifact(
                    logical_id,
                    entry,
                    source,
                    profiles.get(logical_id),
                    csc,
                    layers=tuple(
                        ref["Ref"]
                        for ref in layers
                        if isinstance(ref, dict) and isinstance(ref.get("Ref"), str)
                    )
                    if entry.kind == "function" and isinstance(layers, list)
                    else (),
                    stack=stack,
                )
            )
        self._check_profiles(plan)
        self._check_unsigned_under_csc(plan)
        return plan

    def _check_profiles(self, plan: Plan) -> None:
        looked_up: dict[SigningProfileRef, dict[str, Any]] = {}  # one look-up per profile
        for artifact in plan.artifacts:
            if artifact.profile is None:
                continue
            if artifact.profile not in looked_up:
                looked_up[artifact.profile] = self.backend.get_signing_profile(
                    artifact.profile.profile_name, profile_owner=artifact.profile.profile_owner
                )
            profile = looked_up[artifact.profile]
            if profile["status"] != "Active":
                raise ValidationError(
                    f"--signing-profiles: {artifact.path}={artifact.profile.profile_name}: "
                    f"the profile is {profile['status']} and starts no signing job"
                )
            artifact.profile_version_arn = profile["profileVersionArn"]

    @staticmethod
    def _check_unsigned_under_csc(plan: Plan) -> None:
        """Unsigned code or layers of a function with a code signing config: refused under
        a known Enforce policy (Lambda would reject them), announced otherwise."""
        by_id = {artifact.logical_id: artifact for artifact in plan.artifacts}
        blocked: dict[str, str] = {}
        for artifact in plan.artifacts:
            if not artifact.csc.declared:
                continue
            unsigned = [] if artifact.profile is not None else [(artifact.path, "")]
            unsigned += [
                (by_id[ref].path, f" (a layer of {artifact.path})")
                for ref in artifact.layers
                if ref in by_id and by_id[ref].profile is None
            ]
            for logical_id, role in unsigned:
                if artifact.csc.enforced:
                    blocked.setdefault(logical_id, f"{logical_id}{role}")
                else:
                    plan.notices.append(
                        f"{logical_id}{role}: has a code signing config but no signing "
                        "profile was given; its code will be deployed unsigned"
                    )
        if blocked:
            raise ValidationError(
                f"--signing-profiles: {', '.join(blocked.values())} must be signed: their code "
                "signing config enforces signatures; add e.g. "
                f"'{next(iter(blocked))}=PROFILE' to --signing-profiles"
            )

    # --- run ----------------------------------------------------------------------------
    def run(self, plan: Plan) -> list[Packaged]:
        """Package every artifact, in parallel; progress goes to ``progress``."""
        self.artifact_dir.mkdir(parents=True, exist_ok=True)
        if plan.artifacts:
            self.destination.prepare()
        cache = PackageCache(self.artifact_dir)
        results: dict[str, Packaged] = {}
        total = len(plan.artifacts)
        try:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                futures = {
                    pool.submit(self._package_one, artifact, cache): artifact
                    for artifact in plan.artifacts
                }
                for done, future in enumerate(as_completed(futures), start=1):
                    packaged = future.result()
                    results[packaged.artifact.path] = packaged
                    what = ("signed" if packaged.job_id else "packaged") + (
                        " (cached)" if packaged.cached else ""
                    )
                    self.progress(f"[{done}/{total}] {what} {packaged.artifact.path}")
        finally:
            cache.save()
        return [results[a.path] for a in plan.artifacts]

    def _unsigned(self, artifact: Artifact, cache: PackageCache) -> tuple[Path, str, bool]:
        key = fingerprint(artifact.source)
        cached = cache.unsigned_for(key)
        if cached is not None:
            return cached, cached.stem, True
        try:
            data = package_bytes(artifact.source)
        except CodesignError as exc:
            raise ValidationError(f"{artifact.path}: {exc.message}") from None
        path = cache.store_unsigned(key, data)
        return path, path.stem, False

    def _package_one(self, artifact: Artifact, cache: PackageCache) -> Packaged:
        unsigned, digest, from_cache = self._unsigned(artifact, cache)
        if artifact.profile is None:
            placed = self.destination.place_unsigned(unsigned, digest)
            return self._with_verdict(Packaged(artifact, placed, digest, cached=from_cache))
        key = cache.signed_key(
            digest,
            artifact.profile.profile_name,
            artifact.profile.profile_owner,
            self.destination.cache_scope,
        )
        reusable = self._reusable(cache.signed_for(key), artifact)
        if reusable is not None:
            return self._with_verdict(reusable)
        token = hashlib.sha256(key.encode()).hexdigest()
        job = self._sign(artifact, unsigned, token)
        if not self._verifies(self.destination.signed(job), artifact):
            # The idempotent job's object was changed or removed since: sign anew.
            token = hashlib.sha256(f"{key}:{uuid.uuid4()}".encode()).hexdigest()
            job = self._sign(artifact, unsigned, token)
        location = self.destination.signed(job)
        cache.store_signed(
            key,
            {
                "jobId": job["jobId"],
                **self.destination.record(location),
                "signatureExpiresAt": job["signatureExpiresAt"],
            },
        )
        return self._with_verdict(
            Packaged(artifact, location, digest, job["jobId"], job["signatureExpiresAt"])
        )

    def _sign(self, artifact: Artifact, unsigned: Path, token: str) -> dict[str, Any]:
        assert artifact.profile is not None
        job = self.backend.sign_package(
            unsigned,
            self.destination.signing_destination,
            artifact.profile.profile_name,
            profile_owner=artifact.profile.profile_owner,
            client_request_token=token,
            now=self.now,
            prefix="signed_",
        )
        if job["status"] != "Succeeded":
            raise SigningJobFailed(
                f"{artifact.path}: signing job {job['jobId']} failed: "
                f"{job.get('statusReason')}",
                job_id=job["jobId"],
            )
        return job

    def _verifies(self, placed: Placed, artifact: Artifact) -> bool:
        """Whether a signed object is there, intact, by this profile, unexpired and
        unrevoked, as far as the backend can tell (a look-up that fails counts as not: the
        package is signed anew)."""
        if not self.destination.exists(placed) or artifact.profile_version_arn is None:
            return False
        check = CscPolicy((artifact.profile_version_arn,), "Enforce")
        try:
            verdict = self.backend.evaluate_package(
                self.destination.reference(placed), check, at=self.now
            )
        except CodesignError:
            return False
        return verdict.decision is Decision.ALLOW

    def _reusable(self, record: dict[str, Any] | None, artifact: Artifact) -> Packaged | None:
        placed = self.destination.from_record(record) if record is not None else None
        if record is None or placed is None or not self._verifies(placed, artifact):
            return None
        return Packaged(
            artifact,
            placed,
            "",
            record["jobId"],
            record["signatureExpiresAt"],
            cached=True,
        )

    def _with_verdict(self, packaged: Packaged) -> Packaged:
        """The verdict of the function's code signing config, when it is known; when the
        backend cannot tell (e.g. no permission to read the signing job), why not."""
        policy = packaged.artifact.csc.policy
        if policy is not None:
            try:
                packaged.verdict = self.backend.evaluate_package(
                    self.destination.reference(packaged.location),
                    policy,
                    at=self.now,
                    name=packaged.artifact.path,
                )
            except CodesignError as exc:
                packaged.verdict_unknown = exc.message
        return packaged


def rewrite(
    template: Template, results: list[Packaged], destination: ArtifactDestination
) -> Template:
    """Point each packaged resource at its (signed) object, as ``sam package`` does (see
    :meth:`ArtifactDestination.template_value`); ``results`` are this template's."""
    for packaged in results:
        artifact = packaged.artifact
        properties = template["Resources"][artifact.logical_id].setdefault("Properties", {})
        properties[artifact.entry.property] = destination.template_value(
            artifact.entry, packaged.location
        )
    return template
