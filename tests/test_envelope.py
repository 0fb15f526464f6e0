"""The envelope contract (spec §1, §3), in the three encodings (JSON, raw XML, XML in a
form field ``data``).

For each outcome: HTTP status == body code, the code is an integer (JSON) or digits
(XML), the message is the spec's exactly, the body parses in the request's encoding
with the right Content-Type, an error body carries ``status`` only, and what is
stored is what the outcome says (nothing changes on an error).

Every action of the v1 table (``ileti.api.actions.ACTIONS``) runs through success,
every unparseable body (400) and wrong credentials (401), from its row in
``tests/support/actions.py``; a guard fails while an action has no row. The blacklist
actions also run through every error they can return (``BLACKLIST``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes, urlencode
from xml.etree import ElementTree

import httpx
import pytest

from ileti.api.actions import ACTIONS
from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.actions import CASES, encodings_of, prepare, request_of
from tests.support.http import ENCODINGS, auth, body_of, path_of, wrap, xml_of
from tests.support.spec import JSON_TYPE, MESSAGES, XML_PROLOG, XML_TYPE
from tests.support.stored import listed_numbers, snapshot

MAX_BODY = 1024 * 1024

# Numbers listed before a case runs, in blocked-at order (and numeric order, so a tie
# of blocked-at times cannot reorder them).
N1, N2, N3 = 905330000099, 905330000100, 905330000101
E1, E2, E3 = "+905330000099", "+905330000100", "+905330000101"

GOOD = "good"  # authenticate with the account's credentials
NO_AUTH = "none"  # no authentication element at all
WRONG_HASH = "wrong"  # the account's key with a wrong hash


@dataclass(frozen=True)
class Case:
    """One outcome of an action: the request (without authentication) and its result."""

    name: str
    code: int
    request: dict[str, Any] = field(default_factory=dict)
    auth: str = GOOD
    #: The JSON payload beside ``status`` on success.
    payload: dict[str, Any] | None = None
    #: What the account lists afterwards; None: the seed, unchanged.
    stored: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ActionSpec:
    name: str
    #: Listed before every case of this action.
    seed: tuple[int, ...]
    #: Success first; then every error the action can return.
    cases: tuple[Case, ...]
    #: Requests whose shape is wrong for this action (400).
    bad_shapes: tuple[tuple[str, dict[str, Any]], ...]

    @property
    def ok(self) -> Case:
        return self.cases[0]


BLACKLIST: tuple[ActionSpec, ...] = (
    ActionSpec(
        name="add-blacklist",
        seed=(N1,),
        cases=(
            Case("ok", 200, {"blacklist": {"number": "0533 000 01 00"}}, stored=(N1, N2)),
            Case("already listed", 200, {"blacklist": {"number": E1}}),
            Case("invalid number", 466, {"blacklist": {"number": "+905999000000"}}),
            Case("other country", 466, {"blacklist": {"number": "+4915112345678"}}),
            Case("empty number", 466, {"blacklist": {"number": ""}}),
            Case("missing number", 466, {"blacklist": {}}),
            Case("missing blacklist", 466, {}),
            Case("no authentication", 401, {"blacklist": {"number": E2}}, auth=NO_AUTH),
            Case("wrong hash", 401, {"blacklist": {"number": E2}}, auth=WRONG_HASH),
        ),
        bad_shapes=(
            ("number as array", {"blacklist": {"number": [E2, E3]}}),
            ("number as object", {"blacklist": {"number": {"value": E2}}}),
            ("blacklist as text", {"blacklist": "x"}),
        ),
    ),
    ActionSpec(
        name="delete-blacklist",
        seed=(N1, N2),
        cases=(
            Case("ok", 200, {"blacklist": {"number": "05330000099"}}, stored=(N2,)),
            Case("not listed", 474, {"blacklist": {"number": E3}}),
            Case("invalid number", 466, {"blacklist": {"number": "+905999000000"}}),
            Case("empty number", 466, {"blacklist": {"number": ""}}),
            Case("missing number", 466, {"blacklist": {}}),
            Case("no authentication", 401, {"blacklist": {"number": E1}}, auth=NO_AUTH),
            Case("wrong hash", 401, {"blacklist": {"number": E1}}, auth=WRONG_HASH),
        ),
        bad_shapes=(
            ("number as array", {"blacklist": {"number": [E1, E2]}}),
            ("number as object", {"blacklist": {"number": {"value": E1}}}),
            ("blacklist as text", {"blacklist": "x"}),
        ),
    ),
    ActionSpec(
        name="get-blacklist",
        seed=(N1, N2, N3),
        cases=(
            Case("ok", 200, {}, payload={"blacklist": {"count": 3, "number": [E1, E2, E3]}}),
            Case(
                "page of one",
                200,
                {"blacklist": {"page": "2", "rowCount": "1"}},
                payload={"blacklist": {"count": 3, "number": [E2]}},
            ),
            Case(
                "page past the end",
                200,
                {"blacklist": {"page": 9, "rowCount": 1000}},
                payload={"blacklist": {"count": 3, "number": []}},
            ),
            Case(
                "empty range",
                200,
                {"blacklist": {"filter": {"end": "2001-01-01 00:00:00"}}},
                payload={"blacklist": {"count": 0, "number": []}},
            ),
            Case("page 0", 464, {"blacklist": {"page": 0}}),
            Case("page negative", 464, {"blacklist": {"page": -1}}),
            Case("bad start", 458, {"blacklist": {"filter": {"start": "2024-13-01 00:00:00"}}}),
            Case("bad end", 458, {"blacklist": {"filter": {"end": "yesterday"}}}),
            Case(
                "start after end",
                458,
                {
                    "blacklist": {
                        "filter": {"start": "2024-09-27 01:10:01", "end": "2024-09-27 01:10:00"}
                    }
                },
            ),
            Case("rowCount 0", 422, {"blacklist": {"rowCount": 0}}),
            Case("no authentication", 401, {}, auth=NO_AUTH),
            Case("wrong hash", 401, {}, auth=WRONG_HASH),
        ),
        bad_shapes=(
            ("page as array", {"blacklist": {"page": [1, 2]}}),
            ("page as object", {"blacklist": {"page": {"n": 1}}}),
            ("rowCount as object", {"blacklist": {"rowCount": {"n": 1}}}),
            ("blacklist as text", {"blacklist": "x"}),
        ),
    ),
)

BLACKLIST_NAMES = tuple(a.name for a in BLACKLIST)


# -- building requests -----------------------------------------------------------------


def credentials(issued: Issued, how: str) -> dict[str, Any]:
    if how == NO_AUTH:
        return {}
    creds = auth(issued)
    if how == WRONG_HASH:
        creds["hash"] = "0" * 64
    return {"authentication": creds}


def full_request(spec: ActionSpec, issued: Issued, case: Case) -> dict[str, Any]:
    return {**credentials(issued, case.auth), **case.request}


# -- reading responses -----------------------------------------------------------------


def check_envelope(r: httpx.Response, enc: str) -> dict[str, Any]:
    """Assert the contract every response keeps; the ``response`` tree (XML: as text)."""
    assert r.headers["content-length"] == str(len(r.content))
    if enc == "json":
        assert r.headers["content-type"] == JSON_TYPE
        doc = json.loads(r.content.decode("utf-8"))
        assert isinstance(doc, dict) and list(doc) == ["response"]
        response = doc["response"]
        status = response["status"]
        assert set(status) == {"code", "message"}
        assert type(status["code"]) is int
    else:
        assert r.headers["content-type"] == XML_TYPE
        assert r.content.startswith(XML_PROLOG)
        root = ElementTree.fromstring(r.content)
        assert root.tag == "response"
        response = xml_view(root)
        status = response["status"]
        status_element = root.find("status")
        assert status_element is not None
        assert [child.tag for child in status_element] == ["code", "message"]
        assert status["code"].isdigit()
        status = {"code": int(status["code"]), "message": status["message"]}
        response["status"] = status
    assert status == {"code": r.status_code, "message": MESSAGES[r.status_code]}
    if r.status_code != 200:
        assert list(response) == ["status"], "an error body carries status only"
    return response


def xml_view(element: ElementTree.Element) -> Any:
    """An XML element as a tree: leaves as text, repeated tags as lists."""
    children = list(element)
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        value = xml_view(child)
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


def as_xml(value: Any) -> Any:
    """What a JSON payload looks like through ``xml_view``: numbers as text, an array as
    the element repeated (one: a single element; none: no element)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, list):
                if len(item) == 1:
                    out[key] = as_xml(item[0])
                elif item:
                    out[key] = [as_xml(i) for i in item]
            else:
                out[key] = as_xml(item)
        return out
    return str(value)


async def listed(runtime: Runtime, issued: Issued) -> tuple[int, ...]:
    return await listed_numbers(runtime, issued)


async def seed(runtime: Runtime, issued: Issued, numbers: tuple[int, ...]) -> None:
    for number in numbers:
        await runtime.blacklist.add(issued.account.id, number, source="api")
    assert await listed(runtime, issued) == numbers


def spec_of(name: str) -> ActionSpec:
    return next(a for a in BLACKLIST if a.name == name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The simulated carrier off: what is stored changes only by requests."""
    return Settings(database_url=database_url, auth_refresh_seconds=0.1, delivery_poll_seconds=0)


@pytest.fixture
async def seeded(
    runtime: Runtime, account: Issued, request: pytest.FixtureRequest
) -> AsyncIterator[ActionSpec]:
    spec = spec_of(request.param)
    await seed(runtime, account, spec.seed)
    yield spec


# -- every action of the v1 table: success, 400, 401 ---------------------------------------

EVERY_ACTION = sorted(ACTIONS)
#: (action, encoding) for every encoding each action is served in (the İYS consent
#: actions: JSON only, their XML paths 404: ``test_json_only_actions_have_no_xml_path``).
EVERY_ACTION_ENCODING = [
    pytest.param(action, enc, id=f"{enc}-{action}")
    for action in EVERY_ACTION
    for enc in encodings_of(action)
]


def test_every_action_has_a_case() -> None:
    """A new action in ``ileti.api.actions.ACTIONS`` runs in the tests below (and in
    test_auth) only with its row in ``tests/support/actions.py``."""
    assert sorted(CASES) == EVERY_ACTION


@pytest.mark.parametrize(("action", "enc"), EVERY_ACTION_ENCODING)
async def test_every_action_succeeds(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    action: str,
    enc: str,
) -> None:
    """A small valid request: 200, the envelope, the action's members beside
    ``status``; what is stored changes exactly when the action writes."""
    prepared = await prepare(client, account, action)
    before = await snapshot(runtime)
    body = body_of(request_of(action, account, prepared), enc)
    r = await client.post(path_of(action, enc), content=body)
    assert r.status_code == 200, r.content
    response = check_envelope(r, enc)
    assert sorted(k for k in response if k != "status") == sorted(CASES[action].payload)
    assert (await snapshot(runtime) != before) is CASES[action].writes


@pytest.mark.parametrize(("action", "enc"), EVERY_ACTION_ENCODING)
async def test_every_action_unparseable_body_is_400(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    action: str,
    enc: str,
    subtests: pytest.Subtests,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every flaw around the action's valid request (were it ignored, the request
    would succeed): 400, the envelope, nothing stored, nothing logged as an error.
    Each body is a subtest."""
    prepared = await prepare(client, account, action)
    before = await snapshot(runtime)
    bodies = bad_bodies(action, request_of(action, account, prepared), enc)
    assert len(bodies) >= 12
    for name, body in bodies.items():
        with subtests.test(msg=name):
            caplog.clear()
            r = await client.post(path_of(action, enc), content=body)
            assert r.status_code == 400
            assert check_envelope(r, enc) == {"status": {"code": 400, "message": MESSAGES[400]}}
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
            assert "Traceback" not in caplog.text
    assert await snapshot(runtime) == before


@pytest.mark.parametrize(("action", "enc"), EVERY_ACTION_ENCODING)
async def test_every_action_wrong_credentials_is_401(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    action: str,
    enc: str,
) -> None:
    """The action's valid request with a wrong hash, an unknown key, or none: 401, the
    envelope, nothing stored (test_auth has every cause, byte for byte)."""
    prepared = await prepare(client, account, action)
    before = await snapshot(runtime)
    valid = request_of(action, account, prepared)
    rest = {k: v for k, v in valid.items() if k != "authentication"}
    for authentication in (
        {**auth(account), "hash": "0" * 64},
        {**auth(account), "key": "0" * 32},
        None,
    ):
        request = rest if authentication is None else {"authentication": authentication, **rest}
        r = await client.post(path_of(action, enc), content=body_of(request, enc))
        assert r.status_code == 401
        check_envelope(r, enc)
    assert await snapshot(runtime) == before


# -- the blacklist actions: every outcome ----------------------------------------------------


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize(
    ("seeded", "case"),
    [pytest.param(a.name, c, id=f"{a.name}-{c.name}") for a in BLACKLIST for c in a.cases],
    indirect=["seeded"],
)
async def test_outcome(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    seeded: ActionSpec,
    case: Case,
    enc: str,
) -> None:
    request = full_request(seeded, account, case)
    r = await client.post(path_of(seeded.name, enc), content=body_of(request, enc))
    assert r.status_code == case.code
    response = check_envelope(r, enc)
    if case.code == 200:
        payload = {k: v for k, v in response.items() if k != "status"}
        expected = case.payload or {}
        assert payload == (expected if enc == "json" else as_xml(expected))
    assert await listed(runtime, account) == (case.stored or seeded.seed)


# -- bodies that cannot be parsed: 400, nothing stored ------------------------------------

XML_ENCODINGS = ("xml", "form")


@dataclass(frozen=True)
class BadBody:
    """A flawed body built around an action's successful request, so that only the flaw
    can fail it (were the flaw ignored, the request would succeed and store)."""

    encodings: tuple[str, ...]
    build: Callable[[dict[str, Any], str], bytes]


def both(json_body: Callable[[dict[str, Any]], bytes], xml_doc: Callable[..., bytes]) -> BadBody:
    def build(request: dict[str, Any], enc: str) -> bytes:
        return json_body(request) if enc == "json" else wrap(xml_doc(request), enc)

    return BadBody(ENCODINGS, build)


def json_only(json_body: Callable[[dict[str, Any]], bytes]) -> BadBody:
    return BadBody(("json",), lambda request, enc: json_body(request))


def xml_only(make: Callable[[bytes], bytes]) -> BadBody:
    return BadBody(XML_ENCODINGS, lambda request, enc: wrap(make(xml_of(request).encode()), enc))


def form_only(form_body: Callable[[dict[str, Any]], bytes]) -> BadBody:
    return BadBody(("form",), lambda request, enc: form_body(request))


def padded(request: dict[str, Any], enc: str, size: int) -> bytes:
    """A valid request padded (whitespace, or a spare form field) to exactly ``size``."""
    body = body_of(request, enc)
    if enc == "form":
        body += b"&pad="
    pad = size - len(body)
    assert pad > 0
    return body + (b"x" if enc == "form" else b" ") * pad


def with_bad_utf8(body: bytes) -> bytes:
    assert body.count(b"@@") == 1
    return body.replace(b"@@", b"\xff\xfe")


def in_request(doc: bytes, extra: bytes) -> bytes:
    """``extra`` inserted as the first child of ``<request>``."""
    assert doc.startswith(b"<request>")
    return b"<request>" + extra + doc[len(b"<request>") :]


BILLION_LAUGHS = (
    b'<!DOCTYPE request [\n <!ENTITY lol0 "lol">\n'
    + b"".join(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n'.encode() for i in range(1, 10))
    + b"]>\n"
)


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_xml(depth: int) -> bytes:
    return b"<x>" * depth + b"</x>" * depth


def with_member(request: dict[str, Any], path: tuple[str, ...], raw: str) -> bytes:
    """The JSON body of ``request`` with the member at ``path`` (created if missing)
    set to the raw JSON text ``raw``."""
    marker = "@@RAW@@"
    tree = json.loads(json.dumps({"request": request}))
    node = tree["request"]
    for name in path[:-1]:
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]
    node[path[-1]] = marker
    return json.dumps(tree).replace(json.dumps(marker), raw).encode()


def prolog(encoding: str) -> Callable[[bytes], bytes]:
    return lambda doc: f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + doc


BAD_BODIES: dict[str, BadBody] = {
    "empty body": BadBody(ENCODINGS, lambda request, enc: b""),
    "whitespace body": BadBody(ENCODINGS, lambda request, enc: b" \r\n\t "),
    "invalid syntax": both(
        lambda request: json.dumps({"request": request}).encode()[:-2],
        lambda request: xml_of(request).encode()[:-3],
    ),
    "trailing garbage": both(
        lambda request: json.dumps({"request": request}).encode() + b" }",
        lambda request: xml_of(request).encode() + b"<request/>",
    ),
    "invalid utf-8": both(
        lambda request: with_bad_utf8(json.dumps({"request": {**request, "x": "@@"}}).encode()),
        lambda request: with_bad_utf8(xml_of({**request, "x": "@@"}).encode()),
    ),
    "iso-8859-9 json": json_only(
        lambda request: json.dumps({"request": {**request, "x": "ş"}}, ensure_ascii=False).encode(
            "iso-8859-9"
        )
    ),
    "wrong root": both(
        lambda request: json.dumps({"requests": request}).encode(),
        lambda request: xml_of(request, "req").encode(),
    ),
    "response as root": both(
        lambda request: json.dumps({"response": request}).encode(),
        lambda request: xml_of(request, "response").encode(),
    ),
    "request is text": both(
        lambda request: b'{"request": "add"}', lambda request: b"<request>add</request>"
    ),
    "request is an array": json_only(lambda request: json.dumps({"request": [request]}).encode()),
    "request is null": json_only(lambda request: b'{"request": null}'),
    "top level array": json_only(lambda request: json.dumps([{"request": request}]).encode()),
    "top level string": json_only(lambda request: b'"request"'),
    "doctype": xml_only(lambda doc: b"<!DOCTYPE request>" + doc),
    "billion laughs": xml_only(lambda doc: BILLION_LAUGHS + in_request(doc, b"<x>&lol9;</x>")),
    "internal entity": xml_only(
        lambda doc: (
            b'<!DOCTYPE request [<!ENTITY n "05330000101">]>' + in_request(doc, b"<x>&n;</x>")
        )
    ),
    "external entity": xml_only(
        lambda doc: (
            b'<!DOCTYPE request [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + in_request(doc, b"<x>&xxe;</x>")
        )
    ),
    "external dtd": xml_only(
        lambda doc: b'<!DOCTYPE request SYSTEM "http://127.0.0.1:9/evil.dtd">' + doc
    ),
    "undeclared entity": xml_only(lambda doc: in_request(doc, b"<x>&x;</x>")),
    # Nesting past what a request needs: XML elements deeper than 32 levels (docs/api.md),
    # JSON deeper than the decoder follows (under 1,000 levels), anywhere in the body.
    "nested 33 levels": xml_only(lambda doc: in_request(doc, nested_xml(32))),
    "nested 1,000 levels": both(
        lambda request: with_member(request, ("x",), nested_json(1000)),
        lambda request: in_request(xml_of(request).encode(), nested_xml(1000)),
    ),
    "nested 100,000 levels": both(
        lambda request: with_member(request, ("x",), nested_json(100_000)),
        lambda request: in_request(xml_of(request).encode(), nested_xml(100_000)),
    ),
    "nested objects in the key": json_only(
        lambda request: with_member(
            request, ("authentication", "key"), '{"a":' * 1000 + "1" + "}" * 1000
        )
    ),
    "nested arrays in the hash": json_only(
        lambda request: with_member(request, ("authentication", "hash"), nested_json(1000))
    ),
    "nested arrays in a filter": json_only(
        lambda request: with_member(request, ("filter",), nested_json(1000))
    ),
    "nested arrays in the blacklist": json_only(
        lambda request: with_member(request, ("blacklist",), nested_json(1000))
    ),
    "nested arrays as recipients": json_only(
        lambda request: with_member(request, ("order", "message"), nested_json(1000))
    ),
    "unknown encoding": xml_only(prolog("foo")),
    "encoding that is no text encoding": xml_only(prolog("base64")),
    "form without data": form_only(
        lambda request: b"request=" + quote_from_bytes(xml_of(request).encode()).encode()
    ),
    "form with empty data": form_only(lambda request: b"data=&x=1"),
    "form with raw invalid utf-8": form_only(
        lambda request: b"x=\xff&data=" + quote_from_bytes(xml_of(request).encode()).encode()
    ),
}


def limit_of(action: str) -> int:
    """The largest body an action reads (send-sms: up to 50,000 recipients)."""
    defaults = Settings()
    return defaults.max_send_body_bytes if ACTIONS[action].large_body else defaults.max_body_bytes


def bad_bodies(action: str, request: dict[str, Any], enc: str) -> dict[str, bytes]:
    """Every unparseable body of an action in an encoding, by name, each built around
    the action's valid (authenticated) ``request``."""
    out = {
        name: bad.build(request, enc) for name, bad in BAD_BODIES.items() if enc in bad.encodings
    }
    limit = limit_of(action)
    out[f"body over {limit} bytes"] = padded(request, enc, limit + 1)
    if enc != "json":  # opening tags up to the limit (once: 13 s and 780 MiB to refuse)
        tag_size = len(wrap(b"<x><x>", enc)) - len(wrap(b"<x>", enc))  # 3 raw, 7 in a form
        tags = wrap(b"<request>" + b"<x>" * ((limit - 64) // tag_size), enc)
        assert limit - 100 <= len(tags) <= limit
        out["nothing but opening tags"] = tags
    for spec in BLACKLIST:
        if spec.name == action:
            for name, shape in spec.bad_shapes:
                out[name] = body_of({"authentication": request["authentication"], **shape}, enc)
    return out


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("seeded", BLACKLIST_NAMES, indirect=True)
async def test_body_of_exactly_1_mib_is_read(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec, enc: str
) -> None:
    body = padded(full_request(seeded, account, seeded.ok), enc, MAX_BODY)
    assert len(body) == MAX_BODY
    r = await client.post(path_of(seeded.name, enc), content=body)
    assert r.status_code == 200
    check_envelope(r, enc)
    assert await listed(runtime, account) == (seeded.ok.stored or seeded.seed)


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("seeded", ["add-blacklist"], indirect=True)
async def test_streamed_body_is_read_in_chunks_and_limited(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec, enc: str
) -> None:
    request = full_request(seeded, account, seeded.ok)
    too_big = padded(request, enc, MAX_BODY + 1)
    r = await client.post(path_of(seeded.name, enc), content=_chunks(too_big, 64 * 1024))
    assert r.status_code == 400
    check_envelope(r, enc)
    assert await listed(runtime, account) == seeded.seed

    r = await client.post(path_of(seeded.name, enc), content=_chunks(body_of(request, enc), 7))
    assert r.status_code == 200
    check_envelope(r, enc)
    assert await listed(runtime, account) == seeded.ok.stored


# -- 404: unknown actions, wrong methods, wrong suffixes -----------------------------------


def _not_found_cases() -> list[Any]:
    params = [
        pytest.param("POST", "/v1/no-such-action/json", "json", id="unknown-json"),
        pytest.param("POST", "/v1/no-such-action", "xml", id="unknown-xml"),
        pytest.param("POST", "/v1/", "xml", id="no-action"),
        pytest.param("POST", "/v1/json", "json", id="json-alone"),
        pytest.param("POST", "/v1/send-sms-x/json", "json", id="near-name"),
    ]
    return params


def _not_found_of(action: str) -> list[tuple[str, str, str]]:
    """(method, path, encoding of the answer) that miss an existing action."""
    return [
        ("GET", f"/v1/{action}/json", "json"),
        ("GET", f"/v1/{action}", "xml"),
        ("PUT", f"/v1/{action}/json", "json"),
        ("DELETE", f"/v1/{action}", "xml"),
        ("POST", f"/v1/{action}/xml", "xml"),
        ("POST", f"/v1/{action}/json/more", "xml"),
    ]


@pytest.mark.parametrize("action", [a for a in EVERY_ACTION if encodings_of(a) == ("json",)])
async def test_json_only_actions_have_no_xml_path(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, action: str
) -> None:
    """The İYS consent actions are JSON only (spec §10: the provider publishes no XML
    form): their bare and GET paths are 404 in XML whatever the body, nothing stored."""
    prepared = await prepare(client, account, action)
    before = await snapshot(runtime)
    for path in (f"/v1/{action}", f"/v1/{action}/", f"/v1/{action}/get/"):
        for method in ("POST", "GET"):
            await assert_not_found(
                client, method, path, "xml", request_of(action, account, prepared)
            )
    assert await snapshot(runtime) == before


async def assert_not_found(
    client: httpx.AsyncClient, method: str, path: str, enc: str, request: dict[str, Any]
) -> None:
    for body in (body_of(request, "json"), body_of(request, "xml"), b"{not json <nor xml"):
        r = await client.request(method, path, content=body)
        assert r.status_code == 404, (method, path)
        check_envelope(r, enc)


@pytest.mark.parametrize(("method", "path", "enc"), _not_found_cases())
async def test_not_found(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    method: str,
    path: str,
    enc: str,
) -> None:
    """404 comes before anything else: valid credentials do not help, a broken body does
    not turn it into a 400, and nothing is stored."""
    good = {**credentials(account, GOOD), "blacklist": {"number": E1}}
    await assert_not_found(client, method, path, enc, good)
    assert await listed(runtime, account) == ()


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_not_found_on_a_known_action(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, action: str
) -> None:
    """A wrong method or suffix on an existing action is 404 too, with the action's own
    valid request, and nothing is stored."""
    prepared = await prepare(client, account, action)
    before = await snapshot(runtime)
    for method, path, enc in _not_found_of(action):
        await assert_not_found(client, method, path, enc, request_of(action, account, prepared))
    assert await snapshot(runtime) == before


# -- what the transport must tolerate -------------------------------------------------------


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("seeded", BLACKLIST_NAMES, indirect=True)
async def test_trailing_slash(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec, enc: str
) -> None:
    body = body_of(full_request(seeded, account, seeded.ok), enc)
    r = await client.post(path_of(seeded.name, enc) + "/", content=body)
    assert r.status_code == 200
    response = check_envelope(r, enc)
    expected = seeded.ok.payload or {}
    assert {k: v for k, v in response.items() if k != "status"} == (
        expected if enc == "json" else as_xml(expected)
    )
    assert await listed(runtime, account) == (seeded.ok.stored or seeded.seed)


CONTENT_TYPES = (
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "application/xml",
)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("seeded", BLACKLIST_NAMES, indirect=True)
async def test_content_type_is_ignored(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Issued,
    seeded: ActionSpec,
    enc: str,
    content_type: str | None,
) -> None:
    body = body_of(full_request(seeded, account, seeded.ok), enc)
    headers = {"content-type": content_type} if content_type else {}
    r = await client.post(path_of(seeded.name, enc), content=body, headers=headers)
    assert r.request.headers.get("content-type") == content_type
    assert r.status_code == 200
    check_envelope(r, enc)
    assert await listed(runtime, account) == (seeded.ok.stored or seeded.seed)


@pytest.mark.parametrize("enc", ["xml", "form"])
@pytest.mark.parametrize("seeded", ["add-blacklist"], indirect=True)
async def test_xml_prolog_cdata_and_whitespace(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec, enc: str
) -> None:
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<request>\n  <authentication>\n"
        f"    <key><![CDATA[{account.account.key}]]></key>\n"
        f"    <hash>\n      {account.hash}\n    </hash>\n"
        "  </authentication>\n"
        "  <blacklist><number><![CDATA[ +90 (533) 000-01-00 ]]></number></blacklist>\n"
        "</request>\n"
    ).encode()
    r = await client.post(
        path_of(seeded.name, enc),
        content=wrap(b"\n " + document if enc == "xml" else document, enc),
    )
    assert r.status_code == 200
    check_envelope(r, enc)
    assert await listed(runtime, account) == (N1, N2)


@pytest.mark.parametrize("seeded", ["add-blacklist"], indirect=True)
async def test_form_field_with_plus_for_space_and_other_fields(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec
) -> None:
    """What a PHP client's http_build_query sends: spaces as ``+``, more fields around."""
    request = {**credentials(account, GOOD), "blacklist": {"number": "+90 533 000 01 00"}}
    body = urlencode({"user": "x", "data": xml_of(request), "lang": "tr"}).encode()
    assert b"+90" not in body and b"+533" in body
    r = await client.post(path_of(seeded.name, "form"), content=body)
    assert r.status_code == 200
    check_envelope(r, "form")
    assert await listed(runtime, account) == (N1, N2)


@pytest.mark.parametrize("seeded", ["add-blacklist"], indirect=True)
async def test_json_unicode_escapes(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec
) -> None:
    """Every character of key, hash and number sent as a ``\\uXXXX`` escape (what
    ``ensure_ascii`` clients produce for Turkish text) decodes to the same request."""

    def escaped(text: str) -> str:
        return "".join(f"\\u{ord(ch):04x}" for ch in text)

    key, hash_hex, number = (
        escaped(account.account.key),
        escaped(account.hash),
        escaped("+905330000100"),
    )
    body = (
        f'{{"request": {{"authentication": {{"key": "{key}", "hash": "{hash_hex}"}}, '
        f'"blacklist": {{"number": "{number}"}}, "not\\u015fe": "\\u015f\\u00fc"}}}}'
    ).encode()
    assert account.account.key.encode() not in body
    r = await client.post(path_of(seeded.name, "json"), content=body)
    assert r.status_code == 200
    check_envelope(r, "json")
    assert await listed(runtime, account) == (N1, N2)


@pytest.mark.parametrize("seeded", ["get-blacklist"], indirect=True)
async def test_numeric_fields_as_numbers_or_strings(
    client: httpx.AsyncClient, account: Issued, seeded: ActionSpec
) -> None:
    creds = credentials(account, GOOD)
    answers = []
    for page, row_count in ((2, 1), ("2", "1"), ("2", 1)):
        request = {**creds, "blacklist": {"page": page, "rowCount": row_count}}
        for enc in ENCODINGS:
            r = await client.post(path_of(seeded.name, enc), content=body_of(request, enc))
            assert r.status_code == 200, (page, row_count, enc)
            response = check_envelope(r, enc)
            blacklist = response["blacklist"]
            if enc != "json":
                blacklist = {"count": int(blacklist["count"]), "number": [blacklist["number"]]}
            answers.append(blacklist)
    assert answers == [{"count": 3, "number": [E2]}] * len(answers)


@pytest.mark.parametrize("seeded", ["add-blacklist"], indirect=True)
async def test_json_integer_number(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, seeded: ActionSpec
) -> None:
    for number in (905330000100, 5330000101):
        request = {**credentials(account, GOOD), "blacklist": {"number": number}}
        r = await client.post(path_of(seeded.name, "json"), content=body_of(request, "json"))
        assert r.status_code == 200
        check_envelope(r, "json")
    assert await listed(runtime, account) == (N1, N2, N3)


@pytest.mark.parametrize("enc", ["xml", "form"])
@pytest.mark.parametrize("seeded", ["get-blacklist"], indirect=True)
async def test_xml_empty_elements_mean_absent(
    client: httpx.AsyncClient, account: Issued, seeded: ActionSpec, enc: str
) -> None:
    """``<filter/>``, ``<page></page>``: what XML clients send for "not given"."""
    request = {**credentials(account, GOOD), "blacklist": {"filter": None, "page": None}}
    r = await client.post(path_of(seeded.name, enc), content=body_of(request, enc))
    assert r.status_code == 200
    assert check_envelope(r, enc)["blacklist"] == as_xml({"count": 3, "number": [E1, E2, E3]})


@pytest.mark.parametrize("enc", ENCODINGS)
async def test_empty_request_is_401_not_400(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, enc: str
) -> None:
    """``{"request": {}}`` and ``<request/>`` parse; they lack authentication."""
    for action in [a for a in sorted(ACTIONS) if enc in encodings_of(a)]:
        body = b'{"request": {}}' if enc == "json" else wrap(b"<request/>", enc)
        r = await client.post(path_of(action, enc), content=body)
        assert r.status_code == 401
        check_envelope(r, enc)
    assert await listed(runtime, account) == ()


async def test_utf8_byte_order_mark_is_accepted(client: httpx.AsyncClient) -> None:
    """Some clients (.NET) start UTF-8 bodies with a byte-order mark: still a request."""
    body = '{"request":{"authentication":{"key":"x","hash":"y"}}}'
    r = await client.post("/v1/get-blacklist/json", content=b"\xef\xbb\xbf" + body.encode())
    assert r.status_code == 401
    assert r.json() == {"response": {"status": {"code": 401, "message": MESSAGES[401]}}}
    xml = "<request><authentication><key>x</key><hash>y</hash></authentication></request>"
    r = await client.post("/v1/get-blacklist", content=b"\xef\xbb\xbf" + xml.encode())
    assert r.status_code == 401
    assert "<code>401</code>" in r.text
