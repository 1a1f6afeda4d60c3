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
for kind in included:
    function = LambdaFunction(
        kind.replace("_", "-"),
        LambdaFunctionArgs(code=fixtures["packages"][kind], code_signing_config=csc),
    )
    pulumi.export(f"{kind}_predicted_verdict", function.predicted_verdict)
