"""Every XML answer is well-formed whatever a stored value holds, and every value that
is accepted and stored comes back alike in JSON and XML: as it went in, or with the
documented replacement (docs/api.md, "Characters"): each character XML 1.0 cannot
carry (C0 controls other than tab, line feed and carriage return; U+FFFE, U+FFFF; NUL,
which PostgreSQL cannot store) is kept and shown as U+FFFD.

XML answers are parsed with a strict parser (expat, which refuses any character XML
cannot carry); a carriage return comes back as one (``&#13;``)."""

from __future__ import annotations

import itertools
import json
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from ileti import numbers
from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.wire import Format, render_ok
from tests.support.http import auth, parse_xml_response, xml_of
from tests.support.sms import A, order_of, query_of, sent
from tests.support.spec import MESSAGES, XML_TYPE

TOKEN = "wellformed-control-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
REPLACEMENT = "\ufffd"
#: Characters XML 1.0 cannot carry (all of them but the surrogates, which no request
#: can carry either: JSON and UTF-8 refuse a lone one).
NOT_XML = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The control API on (its outbox shows the texts); the carrier does not run."""
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        delivery_poll_seconds=0,
    )


@pytest.fixture
async def acme(runtime: Runtime) -> Issued:
    return await runtime.accounts.create("acme", senders=("ILETI",), balance=1_000_000)


def shown(written: str) -> str:
    """What the documentation says comes back for a recipient as written."""
    stripped = written.strip()
    stored = numbers.parse(stripped)
    if stored is not None:
        return numbers.e164(stored)
    cut = stripped[:64]
    return "".join(REPLACEMENT if c in NOT_XML or c == "\x00" else c for c in cut)


async def report_both(
    client: httpx.AsyncClient, issued: Issued, order_id: int
) -> tuple[dict[str, Any], list[tuple[str, int]], list[tuple[str, int]]]:
    """get-report in JSON (the order) and the messages (number, status) of the JSON and
    of the XML answer, the XML parsed strictly (expat)."""
    request = {"authentication": auth(issued), "order": {"id": order_id}}
    r = await client.post("/v1/get-report/json", json={"request": request})
    assert r.status_code == 200, r.content
    order = r.json()["response"]["order"]
    in_json = [(m["number"], m["status"]) for m in order["message"]]
    r = await client.post("/v1/get-report", content=xml_of(request).encode())
    assert (r.status_code, r.headers["content-type"]) == (200, XML_TYPE)
    root = ElementTree.fromstring(r.content)
    assert root.findtext("status/code") == "200"
    in_xml = [
        (m.findtext("number") or "", int(m.findtext("status") or 0))
        for m in root.findall("order/message")
    ]
    return order, in_json, in_xml


async def stored_text(client: httpx.AsyncClient, order_id: int) -> list[str]:
    """The texts of an order's messages as the control API's outbox (JSON) shows them."""
    r = await client.get("/_ileti/outbox", params={"order": order_id}, headers=ADMIN)
    assert r.status_code == 200, r.content
    return [m["text"] for m in r.json()["messages"]]


JUNK = [
    "05\x01",
    "x\x1b[2J\x1b]0;owned\x07",
    "\ufffe",
    "y\uffff",
    "a\rb",
    "0533\x00",
    "p\x08q",
    "tab\there",
    "<&>]]>",
]


@pytest.mark.parametrize("fmt", ["json", "get"])
async def test_invalid_recipients_holding_what_xml_cannot_carry(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued, fmt: str
) -> None:
    """Kept (112) with each such character as U+FFFD, the same in JSON and in a
    well-formed XML get-report; the valid recipient alone is charged."""
    order_id = await sent(client, acme, order_of([A, *JUNK], text="a\x1b[31mb\ufffe"), fmt)
    order, in_json, in_xml = await report_both(client, acme, order_id)
    expected = [(A, 110), *((shown(j), 112) for j in JUNK)]
    assert [n for n, _ in expected[1:4]] == ["05\ufffd", "x\ufffd[2J\ufffd]0;owned\ufffd", "\ufffd"]
    assert in_json == expected
    assert in_xml == expected
    assert order["price"] == 1
    assert await stored_text(client, order_id) == ["a\x1b[31mb\ufffe"] * (1 + len(JUNK))


@pytest.mark.parametrize(
    "value",
    ["a\x01b", "\x00", "\ufffe\uffff", "lone \ud800 and \udfff", "cr\r", "ok ş <&>"],
)
def test_the_xml_renderer_writes_what_xml_cannot_carry_as_u_fffd(value: str) -> None:
    """Whatever a value holds (even what no path stores), the XML is well-formed."""
    status, body = render_ok(
        {"order": {"sender": value, "message": [{"number": value}]}}, Format.XML
    )
    root = ElementTree.fromstring(body)
    expected = "".join(
        REPLACEMENT if c in NOT_XML or c == "\x00" or "\ud800" <= c <= "\udfff" else c
        for c in value
    )
    assert (status, root.findtext("order/sender"), root.findtext("order/message/number")) == (
        200,
        expected,
        expected,
    )
    assert root.findtext("status/message") == MESSAGES[200]


@pytest.mark.parametrize("value", ["lone \ud800 and \udfff", "a\x01b\ufffe"])
def test_the_json_renderer_writes_a_lone_surrogate_as_u_fffd(value: str) -> None:
    """JSON carries every other character (escaped); UTF-8 cannot carry a lone surrogate."""
    status, body = render_ok({"order": {"sender": value}}, Format.JSON)
    expected = "".join(REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in value)
    assert (status, json.loads(body)["response"]["order"]["sender"]) == (200, expected)


# -- the property: what goes in comes back ---------------------------------------------------

#: Any character a JSON request can carry (no lone surrogate), NUL included.
ANY_CHARACTER = st.characters(blacklist_categories=("Cs",))
TEXTS = st.text(ANY_CHARACTER, min_size=1, max_size=40)
JUNK_RECIPIENTS = st.lists(
    st.text(ANY_CHARACTER.filter(lambda c: c != ","), min_size=1, max_size=70), max_size=5
)
_unique = itertools.count()


def a_fresh_number() -> str:
    """A valid number no earlier example used (so no two orders are duplicates, 451)."""
    return f"+90533{1_000_000 + next(_unique) % 8_000_000:07d}"


@examples(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXTS, junk=JUNK_RECIPIENTS, fmt=st.sampled_from(["json", "get"]))
async def test_every_accepted_value_comes_back_in_json_and_xml(
    runtime: Runtime,
    client: httpx.AsyncClient,
    acme: Issued,
    text: str,
    junk: list[str],
    fmt: str,
) -> None:
    """send-sms with any text and any junk recipients beside a valid number: refused
    (400 for what the form cannot carry, 454 blank text, 422 a NUL in the text, 453 too
    long), or accepted, and then every recipient comes back as documented in JSON and
    in well-formed XML, and the text exactly as sent."""
    text = "t" + text  # never blank: the property is about what is kept
    valid = a_fresh_number()
    order = order_of([valid, *junk], text=text)
    if fmt == "get":
        r = await client.get(f"/v1/send-sms/get/?{query_of(acme, order)}")
        status, body = r.status_code, parse_xml_response(r.content)
    else:
        request = {"authentication": auth(acme), "order": order}
        r = await client.post("/v1/send-sms/json", json={"request": request})
        status, body = r.status_code, r.json()["response"]
    assert body["status"] == {"code": status, "message": MESSAGES[status]}
    if "\x00" in text:
        assert status == 422
        return
    if status == 453:
        return
    assert status == 200, body
    order_id = int(body["order"]["id"])
    _order, in_json, in_xml = await report_both(client, acme, order_id)
    kept = [w for w in (valid, *junk) if w.strip()]
    expected = list(dict.fromkeys(shown(w) for w in kept))  # a text's recipients once each
    assert [n for n, _ in in_json] == expected
    assert [n for n, _ in in_xml] == expected
    assert set(await stored_text(client, order_id)) == {text}
