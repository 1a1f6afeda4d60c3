"""The README's screenshot of the audit's HTML report, docs/images/audit-report.png: the
realistic document of :mod:`audit_documents` rendered by
:func:`sam_ext.audit.html.render_html`, in headless Chromium (scripts/install-chromium.sh).

Regenerate it (after changing the page) from the repository's root with:

    PYTHONPATH=. .venv/bin/python tests/audit_screenshot.py

tests/audit/test_html_report.py checks the committed file is a PNG of :data:`SIZE` under
200 KB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from audit_documents import audit_document
from headless_chromium import chromium_with_proxy

from sam_ext.audit.html import render_html

README_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "audit-report.png"
#: The browser window: the summary, the table and the top of the plot.
SIZE = (1280, 900)


def make_screenshot(out: Path = README_SCREENSHOT) -> int:
    """Render, screenshot into ``out``; its size in bytes."""
    with tempfile.TemporaryDirectory(prefix="audit-report-") as scratch:
        page = Path(scratch) / "audit-report.html"
        page.write_text(render_html(audit_document()), encoding="utf-8")
        with chromium_with_proxy() as chromium:
            data = chromium.screenshot(page.as_uri(), Path(scratch) / "shot.png", *SIZE)
            assert chromium.proxy.connections == [], chromium.proxy.connections
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else README_SCREENSHOT
    print(f"{target}: {make_screenshot(target)} bytes")
