"""The panel's words: every key a template or page module names is in the catalogue,
every entry has its Turkish and English text with the same placeholders, and a page
shown in English has no Turkish word in its own frame, headings, labels and buttons
(what the user entered aside)."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from ileti.api.panel.i18n import CATALOGUE
from tests.support.panel import PanelSite
from tests.support.panel_pages import (
    PAGES,
    TURKISH_ONLY,
    PanelPage,
    Seeded,
    login_client,
    seed,
    session_csrf,
)

PANEL = Path(__file__).resolve().parents[1] / "src" / "ileti" / "api" / "panel"
TEMPLATES = sorted((PANEL / "templates").glob("*.html"))
MODULES = sorted(PANEL.glob("*.py"))
#: ``t("key")`` / ``t('key', ...)`` with a literal key (not one built with ``~`` or +).
T_CALL = re.compile(r"""\bt\(\s*(["'])([^"'\s]+)\1\s*[,)]""")
#: A key given to ``ctx.redirect(flash=...)``, ``error=``, or a template's ``t(...)``.
FLASH = re.compile(r"""\bflash\s*=\s*(["'])([^"'\s]+)\1""")
NAMESPACES = {key.split(".", 1)[0] for key in CATALOGUE}
NOT_KEYS = (".html", ".js", ".css", ".png", ".csv")
#: Proper names written the same in both languages: the language's own name, and İYS
#: (İleti Yönetim Sistemi, the registry's name).
PROPER_NAMES = ("Türkçe", "İYS")


def without_names(text: str) -> str:
    for name in PROPER_NAMES:
        text = text.replace(name, "")
    return text


def literal_keys() -> Iterator[tuple[str, str]]:
    """(where, key) for every literal catalogue key in templates and page modules."""
    for path in TEMPLATES:
        for match in T_CALL.finditer(path.read_text(encoding="utf-8")):
            yield path.name, match.group(2)
    for path in MODULES:
        source = path.read_text(encoding="utf-8")
        for pattern in (T_CALL, FLASH):
            for match in pattern.finditer(source):
                yield path.name, match.group(2)
        # Any other string that looks like a key of a catalogue namespace (the errors a
        # FormInvalid maps fields to, for one).
        tree = ast.parse(source)
        # The literal parts of an f-string ("orders.bad_" in f"orders.bad_{field}") are
        # prefixes, not keys.
        parts = {
            id(value)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for value in node.values
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in parts
            ):
                text = node.value
                if (
                    re.fullmatch(r"[a-z_0-9]+(\.[a-z_0-9]+)+", text)
                    and text.split(".", 1)[0] in NAMESPACES
                    and not text.endswith(NOT_KEYS)
                ):
                    yield path.name, text


def test_the_scan_finds_the_keys_it_should() -> None:
    found = {key for _, key in literal_keys()}
    # From base.html (double and single quotes), login.html, auth.py (ctx.t, flash=,
    # an errors mapping).
    assert {"app.skip", "nav.label", "login.title", "login.expired", "logout.done"} <= found
    assert "login.required" in found


def test_every_key_the_pages_name_is_in_the_catalogue() -> None:
    missing = sorted({f"{where}: {key}" for where, key in literal_keys() if key not in CATALOGUE})
    assert not missing, "keys missing from texts/*.py:\n" + "\n".join(missing)


def test_every_error_page_has_its_title_and_text() -> None:
    statuses = set()
    for path in MODULES:
        source = path.read_text(encoding="utf-8")
        statuses |= {int(s) for s in re.findall(r"error_page\(\s*\w+\s*,\s*(\d{3})", source)}
        statuses |= {int(s) for s in re.findall(r'"error\.html"[^)]*status_code=(\d{3})', source)}
    assert {403, 404, 500, 503} <= statuses
    missing = [
        f"error.{status}.{part}"
        for status in sorted(statuses)
        for part in ("title", "text")
        if f"error.{status}.{part}" not in CATALOGUE
    ]
    assert not missing


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_entry_has_both_languages_with_the_same_placeholders() -> None:
    problems = []
    for key, pair in sorted(CATALOGUE.items()):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            problems.append(f"{key}: not a (Turkish, English) pair: {pair!r}")
            continue
        turkish, english = pair
        if not (isinstance(turkish, str) and turkish.strip()):
            problems.append(f"{key}: no Turkish text")
        if not (isinstance(english, str) and english.strip()):
            problems.append(f"{key}: no English text")
            continue
        try:
            if placeholders(turkish) != placeholders(english):
                problems.append(
                    f"{key}: placeholders differ: {sorted(placeholders(turkish))} (tr) "
                    f"vs {sorted(placeholders(english))} (en)"
                )
        except ValueError as exc:
            problems.append(f"{key}: not a format string: {exc}")
    assert not problems, "\n".join(problems)


def test_english_texts_have_no_turkish_letters() -> None:
    """The English half of the catalogue (proper names aside)."""
    found = [
        f"{key}: {english!r}"
        for key, (_, english) in sorted(CATALOGUE.items())
        if TURKISH_ONLY.search(without_names(english))
    ]
    assert not found, "\n".join(found)


class Chrome(HTMLParser):
    """The page's own words: the title, navigation, headings, labels, buttons, table
    and list headers, captions, legends, hints and error texts, and the accessible
    names in attributes; not inside an element marked with another ``lang``."""

    ELEMENTS = frozenset(
        [
            "title",
            "nav",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "label",
            "button",
            "th",
            "legend",
            "caption",
            "summary",
            "dt",
        ]
    )
    CLASSES = frozenset(("hint", "error", "error-summary", "flash", "skip"))
    VOID = frozenset(("input", "br", "img", "meta", "link", "hr", "wbr", "source", "col", "area"))
    ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, collecting, foreign)
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        collecting, foreign = self.stack[-1][1:] if self.stack else (False, False)
        foreign = foreign or values.get("lang", self.lang) != self.lang
        classes = set(values.get("class", "").split())
        collecting = collecting or tag in self.ELEMENTS or bool(classes & self.CLASSES)
        if not foreign:
            self.texts.extend(values[name] for name in self.ATTRIBUTES if values.get(name))
            if tag == "input" and values.get("type") in ("submit", "button", "reset"):
                self.texts.append(values.get("value", ""))
        if tag not in self.VOID:
            self.stack.append((tag, collecting, foreign))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][1] and not self.stack[-1][2] and data.strip():
            self.texts.append(data.strip())


def chrome_texts(html: str, lang: str) -> list[str]:
    parser = Chrome(lang)
    parser.feed(html)
    parser.close()
    return parser.texts


def test_the_chrome_reader_sees_labels_and_skips_other_languages() -> None:
    html = (
        '<html lang="en"><head><title>Log in · ileti</title></head><body>'
        '<a class="skip" href="#main">Skip</a><nav aria-label="Main menu"><a>Orders</a></nav>'
        '<span><a lang="tr">Türkçe</a></span><h1>Blacklist</h1><p>data ğ</p>'
        '<label for="x">Number</label><input id="x" placeholder="05xx">'
        "<button>Add</button><td>Şişli</td></body></html>"
    )
    texts = chrome_texts(html, "en")
    assert texts == [
        *("Log in · ileti", "Skip", "Main menu", "Orders", "Blacklist", "Number"),
        *("05xx", "Add"),
    ]


@pytest.fixture(scope="module")
def seeded(panel_site: PanelSite) -> Seeded:
    return seed(panel_site)


@pytest.fixture(scope="module")
def clients(panel_site: PanelSite, seeded: Seeded) -> Iterator[dict[str, httpx.Client]]:
    made = {
        "anonymous": httpx.Client(
            base_url=panel_site.url, timeout=30, cookies={"ileti_lang": "en"}
        ),
        "user": login_client(panel_site, seeded.user, "en"),
        "admin": login_client(panel_site, seeded.admin, "en"),
    }
    try:
        yield made
    finally:
        for client in made.values():
            client.close()


def fetch(
    client: httpx.Client, site: PanelSite, seeded: Seeded, entry: PanelPage
) -> httpx.Response:
    path = entry.url_path(seeded)
    if entry.post is None:
        return client.get(path)
    fields = {"csrf": session_csrf(client), **entry.post}
    return client.post(path, data=fields, headers={"Origin": site.url})


@pytest.mark.parametrize("entry", PAGES, ids=[p.name for p in PAGES])
def test_a_page_in_english_has_no_turkish_words(
    clients: dict[str, httpx.Client], panel_site: PanelSite, seeded: Seeded, entry: PanelPage
) -> None:
    client = clients[entry.role]
    answer = fetch(client, panel_site, seeded, entry)
    assert answer.headers.get("content-type", "").startswith("text/html")
    assert answer.status_code == entry.status, answer.text[:500]
    assert '<html lang="en">' in answer.text
    texts = chrome_texts(answer.text, "en")
    assert texts, "nothing read from the page"
    # What users entered may be Turkish: the seeded texts, e-mail addresses and every
    # account's name (an admin's list shows them all) are left out.
    listed = panel_site.control("GET", "/accounts").json()["accounts"]
    names = sorted((a["name"] for a in listed), key=len, reverse=True)
    entered = [*names, seeded.user.email, seeded.admin.email, *seeded.entered]
    turkish = []
    for text in texts:
        for value in entered:
            text = text.replace(value, "")
        if TURKISH_ONLY.search(without_names(text)):
            turkish.append(text)
    assert not turkish, f"Turkish on {entry.path} in English: {turkish}"
