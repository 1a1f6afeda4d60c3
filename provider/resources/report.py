"""What a preview says on each resource, and failing it once, at the end (program side).

The engine stops at the first resource whose ``check`` fails (pulumi/pulumi#16133), so a
rejection predicted in ``check`` is never a check failure here: each provider's ``check``
returns its findings as the ``findings`` output (plain data, known in a preview), and the
program reports every one of them on its resource, as a real diagnostic. When a preview
has reported at least one error, the program fails once, after every finding is out (a
:class:`pulumi.RunError`, so the CLI shows one line and exits non-zero). ``pulumi up``
previews first: its preview fails the same way, before any step runs.

A finding is ``{"level": "error" | "warning" | "info", "message": str}``.
"""

from __future__ import annotations

from typing import Any

import pulumi

#: Running totals of the errors reported: one per watched resource, each the sum of the
#: previous one and that resource's count.
_total: list[pulumi.Output[int]] = []

_LOGGERS = {"error": pulumi.log.error, "warning": pulumi.log.warn, "info": pulumi.log.info}


def finding(level: str, message: str) -> dict[str, str]:
    """One finding (``level``: ``error``, ``warning`` or ``info``)."""
    return {"level": level, "message": message}


def _log(resource: pulumi.Resource, findings: Any) -> int:
    errors = 0
    for item in findings or []:
        level = str(item.get("level"))
        _LOGGERS.get(level, pulumi.log.info)(str(item.get("message")), resource)
        errors += level == "error"
    return errors


def _fail_if_last(index: int, total: int) -> None:
    # Every watch adds a later total; only the last one (all resources of the program are
    # registered before any output resolves) decides, after all findings are logged.
    if index == len(_total) and total:
        raise pulumi.RunError(
            f"code signing: {total} deploy(s) in this update would be rejected (each is named "
            "above, with the check, Lambda's exception and a remedy); nothing was changed"
        )


def watch(resource: pulumi.Resource, findings: pulumi.Output[Any]) -> None:
    """In a preview, report ``findings`` on ``resource``; fail the run at its end if any
    of them, on any resource, is an error. Outside a preview, do nothing: there the steps
    themselves (Lambda's checks) accept or reject each deploy."""
    if not pulumi.runtime.is_dry_run():
        return
    count = findings.apply(lambda items: _log(resource, items))
    total = count if not _total else pulumi.Output.all(_total[-1], count).apply(sum)
    _total.append(total)
    index = len(_total)
    total.apply(lambda value: _fail_if_last(index, value))
