"""Code comments cite the repository's own docs/architecture.md, by a section it has; never
a design document that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
#: ``docs/architecture.md, "Section"`` (a citation may also name no section).
CITATION = re.compile(r'docs/architecture\.md(?:, "([^"]+)")?')


def _sources() -> list[Path]:
    """The code that may cite it (this file, which spells citations out, aside)."""
    return [
        path
        for folder in ("provider", "sam_ext", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.resolve() != Path(__file__).resolve()
    ]


def test_comments_cite_sections_the_architecture_document_has() -> None:
    sections = set(re.findall(r"^## (.+)$", DOC.read_text(), flags=re.MULTILINE))
    cited: dict[str, list[str]] = {}
    for path in _sources():
        for section in CITATION.findall(path.read_text()):
            if section:
                cited.setdefault(section, []).append(str(path.relative_to(ROOT)))
    assert cited, "no code cites docs/architecture.md"
    missing = {section: where for section, where in cited.items() if section not in sections}
    assert missing == {}


def test_no_comment_cites_a_design_document_outside_the_repository() -> None:
    citing = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if re.search(r"\bDESIGN\.md\b", path.read_text())
    ]
    assert citing == []
