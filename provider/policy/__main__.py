"""Two entry points in one file, told apart by how Python runs it.

- ``python -m provider.policy`` prints the pack's directory (for ``--policy-pack``).
- Pulumi runs the pack as ``python -m pulumi.policy ... PACK_DIR``, which executes this file
  with :func:`runpy.run_path` on the directory (no package, so ``__spec__`` is not this
  module's): then it serves the policy pack until the engine stops it.
"""

from __future__ import annotations

import sys

_AS_MODULE = __spec__ is not None and __spec__.name == "provider.policy.__main__"


def _print_path() -> None:
    from provider.policy import pack_path

    sys.stdout.write(f"{pack_path()}\n")


def _serve() -> None:
    from provider.policy.policies import serve

    serve()


if _AS_MODULE:
    _print_path()
else:
    _serve()
