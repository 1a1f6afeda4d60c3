"""The one place that chooses the deflate implementation (and CRC-32) for zips.

ISA-L (the ``isal`` package, pinned in pyproject.toml) when it is installed: level 2
deflates source code 13 to 18 times faster than zlib's level 6 for zips about 5% larger,
inflates about twice as fast and takes CRC-32s ten times as fast (BENCHMARKS.md). Where
``isal`` has no wheel, Python's zlib at level 1 (about 5 times faster than level 6, zips
about 13% larger than ISA-L's). Both write standard raw deflate streams that ``unzip``,
:mod:`zipfile` and Lambda read.

``CODESIGN_DEFLATE=zlib`` forces the fallback (to compare the two, or to reproduce a zip
made on a machine without ISA-L). The choice never decides whether code changed: that is
the source's content digest (see :mod:`provider.archive`), so a different compressor
never re-signs unchanged code.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import cast

from provider.errors import CodesignError

ENV = "CODESIGN_DEFLATE"


class InflateError(CodesignError):
    """A deflate stream that does not inflate to exactly the declared size."""

    code = "InflateError"


@dataclass(frozen=True)
class Deflate:
    """A deflate implementation: raw streams (no zlib header), as zip members hold them."""

    name: str
    compress: Callable[[bytes], bytes]
    crc32: Callable[[bytes | memoryview], int]
    _decompressobj: Callable[[], object]
    #: What the inflater raises for a stream that is not deflate (``zlib.error``, ISA-L's
    #: ``IsalError``).
    _stream_errors: tuple[type[Exception], ...] = (zlib.error,)

    def inflate(self, stream: bytes | memoryview, size: int) -> bytes:
        """Inflate ``stream`` to exactly ``size`` bytes; never produces more than
        ``size + 1`` bytes, whatever the stream says (a "zip bomb" stops there)."""
        inflater = self._decompressobj()
        try:
            out: bytes = inflater.decompress(stream, size + 1)  # type: ignore[attr-defined]
        except self._stream_errors as exc:
            raise InflateError(str(exc)) from None
        if len(out) != size or not inflater.eof:  # type: ignore[attr-defined]
            raise InflateError(f"it inflates to a size other than the declared {size} bytes")
        return out


def _zlib(level: int) -> Deflate:
    return Deflate(
        f"zlib-{level}",
        lambda data: zlib.compress(data, level, wbits=-15),
        zlib.crc32,
        lambda: zlib.decompressobj(wbits=-15),
    )


@cache
def implementation() -> Deflate:
    """The deflate this process uses (ISA-L level 2, else zlib level 1)."""
    if os.environ.get(ENV, "").strip().lower() != "zlib":
        try:
            from isal import isal_zlib
        except ImportError:
            pass
        else:
            return Deflate(
                "isal-2",
                lambda data: isal_zlib.compress(data, 2, wbits=-15),
                isal_zlib.crc32,
                lambda: isal_zlib.decompressobj(wbits=-15),
                # (isal's stub says ``error: Exception``; it is the class IsalError)
                (cast("type[Exception]", isal_zlib.error),),
            )
    return _zlib(1)
