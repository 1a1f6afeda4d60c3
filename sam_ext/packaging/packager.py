"""``sam-ext package``'s engine: plan, then zip and sign in parallel, then rewrite.

Everything that can be wrong with the inputs is found by :meth:`Packager.plan`, before a
single file is zipped, signed or written. The plan is the same for both backends; where
packages go is an :class:`~sam_ext.packaging.destination.ArtifactDestination` (a local
directory, or an S3 bucket and prefix).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.archive import BuiltPackage, build_package
from provider.backends.values import SigningJob, SigningProfile
from provider.errors import CodesignError, SigningJobFailed, ValidationError
from provider.statuses import ArtifactKind
from provider.verdict import (
    SEVERITY,
    ArtifactFacts,
    CscPolicy,
    Decision,
    Policy,
    Verdict,
    decide,
)
from provider.workers import run_all
from sam_ext.cdk.assembly import CdkAsset, CdkStack, strip_asset_metadata
from sam_ext.packaging.cache import PackageCache, UnsignedEntry, fingerprint
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

__all__ = ["LOCAL_BUCKET", "Artifact", "LayerUse", "Packaged", "Packager", "Plan", "rewrite"]


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
    #: The CDK file asset the code is made of (a template of a cloud assembly), if any.
    asset: CdkAsset | None = None

    @property
    def path(self) -> str:
        """``ChildStack/FunctionId`` in a nested stack, else the logical id."""
        return f"{self.stack}/{self.logical_id}" if self.stack else self.logical_id


@dataclass(frozen=True)
class LayerUse:
    """How a layer fares under the code signing config of one function that uses it:
    its verdict there, or why it cannot be known."""

    function: str
    verdict: Verdict | None = None
    unknown: str | None = None


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
    #: The signed object's facts, when they were established without the backend's
    #: verification (a sealed cache entry) or by it in full.
    facts: ArtifactFacts | None = None
    #: A layer's verdict under the config of each function (of its stack) that has one
    #: and uses it; ``verdict`` is then the worst of them.
    uses: tuple[LayerUse, ...] = ()


@dataclass
class Plan:
    """The artifacts to package, and what the user should know first."""

    artifacts: list[Artifact]
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Unsigned:
    """An artifact's unsigned package: on disk in the cache, and in memory when this
    process has just written it (then its CRCs and digest come from the writing)."""

    entry: UnsignedEntry
    cached: bool
    written: BuiltPackage | None = None


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
        #: Signed objects to seal once the run is over: (cache key, path, facts).
        self._to_seal: list[tuple[str, Path, dict[str, str]]] = []
        self._seal_lock = threading.Lock()
        #: One lock per signed-object cache key: artifacts of one content and signer (a
        #: function and a layer sharing a directory) are signed once and share the object.
        self._signing: dict[str, threading.Lock] = {}
        self._signing_lock = threading.Lock()

    # --- plan ---------------------------------------------------------------------------
    def plan(
        self,
        template: Template,
        template_dir: Path,
        profiles: dict[str, SigningProfileRef],
        parameters: dict[str, Any] | None = None,
        *,
        stack: str = "",
        cdk: CdkStack | None = None,
    ) -> Plan:
        """Find the artifacts; raise on bad input (unknown ids, unusable profiles, code a
        known Enforce config would reject because it is unsigned). ``stack`` is the path
        of the nested stack ``template`` is (see :mod:`sam_ext.packaging.nested`); ``cdk``
        the CDK stack whose template it is: a function's or layer's code named by a CDK
        file asset (``aws:asset:path``, or its ``S3Key`` in ``STACK.assets.json``) is
        packaged from the asset's source, as a local ``CodeUri`` is."""
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
                if entry.kind is ArtifactKind.FUNCTION
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
            asset = cdk.asset_of(logical_id, resource) if cdk is not None else None
            if asset is not None:
                source = asset.source  # checked inside the cloud assembly, and there
            else:
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
                        f"{name}: {entry.property} {value!r} does not exist (resolved to {source})"
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
                    if entry.kind is ArtifactKind.FUNCTION and isinstance(layers, list)
                    else (),
                    stack=stack,
                    asset=asset,
                )
            )
        self._check_profiles(plan)
        self._check_unsigned_under_csc(plan)
        return plan

    def _check_profiles(self, plan: Plan) -> None:
        looked_up: dict[SigningProfileRef, SigningProfile] = {}  # one look-up per profile
        for artifact in plan.artifacts:
            if artifact.profile is None:
                continue
            if artifact.profile not in looked_up:
                looked_up[artifact.profile] = self.backend.signing_profile(
                    artifact.profile.profile_name, profile_owner=artifact.profile.profile_owner
                )
            profile = looked_up[artifact.profile]
            if not profile.active:
                raise ValidationError(
                    f"--signing-profiles: {artifact.path}={artifact.profile.profile_name}: "
                    f"the profile is {profile.status} and starts no signing job"
                )
            artifact.profile_version_arn = profile.profile_version_arn

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
        total = len(plan.artifacts)

        def finished(_: Artifact, packaged: Packaged, done: int) -> None:
            what = ("signed" if packaged.job_id else "packaged") + (
                " (cached)" if packaged.cached else ""
            )
            self.progress(f"[{done}/{total}] {what} {packaged.artifact.path}")

        try:
            results = self._in_parallel(
                lambda a: self._package_one(a, cache), plan.artifacts, finished
            )
            self._seal(cache)
        finally:
            cache.save()
        self._judge_layers(results)
        return results

    def _in_parallel(
        self,
        work: Callable[[Artifact], Packaged],
        artifacts: list[Artifact],
        finished: Callable[[Artifact, Packaged, int], None] | None = None,
    ) -> list[Packaged]:
        """``work`` on every artifact, on up to ``jobs`` threads, the results in the
        artifacts' order (``finished`` told of each as it comes); after a failure no new
        artifact starts, and the first error is raised once the running ones end
        (:func:`provider.workers.run_all`)."""
        return run_all(work, artifacts, workers=self.jobs, name="package", finished=finished)

    def _seal(self, cache: PackageCache) -> None:
        """Seal the signed objects made or verified in full by this run, so the next run
        proves them unchanged without re-verifying them."""
        if not self._to_seal:
            return
        from provider.backends.local.seals import wait_until_sealable

        wait_until_sealable([path for _, path, _ in self._to_seal])
        for key, path, facts in self._to_seal:
            record = cache.signed_for(key)
            if record is None or self.destination.from_record(record) != path:
                continue  # replaced since (signed anew)
            seal = self.backend.seal_signed(path, facts, key)
            if seal is not None:
                cache.store_signed(key, {**record, "seal": seal})

    def _remember_to_seal(self, key: str, path: Placed, facts: dict[str, str]) -> None:
        if isinstance(path, Path):  # local signed objects (S3 objects are judged anew)
            with self._seal_lock:
                if all(known != key for known, _, _ in self._to_seal):
                    self._to_seal.append((key, path, facts))

    def _unsigned(self, artifact: Artifact, cache: PackageCache) -> _Unsigned:
        key = fingerprint(artifact.source)
        cached = cache.unsigned_for(key)
        if cached is not None:
            return _Unsigned(cached, True)
        try:
            if artifact.source.is_dir():
                built = build_package(artifact.source)
                data, digest, content = built.data, built.sha384, built.content_digest
            else:
                # A .zip given as the code is packaged as it is: its content is its bytes.
                data = artifact.source.read_bytes()
                digest = content = hashlib.sha384(data).hexdigest()
                built = None
        except CodesignError as exc:
            raise ValidationError(f"{artifact.path}: {exc.message}") from None
        except OSError as exc:
            raise ValidationError(
                f"{artifact.path}: cannot read {str(artifact.source)!r}: {exc.strerror}"
            ) from None
        path = cache.store_unsigned(key, data, digest=digest, content=content)
        return _Unsigned(UnsignedEntry(path, digest, content), False, built)

    def _package_one(self, artifact: Artifact, cache: PackageCache) -> Packaged:
        unsigned = self._unsigned(artifact, cache)
        digest = unsigned.entry.digest
        if artifact.profile is None:
            # Named by content: another compressor's bytes do not move the object.
            placed = self.destination.place_unsigned(unsigned.entry.path, unsigned.entry.content)
            # Zipped here from a directory, it carries no signature; a .zip given as the
            # code is judged by the backend (on aws it may carry one this project cannot read).
            known = ArtifactFacts(signed=False) if artifact.source.is_dir() else None
            return self._with_verdict(
                Packaged(artifact, placed, digest, cached=unsigned.cached, facts=known)
            )
        key = cache.signed_key(
            unsigned.entry.content,
            artifact.profile.profile_name,
            artifact.profile.profile_owner,
            self.destination.cache_scope,
        )
        with self._signing_lock:
            once = self._signing.setdefault(key, threading.Lock())
        # The same key is the same signed object, whichever resource asks: the first signs
        # it, the others wait and reuse it as the cache would on the next run (one job, one
        # client request token: the token is derived from the key).
        with once:
            return self._signed_one(artifact, unsigned, cache, key)

    def _signed_one(
        self, artifact: Artifact, unsigned: _Unsigned, cache: PackageCache, key: str
    ) -> Packaged:
        """The signed object of ``key`` for ``artifact``: reused from the cache, or signed."""
        assert artifact.profile is not None
        digest = unsigned.entry.digest
        reusable = self._reusable(cache.signed_for(key), artifact, key)
        if reusable is not None:
            return self._with_verdict(reusable)
        token = hashlib.sha256(key.encode()).hexdigest()
        job, started = self._sign(artifact, unsigned, token)
        # A job found again by its token signed earlier: its object may have been changed
        # or removed since (a job started now wrote it from the bytes checked above).
        if not started and not self._verifies(self.destination.signed(job), artifact):
            token = hashlib.sha256(f"{key}:{uuid.uuid4()}".encode()).hexdigest()
            job, _ = self._sign(artifact, unsigned, token)
        location = self.destination.signed(job)
        expires_at = job.signature_expires_at or ""  # a succeeded job's (see _sign)
        cache.store_signed(
            key,
            {
                "jobId": job.job_id,
                **self.destination.record(location),
                "signatureExpiresAt": expires_at,
            },
        )
        if artifact.profile_version_arn is not None:
            # Local jobs sign at their creation instant (the envelope's signedAt).
            self._remember_to_seal(
                key,
                location,
                {
                    "profileVersionArn": artifact.profile_version_arn,
                    "jobId": job.job_id,
                    "signedAt": job.created_at,
                    "signatureExpiresAt": expires_at,
                },
            )
        return self._with_verdict(Packaged(artifact, location, digest, job.job_id, expires_at))

    def _sign(self, artifact: Artifact, unsigned: _Unsigned, token: str) -> tuple[SigningJob, bool]:
        """Sign; returns the job and whether it was started now (``False`` when it may be
        a job found again by its token: its signed object must be checked)."""
        assert artifact.profile is not None
        profile = artifact.profile
        # The archive is checked as it is signed: one that cannot be signed fails the job
        # with the reason (raised below); ``written`` spares re-reading what was just zipped.
        job, started = self.backend.sign_archive(
            unsigned.entry.path,
            self.destination.signing_destination,
            profile.profile_name,
            written=unsigned.written,
            profile_owner=profile.profile_owner,
            client_request_token=token,
            now=self.now,
            prefix="signed_",
        )
        if not job.succeeded or job.signature_expires_at is None:
            raise SigningJobFailed(
                f"{artifact.path}: signing job {job.job_id} failed: {job.status_reason}",
                job_id=job.job_id,
            )
        return job, started

    def _verifies(self, placed: Placed, artifact: Artifact) -> bool:
        """Whether a signed object is there, intact, by this profile, unexpired and
        unrevoked, as far as the backend can tell (a look-up that fails counts as not: the
        package is signed anew)."""
        if not self.destination.exists(placed) or artifact.profile_version_arn is None:
            return False
        check = CscPolicy((artifact.profile_version_arn,), Policy.ENFORCE)
        try:
            verdict = self.backend.evaluate_package(
                self.destination.reference(placed), check, at=self.now
            )
        except CodesignError:
            return False
        return verdict.decision is Decision.ALLOW

    def _reusable(
        self, record: dict[str, Any] | None, artifact: Artifact, key: str
    ) -> Packaged | None:
        """The cached signed object, if it may be used: proven unchanged by its seal, or
        verified in full (then sealed for the next run); either way unexpired, unrevoked
        and by this profile version."""
        placed = self.destination.from_record(record) if record is not None else None
        if record is None or placed is None:
            return None
        facts = None
        if isinstance(placed, Path):  # a local signed object: the keystore's seal
            name = artifact.path
            facts = self.backend.sealed_facts(placed, record.get("seal"), key, name=name)
            sealed = facts is not None
            if facts is None:
                if not self.destination.exists(placed):
                    return None
                try:
                    facts = self.backend.file_facts(placed, name=name)
                except CodesignError:
                    return None
            if (
                facts.job_id != record["jobId"]
                or artifact.profile_version_arn is None
                or (
                    decide(
                        facts, CscPolicy((artifact.profile_version_arn,), Policy.ENFORCE), self.now
                    ).decision
                    is not Decision.ALLOW
                )
            ):
                return None
            if not sealed:  # verified in full: the next run need not
                self._remember_to_seal(key, placed, _seal_facts(facts))
        elif not self._verifies(placed, artifact):
            return None
        return Packaged(
            artifact,
            placed,
            "",
            record["jobId"],
            record["signatureExpiresAt"],
            cached=True,
            facts=facts,
        )

    def _with_verdict(self, packaged: Packaged) -> Packaged:
        """The verdict of the function's code signing config, when it is known; when the
        backend cannot tell (e.g. no permission to read the signing job), why not."""
        policy = packaged.artifact.csc.policy
        if policy is not None:
            packaged.verdict, packaged.verdict_unknown = self._judged(
                packaged, policy, packaged.artifact.path
            )
        return packaged

    def _judged(
        self, packaged: Packaged, policy: CscPolicy, name: str
    ) -> tuple[Verdict | None, str | None]:
        """The verdict of ``packaged`` under ``policy``, or why the backend cannot tell."""
        if packaged.facts is not None:
            return decide(replace(packaged.facts, name=name), policy, self.now), None
        try:
            reference = self.destination.reference(packaged.location)
            return self.backend.evaluate_package(reference, policy, at=self.now, name=name), None
        except CodesignError as exc:
            return None, exc.message

    def _judge_layers(self, results: list[Packaged]) -> None:
        """Judge each layer under the config of every function of its stack that uses it
        (a layer has no config of its own: Lambda checks it under the function's)."""
        for layer in results:
            if layer.artifact.entry.kind is not ArtifactKind.LAYER:
                continue
            uses: list[LayerUse] = []
            for user in results:
                function = user.artifact
                if (
                    function.stack != layer.artifact.stack
                    or layer.artifact.logical_id not in function.layers
                    or not function.csc.declared
                ):
                    continue
                if function.csc.policy is None:
                    uses.append(LayerUse(function.path, unknown=function.csc.unknown_reason))
                    continue
                name = f"{layer.artifact.path} (a layer of {function.path})"
                verdict, unknown = self._judged(layer, function.csc.policy, name)
                uses.append(LayerUse(function.path, verdict, unknown))
            layer.uses = tuple(uses)
            verdicts = [use.verdict for use in uses if use.verdict is not None]
            if verdicts:
                layer.verdict = max(verdicts, key=lambda v: SEVERITY.index(v.decision))


def _seal_facts(facts: ArtifactFacts) -> dict[str, str]:
    """What a seal records of verified facts (envelope names, instants as text)."""
    from provider.clock import format_instant

    assert facts.profile_version_arn and facts.job_id and facts.signed_at and facts.expires_at
    return {
        "profileVersionArn": facts.profile_version_arn,
        "jobId": facts.job_id,
        "signedAt": format_instant(facts.signed_at),
        "signatureExpiresAt": format_instant(facts.expires_at),
    }


def rewrite(
    template: Template, results: list[Packaged], destination: ArtifactDestination
) -> Template:
    """Point each packaged resource at its (signed) object, as ``sam package`` does (see
    :meth:`ArtifactDestination.template_value`); ``results`` are this template's. A CDK
    asset's metadata goes (the code is no longer the asset: tools reading it would package
    or judge the unsigned source); its construct path stays."""
    for packaged in results:
        artifact = packaged.artifact
        resource = template["Resources"][artifact.logical_id]
        properties = resource.setdefault("Properties", {})
        properties[artifact.entry.property] = destination.template_value(
            artifact.entry, packaged.location
        )
        if artifact.asset is not None:
            strip_asset_metadata(resource)
    return template
