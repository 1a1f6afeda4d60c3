"""What will Lambda do with each of these packages? Ask ``pulumi preview``.

Config: ``policy`` (``Warn``, the default, or ``Enforce``) and ``include`` (comma-separated
kinds, default every kind but ``tampered``; see fixtures.KINDS). Under Warn the preview
shows one function allowed and the others deploying with warnings; a tampered package,
or anything untrusted under Enforce, is an error naming the function, the check, Lambda's
exception and a remedy, and one preview names every one of them before it fails.
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).parent))

from fixtures import KINDS, prepare

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    LambdaFunction,
    LambdaFunctionArgs,
)

config = pulumi.Config()
codesign = pulumi.Config("codesign")
source = Path(__file__).parent / ".." / ".." / "functions" / "hello"
fixtures = prepare(codesign.get("home"), source)
included = [k.strip() for k in (config.get("include") or ",".join(KINDS[:-1])).split(",")]

csc = CodeSigningConfig(
    "policy",
    CodeSigningConfigArgs(
        allowed_publishers=fixtures["allowed_publishers"],
        policy=config.get("policy") or "Warn",
        description="trusted, shortlived and retired publishers",
    ),
)


def one_line(verdict: dict | None) -> str:
    """A predicted verdict in a few words: the decision and the checks that fail (the
    findings on each function say the rest: why, Lambda's exception, the remedy)."""
    if not verdict:
        return "no code signing config"
    checks = [a["checks"] for a in verdict["artifacts"]]
    failed = sorted({name for c in checks for name, state in c.items() if state == "FAILED"})
    return verdict["decision"] + (f" ({', '.join(failed)})" if failed else "")


verdicts = {}
for kind in included:
    function = LambdaFunction(
        kind.replace("_", "-"),
        LambdaFunctionArgs(code=fixtures["packages"][kind], code_signing_config=csc),
    )
    verdicts[kind] = function.predicted_verdict.apply(one_line)
# One line per function; each function's predicted_verdict output has the details.
pulumi.export("verdicts", verdicts)
