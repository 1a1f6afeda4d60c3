"""The ``sam-ext`` console script: a start-up fast path for the plainest ``verify``, then
the click CLI (:func:`sam_ext.cli.main`) for everything else.

A ``verify`` of a package is mostly Python's start-up, and click's import is a tenth of a
verify's CPU time (BENCHMARKS.md (b)). So the one shape scripts run per package, ``sam-ext
[--home DIR] [--region R] [--backend local] [--now T] verify PACKAGE
(--code-signing-config-arn ARN | --csc-file FILE) [--at T]``, each option given once as two
words, is read here without click, and runs the same code the click command runs
(:func:`sam_ext.verifying.verify_package`), printing as click prints
(:func:`sam_ext.output.echo`). Anything else, help, ``--version``, an unknown, repeated or
``--opt=value`` option, a value that starts with ``-``, ``--trust-file``, ``--backend aws``,
shell completion, Windows, goes to click unread, so its behaviour, help and errors are click's own.
The global options, the environment variables they default from and how a run ends (what
a raised error becomes: an exit status and one line) are :mod:`sam_ext.entry`'s, which the
click CLI uses too. tests/sam_ext/test_fast_path.py runs argument lists both ways and
compares what they print, their exit status and what they leave in the keystore.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sam_ext.entry import COMPLETION_ENV, GLOBAL_OPTIONS, run

#: The options of ``verify`` the fast path reads (the global ones: ``GLOBAL_OPTIONS``).
_VERIFY = ("--code-signing-config-arn", "--csc-file", "--at")


class PlainVerify:
    """A ``verify`` command line the fast path runs: the options as click would give them.
    (A plain class: a NamedTuple or dataclass costs a millisecond to define.)"""

    def __init__(
        self,
        *,
        home: str | None,
        region: str | None,
        now_text: str | None,
        package: str,
        code_signing_config_arn: str | None,
        csc_file: Path | None,
        at_text: str | None,
    ) -> None:
        self.home, self.region, self.now_text = home, region, now_text
        self.package, self.at_text = package, at_text
        self.code_signing_config_arn, self.csc_file = code_signing_config_arn, csc_file


def _options(words: list[str], names: tuple[str, ...]) -> tuple[dict[str, str], list[str]] | None:
    """``--name value`` pairs and the other words, or ``None`` for anything else."""
    options: dict[str, str] = {}
    others: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in names:
            if word in options or index + 1 == len(words):
                return None
            value = words[index + 1]
            if not value or value.startswith("-"):
                return None
            options[word] = value
            index += 2
        elif not word or word.startswith("-"):
            return None
        else:
            others.append(word)
            index += 1
    return options, others


def _env(name: str | None) -> str | None:
    """An option's environment default as click reads it (empty means unset)."""
    return (os.environ.get(name) or None) if name else None


def plain_verify(argv: list[str]) -> PlainVerify | None:
    """``argv`` read as click would read it, when it is the plain ``verify`` shape; else
    ``None`` (then click reads it)."""
    if os.name == "nt" or os.environ.get(COMPLETION_ENV) or "verify" not in argv:
        return None  # on Windows click expands wildcards in sys.argv
    split = argv.index("verify")
    read = _options(argv[:split], tuple(GLOBAL_OPTIONS))
    if read is None or read[1]:
        return None
    given = read[0]
    if given.get("--backend", _env(GLOBAL_OPTIONS["--backend"]) or "local") != "local":
        return None
    rest = _options(argv[split + 1 :], _VERIFY)
    if rest is None or len(rest[1]) != 1:
        return None
    options, (package,) = rest
    arn, csc_file = options.get("--code-signing-config-arn"), options.get("--csc-file")
    if (arn is None) == (csc_file is None):
        return None  # click says the usage error
    if csc_file is not None and os.path.exists(csc_file) and not os.access(csc_file, os.R_OK):
        return None  # click.Path says it is not readable
    return PlainVerify(
        home=given.get("--home", _env(GLOBAL_OPTIONS["--home"])),
        region=given.get("--region", _env(GLOBAL_OPTIONS["--region"])),
        now_text=given.get("--now", _env(GLOBAL_OPTIONS["--now"])),
        package=package,
        code_signing_config_arn=arn,
        csc_file=None if csc_file is None else Path(csc_file),
        at_text=options.get("--at"),
    )


def _run(plain: PlainVerify) -> int:
    from sam_ext.context import CliContext
    from sam_ext.verifying import verify_package

    ctx = CliContext(
        home=plain.home, region=plain.region, backend_name="local", now_text=plain.now_text
    )
    return verify_package(
        ctx,
        plain.package,
        code_signing_config_arn=plain.code_signing_config_arn,
        csc_file=plain.csc_file,
        at_text=plain.at_text,
        load_trust=lambda at: None,
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``sam-ext``; returns (and, as a console script, exits with) the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    plain = plain_verify(args)
    if plain is None:
        from sam_ext.cli import main as click_main

        return click_main(argv)  # as given: click reads sys.argv itself when None
    return run(lambda: _run(plain))


if __name__ == "__main__":
    sys.exit(main())
