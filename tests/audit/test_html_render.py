"""render_html without a browser: the page's edge cases (nothing to show, no window, expired
and far-off signatures, more expiries than the plot draws) and markup in any value of the
document staying text. The page in a real browser: test_html_report.py."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

from audit_documents import AUDITED_AT, audit_document

from sam_ext.audit.html import CSP, PLOT_ROWS, render_html

#: Keys whose values are times or durations the page computes with (kept parseable).
TIMES = {"audited_at", "horizon", "within", "signed_at", "signature_expires_at", "expires_at"}
#: Markup for text (an element) and for attribute values (closing the quote, adding one).
MARKUP = '<i data-injected>\'&" data-injected="1'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def tags_of(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def _poison(value: Any, key: str = "") -> Any:
    """Every string of the document (times aside) prefixed with markup."""
    if isinstance(value, dict):
        return {k: _poison(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, key) for v in value]
    if isinstance(value, str) and key not in TIMES:
        return MARKUP + value
    return value


def test_markup_in_any_value_stays_text() -> None:
    document = _poison(audit_document())
    page = render_html(document)
    parsed = tags_of(page)
    assert [tag for tag, _ in parsed.tags if tag == "i"] == []
    assert all("data-injected" not in attrs for _, attrs in parsed.tags)
    assert [tag for tag, _ in parsed.tags if tag == "script"] == ["script"]
    # ... and shown as written: the function names, the messages, the config notes.
    text = "".join(parsed.text)
    for function in document["functions"]:
        assert function["function_name"] in text
        assert function["message"] in text
    assert MARKUP + "No function uses this config." in text


def test_a_document_with_nothing_to_show() -> None:
    page = render_html(
        {
            "audited_at": AUDITED_AT,
            "within": None,
            "horizon": None,
            "backend": "aws",
            "regions": ["us-east-1"],
            "complete": True,
            "summary": {
                "functions": 0,
                "by_standing": dict.fromkeys(
                    ("ALLOW", "WARN", "REJECT", "UNKNOWN", "NO_CONFIG", "ERROR"), 0
                ),
                "expiring_within": 0,
                "code_signing_configs": 0,
            },
            "functions": [],
            "code_signing_configs": [],
            "expiries": [],
        }
    )
    text = "".join(tags_of(page).text)
    assert "No functions." in text and "No code signing configs." in text
    assert "No signature expiries." in text
    assert "no window given (--within)" in text
    (meta,) = re.findall(r'<p class="meta">(.*?)</p>', page)
    assert "backend <b>aws</b>" in meta and "window" not in meta
    assert "Incomplete audit" not in text
    assert f'content="{CSP}"'.replace("'", "&#x27;") in page


def test_expired_and_far_off_signatures_in_the_plot() -> None:
    document = copy.deepcopy(audit_document())
    document["expiries"].insert(
        0,
        {
            "region": "eu-west-1",
            "function_name": "search",
            "artifact": "code",
            "arn": "arn:aws:lambda:eu-west-1:123456789012:function:search",
            "expires_at": "2026-11-30T12:00:00Z",
            "within_window": False,
        },
    )
    page = render_html(document)
    marks = re.findall(r'<(circle|path) class="mark (\w+)"', page)
    assert marks[0] == ("circle", "expired")  # drawn at the left edge, in the reject colour
    assert marks[1:3] == [("circle", "inside"), ("circle", "inside")]
    # 2028-02-01 is far past the plotted span (3 windows): an arrow in the "later" gutter.
    assert marks[-1] == ("path", "outside")
    assert ">later<" in page and ">window 30d<" in page


def test_the_plot_draws_the_soonest_and_the_table_lists_all() -> None:
    document = copy.deepcopy(audit_document())
    many = [
        {
            "region": "us-east-1",
            "function_name": f"fn-{n:03d}",
            "artifact": "code",
            "arn": f"arn:aws:lambda:us-east-1:123456789012:function:fn-{n:03d}",
            "expires_at": f"2027-01-{1 + n % 28:02d}T00:00:00Z",
            "within_window": n % 28 < 3,
        }
        for n in range(PLOT_ROWS + 15)
    ]
    document["expiries"] = sorted(many, key=lambda e: str(e["expires_at"]))
    page = render_html(document)
    assert page.count('<g class="expiry ') == PLOT_ROWS
    assert f"The plot shows the {PLOT_ROWS} soonest; 15 more in the table." in page
    table = page.split('<table id="expiries">')[1].split("</table>")[0]
    assert table.count("<tr") == PLOT_ROWS + 15 + 1  # and its header


def test_the_page_prints() -> None:
    page = render_html(audit_document())
    assert "@media print" in page and "print-color-adjust: exact" in page
    # details (each function's artifacts, the expiry table) open before printing
    assert 'addEventListener("beforeprint"' in page


def test_regions_that_could_not_be_read_are_named() -> None:
    document = copy.deepcopy(audit_document())
    document["region_errors"] = [
        {"region": "ap-south-2", "error": "UnrecognizedClientException: <bad token>"}
    ]
    page = render_html(document)
    (banner,) = re.findall(r'<ul class="incomplete region-errors">(.*?)</ul>', page)
    assert banner == ("<li><b>ap-south-2</b>: UnrecognizedClientException: &lt;bad token&gt;</li>")
    assert "region-errors" not in render_html(audit_document()).split("<body>")[1]


def test_each_function_details_its_artifacts() -> None:
    page = render_html(audit_document())
    orders = page.split('data-function="orders"')[1].split("</tr>")[0]
    assert "<summary>code + 1 layer</summary>" in orders
    assert "job 7c1d2e3f-0000-4000-8000-000000000005" in orders
    assert "arn:aws:lambda:us-east-1:123456789012:layer:deps:3" in orders
    resizer = page.split('data-function="image-resizer"')[1].split("</tr>")[0]
    assert "code changed since signing" in resizer


def test_the_pages_sample_documents_are_audit_reports() -> None:
    """The documents the page is tested with are what `sam-ext audit --output json` may
    print: valid against its schema (so the page is tested on the real shape)."""
    from provider import schemas

    for hostile in (False, True):
        schemas.validate(audit_document(hostile=hostile), "audit-report", what="sample report")
