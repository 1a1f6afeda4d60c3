"""The audit's HTML report (``sam-ext audit --html``) opened in real headless Chromium (the
system package, scripts/install-chromium.sh): a screenshot that is a drawn page, the counts and
every function read from the DOM after the page's script ran, ``#sort=`` ordering the rows,
markup in the document staying text, the page readable with JavaScript off, and no request
leaving the page (every connection the browser opens goes through a recording proxy).

The document is built by hand from the audit's JSON shape (tests/audit_documents.py)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from audit_documents import HOSTILE_MESSAGE, HOSTILE_NAME, audit_document
from audit_screenshot import README_SCREENSHOT, SIZE
from headless_chromium import Chromium, chromium_with_proxy, free_port_refuses, read_png

from sam_ext.audit.html import CSP, render_html

pytestmark = pytest.mark.timeout(300)

#: The rows worst first (the page's order without #sort, and with JavaScript off).
DEFAULT_ORDER = [
    "search",
    "payments",
    "image-resizer",
    "billing-export",
    "inventory",
    HOSTILE_NAME,
    "legacy-report",
    "cron-cleanup",
    "checkout",
    "audit-log",
    "orders",
]

#: The rows by name (``<`` sorts before letters).
NAME_ORDER = [
    HOSTILE_NAME,
    "audit-log",
    "billing-export",
    "checkout",
    "cron-cleanup",
    "image-resizer",
    "inventory",
    "legacy-report",
    "orders",
    "payments",
    "search",
]


# --- a small DOM from the serialised page ------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Element:
    """An element of the parsed page: tag, attributes, children (elements and text)."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Element | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.walk()
            if (tag is None or e.tag == tag)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, ident: str) -> Element:
        (found,) = self.find_all(id=ident)
        return found

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def function_rows(dom: Element) -> list[Element]:
    (body,) = dom.by_id("functions").find_all("tbody")
    return body.find_all("tr")


def row_names(dom: Element) -> list[str]:
    return [row.find_all("span", **{"class": "name"})[0].text() for row in function_rows(dom)]


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return audit_document(hostile=True)


@pytest.fixture(scope="module")
def page(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "audit-report.html"
    path.write_text(render_html(document), encoding="utf-8")
    return path


@pytest.fixture
def browser() -> Iterator[Chromium]:
    """Chromium behind a recording proxy; the test ends with the proxy having seen nothing."""
    with chromium_with_proxy() as chromium:
        yield chromium
        assert chromium.proxy.connections == [], "a request left the page"


# --- the tests ---------------------------------------------------------------------------


def test_the_screenshot_is_the_drawn_page(browser: Chromium, page: Path, tmp_path: Path) -> None:
    data = browser.screenshot(page.as_uri(), tmp_path / "shot.png", 1280, 1800)
    png = read_png(data)
    assert (png.width, png.height) == (1280, 1800)
    assert len(png.colours) > 200  # text, badges, the plot: not a blank or one-colour page
    white = png.colours[(255, 255, 255)]
    assert white < 0.95 * png.width * png.height
    # The page's own colours, drawn as solid areas: the REJECT, ALLOW and ERROR badges and
    # the shaded window of the expiry plot.
    for colour in [(0xB4, 0x23, 0x18), (0x06, 0x76, 0x47), (0x69, 0x41, 0xC6), (0xFE, 0xF0, 0xC7)]:
        assert png.colours[colour] > 100, colour


def test_the_dom_shows_the_counts_and_every_function(
    browser: Chromium, page: Path, document: dict[str, Any]
) -> None:
    dom = parse(browser.dom(page.as_uri()))
    counts = {
        e.attrs["id"].removeprefix("count-"): e.find_all("span", **{"class": "n"})[0].text()
        for e in dom.find_all("li")
        if e.attrs.get("id", "").startswith("count-")
    }
    assert counts == {
        "REJECT": "3",
        "ERROR": "1",
        "UNKNOWN": "1",
        "WARN": "2",
        "NO_CONFIG": "1",
        "ALLOW": "3",
        "functions": "11",
        "expiring": "2",
        "configs": "4",
    }
    assert "expiring within 30d" in dom.by_id("count-expiring").text()
    # After the page's script ran, it still links only to itself.
    links = [v for e in dom.walk() for k, v in e.attrs.items() if k in ("src", "href")]
    assert links and all(link.startswith("#sort=") for link in links), links

    rows = function_rows(dom)
    assert row_names(dom) == DEFAULT_ORDER
    by_name = {row.attrs["data-function"]: row for row in rows}
    for function in document["functions"]:
        cells = [td.text() for td in by_name[function["function_name"]].find_all("td")]
        assert cells[0].startswith(function["standing"])
        assert cells[1] == function["function_name"]
        assert cells[2] == function["region"]
        assert function["message"] in cells[5]
        if function["remedy"]:
            assert cells[6] == function["remedy"]
        if function["exception"]:
            assert function["exception"] in cells[5]
        if function["error"]:
            assert function["error"] in cells[5]
    checkout = [td.text() for td in by_name["checkout"].find_all("td")]
    assert checkout[0] == "ALLOW→ REJECT by 2027-01-04"
    assert checkout[3].startswith("Enforcecsc-0a1b2c3d4e5f6a7b8")
    assert checkout[7].startswith("shop/Ab12Cd34Ef")
    assert checkout[8] == "2026-12-20in 14 d"
    assert "4 SignatureValidationErrors" in by_name["legacy-report"].find_all("td")[3].text()

    config_rows = [r for r in dom.by_id("configs").find_all("tr") if "data-config" in r.attrs]
    assert [r.attrs["data-config"] for r in config_rows] == [
        c["arn"] for c in document["code_signing_configs"]
    ]
    warn = config_rows[1].text()
    assert "Warn" in warn and "legacy-report" in warn and "Enforce would block" in warn
    assert "unused" in config_rows[3].text() and "Canceled" in config_rows[3].text()

    plotted = dom.by_id("timeline").find_all("g", **{"class": "expiry inside"})
    assert [g.find_all("title")[0].text().split(" · ")[0] for g in plotted] == [
        "checkout",
        "audit-log",
    ]
    assert len(dom.by_id("timeline").find_all("g")) == len(document["expiries"])
    expiry_rows = dom.by_id("expiries").find_all("tr")[1:]
    assert [r.find_all("td")[2].text() for r in expiry_rows] == [
        e["function_name"] for e in document["expiries"]
    ]


@pytest.mark.parametrize(
    ("fragment", "expected", "header"),
    [
        ("#sort=standing", DEFAULT_ORDER, ("standing", "ascending")),
        ("#sort=name", NAME_ORDER, ("name", "ascending")),
        (
            # Soonest last; functions without a signature expiry always last (worst first).
            "#sort=-expiry",
            [
                "image-resizer",
                "payments",
                "orders",
                "audit-log",
                "checkout",
                "search",
                "billing-export",
                "inventory",
                HOSTILE_NAME,
                "legacy-report",
                "cron-cleanup",
            ],
            ("expiry", "descending"),
        ),
        (
            "#sort=region",
            [
                "search",
                "image-resizer",
                "billing-export",
                "inventory",
                "payments",
                HOSTILE_NAME,
                "legacy-report",
                "cron-cleanup",
                "checkout",
                "audit-log",
                "orders",
            ],
            ("region", "ascending"),
        ),
        (
            # Best first: what stays allowed, then what worsens by the horizon, ...
            "#sort=-standing",
            [
                "orders",
                "checkout",
                "audit-log",
                "cron-cleanup",
                HOSTILE_NAME,
                "legacy-report",
                "inventory",
                "billing-export",
                "search",
                "payments",
                "image-resizer",
            ],
            ("standing", "descending"),
        ),
    ],
    ids=["standing", "name", "-expiry", "region", "-standing"],
)
def test_a_sort_fragment_orders_the_rows(
    browser: Chromium,
    page: Path,
    fragment: str,
    expected: list[str],
    header: tuple[str, str],
) -> None:
    dom = parse(browser.dom(page.as_uri() + fragment))
    assert row_names(dom) == expected
    key, direction = header
    heads = {th.attrs["data-key"]: th for th in dom.by_id("functions").find_all("th")}
    assert heads[key].attrs["aria-sort"] == direction
    assert {k for k, th in heads.items() if th.attrs["aria-sort"] != "none"} == {key}
    # The header now links to the other direction (a click there sorts the other way).
    link = heads[key].find_all("a")[0].attrs["href"]
    assert link == ("#sort=" + key if direction == "descending" else "#sort=-" + key)


def test_clicking_a_header_sorts_by_its_column(browser: Chromium, page: Path) -> None:
    names = "Array.from(document.querySelectorAll('#functions tbody tr'), r => r.dataset.function)"
    sorted_by = "document.getElementById('functions').dataset.sorted"
    with browser.page(page.as_uri()) as tab:
        assert tab.evaluate(names) == DEFAULT_ORDER
        tab.click('#functions th[data-key="name"] a')
        tab.wait_for(f"{sorted_by} === 'name'")
        assert tab.evaluate("location.hash") == "#sort=name"  # a link to share this order
        assert tab.evaluate(names) == NAME_ORDER
        tab.click('#functions th[data-key="name"] a')  # again: the other way
        tab.wait_for(f"{sorted_by} === '-name'")
        assert tab.evaluate(names) == list(reversed(NAME_ORDER))
        assert (
            tab.evaluate(
                "document.querySelector('#functions th[data-key=name]').getAttribute('aria-sort')"
            )
            == "descending"
        )
        tab.click('#functions th[data-key="standing"] a')  # back to worst first
        tab.wait_for(f"{sorted_by} === 'standing'")
        assert tab.evaluate(names) == DEFAULT_ORDER


def test_the_page_prints(browser: Chromium, page: Path) -> None:
    expiry_table = "document.querySelector('#timeline-section details').open"
    with browser.page(page.as_uri()) as tab:
        assert tab.evaluate(expiry_table) is False
        answer = tab.devtools.send(
            "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}, tab.session
        )
        pdf = base64.b64decode(answer["data"])
        assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2
        assert tab.evaluate(expiry_table) is True  # opened for printing
        tab.devtools.send("Emulation.setEmulatedMedia", {"media": "print"}, tab.session)
        style = "getComputedStyle(document.querySelector({!r})).{}"
        assert tab.evaluate(style.format(".no-print", "display")) == "none"
        assert tab.evaluate(style.format("#functions thead th", "position")) == "static"
        assert tab.evaluate(style.format(".badge.s-REJECT", "printColorAdjust")) == "exact"
        # On a landscape A4 page (277 mm of 96 dpi pixels), every column fits: none cut off.
        tab.devtools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1047, "height": 740, "deviceScaleFactor": 1, "mobile": False},
            tab.session,
        )
        overflow = (
            "(() => { const t = document.getElementById('functions');"
            " return t.scrollWidth - t.parentElement.clientWidth; })()"
        )
        assert tab.evaluate(overflow) <= 0


def test_markup_in_the_document_stays_text(browser: Chromium, page: Path) -> None:
    source = page.read_text(encoding="utf-8")
    assert HOSTILE_NAME not in source and "<img" not in source and "<b>not" not in source
    dom = parse(browser.dom(page.as_uri()))
    (title,) = dom.find_all("head")[0].find_all("title")
    assert title.text().startswith("Lambda code signing audit")  # no script set it
    assert len(dom.find_all("script")) == 1  # the page's own
    assert dom.find_all("img") == []
    assert all(b.text() != "not bold" for b in dom.find_all("b"))
    hostile = next(r for r in function_rows(dom) if r.attrs["data-function"] == HOSTILE_NAME)
    cells = hostile.find_all("td")
    assert cells[1].text() == HOSTILE_NAME
    assert cells[5].text() == HOSTILE_MESSAGE
    assert cells[6].text() == "<b>not bold</b>"
    blocked = dom.by_id("configs").find_all("td")
    assert any(HOSTILE_NAME in td.text() for td in blocked)


def test_the_page_reads_without_javascript(browser: Chromium, page: Path) -> None:
    # With JavaScript off in the browser a #sort fragment does nothing (with it on, the same
    # fragment re-orders the rows: test_a_sort_fragment_orders_the_rows): the table, the
    # counts and the plot are in the HTML, worst first.
    dom = parse(browser.dom(page.as_uri() + "#sort=name", javascript=False))
    assert row_names(dom) == DEFAULT_ORDER
    heads = {
        th.attrs["data-key"]: th.attrs["aria-sort"] for th in dom.by_id("functions").find_all("th")
    }
    assert heads["standing"] == "ascending" and heads["name"] == "none"
    assert dom.by_id("count-REJECT").text().startswith("3")
    assert len(dom.by_id("timeline").find_all("circle")) >= 3
    assert "Enforce would block" in dom.by_id("configs").text()


def test_nothing_on_the_page_points_outside_it(page: Path) -> None:
    source = page.read_text(encoding="utf-8")
    dom = parse(source)
    (meta,) = [m for m in dom.find_all("meta") if m.attrs.get("http-equiv")]
    assert meta.attrs == {"http-equiv": "Content-Security-Policy", "content": CSP}
    assert CSP == (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    )
    referencing = {"src", "href", "xlink:href", "action", "formaction", "poster", "data"}
    links = [v for e in dom.walk() for k, v in e.attrs.items() if k in referencing]
    assert links and all(link.startswith("#sort=") for link in links), links
    for scheme in ("http:", "https:", "//", "url(", "@import"):
        assert scheme not in source.lower(), scheme
    assert dom.find_all("link") == [] and dom.find_all("iframe") == []


def test_the_recording_proxy_sees_a_page_that_fetches(tmp_path: Path) -> None:
    """The check above is real: a page without the report's CSP that loads an image from a
    remote host and one from loopback makes the proxy see both."""
    port = free_port_refuses()
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<!DOCTYPE html><img src="http://audit-report.invalid/pixel.png">'
        f'<img src="http://127.0.0.1:{port}/loopback.png">'
    )
    with chromium_with_proxy() as chromium:
        chromium.dom(leaky.as_uri())
        seen = sorted(chromium.proxy.connections)
    assert seen == [
        f"GET http://127.0.0.1:{port}/loopback.png HTTP/1.1",
        "GET http://audit-report.invalid/pixel.png HTTP/1.1",
    ]


def test_the_readme_screenshot_is_a_small_png_of_the_report() -> None:
    data = README_SCREENSHOT.read_bytes()
    assert len(data) < 200_000
    png = read_png(data)
    assert (png.width, png.height) == SIZE
    assert len(png.colours) > 200
