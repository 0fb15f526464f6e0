"""Every panel page (tests/support/panel_pages.py PAGES) in a real browser, in Turkish
and English, at desktop (1280 px) and phone (390 px) width: axe-core finds no serious
or critical violation, the headings are in order under one h1, nothing but a ``.scroll``
container is wider than a phone, and a screenshot is saved
(``build/screenshots/<page>-<lang>-<desktop|phone>.png``). By keyboard: the first Tab
reaches the skip link, the skip link leads into the page's main content, and Tab
reaches every control of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest

from tests.support.panel import DESKTOP, PHONE, PanelSite, login, screenshot
from tests.support.panel_pages import (
    LANGS,
    PAGES,
    PanelPage,
    Seeded,
    seed,
)

VIEWS = {"desktop": DESKTOP, "phone": PHONE}
#: axe-core impacts that fail a page.
BLOCKING = ("serious", "critical")

Contexts = Callable[[str, str, str], Any]


@pytest.fixture(scope="module")
def seeded(panel_site: PanelSite) -> Seeded:
    return seed(panel_site)


@pytest.fixture(scope="module")
def contexts(chromium: Any, panel_site: PanelSite, seeded: Seeded) -> Iterator[Contexts]:
    """Browser contexts by (language, width, role), each made (and logged in) once."""
    made: dict[tuple[str, str, str], Any] = {}
    users = {"user": seeded.user, "admin": seeded.admin}

    def get(lang: str, view: str, role: str) -> Any:
        key = (lang, view, role)
        if key not in made:
            context = chromium.new_context(viewport=VIEWS[view], locale="tr-TR")
            context.set_default_timeout(10_000)
            context.add_cookies([{"name": "ileti_lang", "value": lang, "url": panel_site.url}])
            if role in users:
                first = context.new_page()
                login(first, panel_site, users[role])
                first.close()
            made[key] = context
        return made[key]

    try:
        yield get
    finally:
        for context in made.values():
            context.close()


def open_page(page: Any, site: PanelSite, seeded: Seeded, entry: PanelPage) -> None:
    """Open ``entry`` as its user would (a GET, or its form posted from the dashboard);
    skips a page this branch has not built, checks the status otherwise."""
    url = site.url + entry.url_path(seeded)
    if entry.post is None:
        response = page.goto(url)
    else:
        page.goto(site.url + "/panel/")
        with page.expect_navigation() as navigation:
            page.evaluate(
                """([action, fields]) => {
                  const form = document.createElement("form");
                  form.method = "post";
                  form.action = action;
                  const token = document.querySelector("input[name=csrf]");
                  const all = Object.assign({csrf: token ? token.value : ""}, fields);
                  for (const [name, value] of Object.entries(all)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                  }
                  document.body.appendChild(form);
                  form.submit();
                }""",
                [url, entry.post],
            )
        response = navigation.value
    assert response is not None
    kind = response.headers.get("content-type", "")
    assert response.status == entry.status, f"{entry.path}: HTTP {response.status}"
    assert kind.startswith("text/html"), kind


def violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def readable(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


HEADINGS = """() => Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"))
  .map(h => [Number(h.tagName[1]), h.textContent.trim()])"""

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  if (document.scrollingElement.scrollWidth > width + 1) {
    for (const el of document.body.querySelectorAll("*")) {
      if (el.closest(".scroll")) continue;
      const box = el.getBoundingClientRect();
      if (box.right > width + 1) {
        const classes = typeof el.className === "string" && el.className
          ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes}`
          + ` (right edge ${Math.round(box.right)} px)`);
      }
    }
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, width, wide: wide.slice(0, 10)};
}"""


def check_headings(page: Any) -> None:
    levels = page.evaluate(HEADINGS)
    assert [level for level, _ in levels].count(1) == 1, f"one h1 expected: {levels}"
    assert levels[0][0] == 1, f"the first heading is not the h1: {levels}"
    for (before, _), (after, text) in pairwise(levels):
        assert after <= before + 1, f"h{after} {text!r} follows an h{before}: {levels}"


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("entry", PAGES, ids=[p.name for p in PAGES])
def test_page_is_accessible_fits_and_is_shot(
    contexts: Contexts,
    panel_site: PanelSite,
    seeded: Seeded,
    entry: PanelPage,
    lang: str,
    view: str,
) -> None:
    page = contexts(lang, view, entry.role).new_page()
    try:
        open_page(page, panel_site, seeded, entry)
        assert page.locator("html").get_attribute("lang") == lang
        screenshot(page, f"{entry.name}-{lang}-{view}")
        found = violations(page)
        assert not found, f"axe-core on {entry.path} ({lang}, {view}):\n{readable(found)}"
        check_headings(page)
        if view == "phone":
            fit = page.evaluate(OVERFLOW)
            assert fit["scrollWidth"] <= fit["width"] + 1, (
                f"{entry.path} ({lang}) scrolls sideways at {fit['width']} px: "
                f"{fit['scrollWidth']} px wide; too wide outside .scroll: {fit['wide']}"
            )
    finally:
        page.close()


FOCUSABLE = """() => {
  const selector = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const inMain = [];
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    n += 1;
    el.dataset.kbd = String(n);
    const shown = el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    if (el.closest("main") && shown && !el.disabled) {
      inMain.push([String(n), el.outerHTML.slice(0, 120)]);
    }
  }
  return {count: n, inMain};
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  return el && el !== document.body
    ? {kbd: el.dataset.kbd || null, skip: el.classList.contains("skip"),
       inMain: !!el.closest("main")}
    : {kbd: null, skip: false, inMain: false};
}"""


@pytest.mark.parametrize("entry", PAGES, ids=[p.name for p in PAGES])
def test_page_works_by_keyboard(
    contexts: Contexts, panel_site: PanelSite, seeded: Seeded, entry: PanelPage
) -> None:
    page = contexts("tr", "desktop", entry.role).new_page()
    try:
        open_page(page, panel_site, seeded, entry)
        controls = page.evaluate(FOCUSABLE)
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUSED)["skip"], "the first Tab does not reach the skip link"
        # The skip link moves the keyboard into the page's main content.
        page.keyboard.press("Enter")
        if controls["inMain"]:
            page.keyboard.press("Tab")
            assert page.evaluate(FOCUSED)["inMain"], "the skip link does not lead into <main>"
        # From the top, Tab reaches every control of the main content.
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.locator("a.skip").focus()
        wanted = {kbd: html for kbd, html in controls["inMain"]}
        reached: set[str] = set()
        for _ in range(controls["count"] + 5):
            page.keyboard.press("Tab")
            kbd = page.evaluate(FOCUSED)["kbd"]
            if kbd:
                reached.add(kbd)
            if wanted.keys() <= reached:
                break
        missed = [html for kbd, html in wanted.items() if kbd not in reached]
        assert not missed, f"Tab never reaches on {entry.path}: {missed}"
    finally:
        page.close()
