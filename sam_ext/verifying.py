"""What ``sam-ext verify`` does once its options are read, without click: the one piece the
click command (:mod:`sam_ext.commands.verify`) and the start-up fast path
(:mod:`sam_ext.fast`) both run."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from provider.backends.base import csc_policy
from provider.clock import parse_instant
from provider.errors import ValidationError
from provider.verdict import CscPolicy, Decision, decide
from sam_ext.entry import EXIT_FAILED
from sam_ext.output import emit, say, warn

if TYPE_CHECKING:
    from provider.trust import TrustFile
    from sam_ext.context import CliContext


def load_csc_file(path: Path) -> CscPolicy:
    """The verdict inputs of a ``--csc-file`` (a Create request or a Get response)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"--csc-file: {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--csc-file: cannot read {str(path)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--csc-file: {str(path)!r} is not JSON ({exc.msg})") from None
    return csc_policy(document)


def verify_package(
    ctx: CliContext,
    package: str,
    *,
    code_signing_config_arn: str | None,
    csc_file: Path | None,
    at_text: str | None,
    load_trust: Callable[[datetime], TrustFile | None],
) -> int:
    """Print PACKAGE's verdict under exactly one of ``code_signing_config_arn`` and
    ``csc_file``; returns the exit status (1 for REJECT, and for UNKNOWN: Lambda may
    refuse what is not known to pass). ``load_trust`` reads the ``--trust-file`` options,
    given the instant judged at (after ``--at``, so a bad ``--at`` is said first)."""
    at = parse_instant(at_text, field="--at") if at_text else ctx.now
    trust = load_trust(at)
    policy = (
        load_csc_file(csc_file)
        if csc_file is not None
        else ctx.backend.csc_policy_of(code_signing_config_arn or "")
    )
    if trust is not None:
        # The keystore is not opened: the trust file alone vouches for publishers.
        verdict = decide(trust.facts_of(Path(package), name=package), policy, at)
    else:
        verdict = ctx.backend.evaluate_package(package, policy, at=at, name=package)
    # Not schema-checked here: the verdict is built by decide() from typed data, and its
    # schema is checked by the tests of every verdict kind (tests/provider/test_verdict.py,
    # each CLI verify test); jsonschema's import would be most of a verify's CPU time.
    emit(verdict.to_document())
    if verdict.decision is Decision.WARN:
        warn(verdict.message)
    elif verdict.decision is Decision.REJECT:
        say(f"rejected: {verdict.message}")
        return EXIT_FAILED
    elif verdict.decision is Decision.UNKNOWN:
        say(f"not known to deploy: {verdict.message}")
        return EXIT_FAILED
    return 0
