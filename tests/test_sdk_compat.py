"""Programs written for the real iletiMerkezi service, pointed at ileti, work unchanged:
the blacklist calls (add-blacklist, delete-blacklist, get-blacklist).

Two kinds of client are reproduced here, as test data written for this project:

* The official SDKs (Python, Node, PHP, Go). For each, the exact request it sends
  (path, headers, body bytes: key order, separators, number types, filter shape)
  and the way it reads the answer: Python decides success from the body's code
  compared to the integer 200 and json-parses error bodies; Node, PHP and Go decide
  from the HTTP status and read ``response.status`` and ``response.blacklist``.
* The curl lines of the provider's documentation (JSON), and the documented XML
  bodies as curl lines, changed only in the base URL. They are parsed the way a
  shell and curl read them, and replayed with the headers curl adds.

Every test asserts what the client sees (HTTP status, body code, exact message, the
SDK's own reading) and what is stored afterwards. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import httpx
import pytest

from ileti import numbers
from ileti.api.runtime import Runtime
from ileti.services.accounts import Issued
from ileti.values import MAX_ROWS, Page
from tests.support.spec import JSON_TYPE, MESSAGES, XML_TYPE, error, status

OK = (200, MESSAGES[200])
BAD_REQUEST = (400, MESSAGES[400])
UNAUTHORIZED = (401, MESSAGES[401])
UNPROCESSABLE = (422, MESSAGES[422])
BAD_DATE = (458, MESSAGES[458])
BAD_NUMBER = (466, MESSAGES[466])
NOT_LISTED = (474, MESSAGES[474])

WRONG_HASH = "0" * 64
PAST = "2000-01-01 00:00:00"
FUTURE = "2099-12-31 23:59:59"


async def listed(runtime: Runtime, account: Issued) -> list[str]:
    """What the store holds for the account, in get-blacklist order."""
    page = await runtime.blacklist.page(account.account.id, Page(1, MAX_ROWS))
    return [numbers.e164(n) for n in page.numbers]


# --------------------------------------------------------------------------------------
# The SDKs: what each sends, and how each reads the answer.


@dataclass(frozen=True)
class View:
    """A response as one SDK's response object presents it."""

    ok: bool
    code: Any
    message: Any
    count: int | None = None  # None: the SDK cannot read it (see Go)
    numbers: list[str] | None = None


def _q(text: str) -> str:
    return json.dumps(text)  # every value here is ASCII without "/": all SDKs agree


@dataclass(frozen=True)
class Sdk:
    name: str
    headers: dict[str, str]
    number_body: Callable[[str, str, str], str]
    list_body: Callable[[str, str, int, str | None, str | None], str]
    read: Callable[[httpx.Response], View]


# Python (iletimerkezi-python, urllib): json.dumps defaults (", " and ": ", ASCII);
# "page" an int, "rowCount" the int 1000; a filter only when both dates are given.
def _py_number(key: str, hash_: str, number: str) -> str:
    return (
        f'{{"request": {{"authentication": {{"key": {_q(key)}, "hash": {_q(hash_)}}}, '
        f'"blacklist": {{"number": {_q(number)}}}}}}}'
    )


def _py_list(key: str, hash_: str, page: int, start: str | None, end: str | None) -> str:
    extra = ""
    if start and end:
        extra = f', "filter": {{"start": {_q(start)}, "end": {_q(end)}}}'
    return (
        f'{{"request": {{"authentication": {{"key": {_q(key)}, "hash": {_q(hash_)}}}, '
        f'"blacklist": {{"page": {page}, "rowCount": 1000{extra}}}}}}}'
    )


def _py_read(r: httpx.Response) -> View:
    # UrllibHttpClient: json.loads(body.decode("utf-8")) on success and on HTTPError alike.
    data = json.loads(r.content.decode("utf-8")).get("response", {})
    status = data.get("status", {})
    ok = status.get("code") == 200  # BaseResponse.ok(): the body's code against int 200
    blacklist = data.get("blacklist", {})
    return View(
        ok=ok,
        code=status.get("code"),
        message=None if ok else status.get("message"),
        count=int(blacklist.get("count", 0)),
        numbers=blacklist.get("number", []),
    )


# Node (iletimerkezi-node, axios): JSON.stringify, compact; "filter" first, only the
# truthy dates, and present (possibly {}) whenever a filter object is passed.
def _node_number(key: str, hash_: str, number: str) -> str:
    return (
        f'{{"request":{{"authentication":{{"key":{_q(key)},"hash":{_q(hash_)}}},'
        f'"blacklist":{{"number":{_q(number)}}}}}}}'
    )


def _node_list(key: str, hash_: str, page: int, start: str | None, end: str | None) -> str:
    if start is None and end is None:
        return _node_list_filter(key, hash_, page, None)
    return _node_list_filter(key, hash_, page, {"start": start or "", "end": end or ""})


def _node_list_filter(key: str, hash_: str, page: int, flt: dict[str, str] | None) -> str:
    head = ""
    if flt is not None:
        inner = ",".join(f'"{k}":{_q(v)}' for k, v in flt.items() if v)
        head = f'"filter":{{{inner}}},'
    return (
        f'{{"request":{{"authentication":{{"key":{_q(key)},"hash":{_q(hash_)}}},'
        f'"blacklist":{{{head}"page":{page},"rowCount":1000}}}}}}'
    )


def _node_read(r: httpx.Response) -> View:
    # axios validateStatus: status < 500, or it throws instead of returning a response.
    assert r.status_code < 500
    data = (json.loads(r.content) or {}).get("response") or {}
    status = data.get("status") or {}
    blacklist = data.get("blacklist") or {}
    return View(
        ok=r.status_code == 200,  # BaseResponse.ok(): the HTTP status
        code=status.get("code") or "",
        message=status.get("message") or "",
        count=blacklist.get("count") or 0,
        numbers=blacklist.get("number") or [],
    )


# PHP (iletimerkezi-php, curl client): json_encode, compact; "page", "rowCount", then a
# "filter" with both keys when either date is given, the missing one as null.
def _php_list(key: str, hash_: str, page: int, start: str | None, end: str | None) -> str:
    tail = ""
    if start or end:
        s = "null" if start is None else _q(start)
        e = "null" if end is None else _q(end)
        tail = f',"filter":{{"start":{s},"end":{e}}}'
    return (
        f'{{"request":{{"authentication":{{"key":{_q(key)},"hash":{_q(hash_)}}},'
        f'"blacklist":{{"page":{page},"rowCount":1000{tail}}}}}}}'
    )


def _php_read(r: httpx.Response) -> View:
    body = json.loads(r.content)
    assert isinstance(body, dict)  # getBody(): array; anything else is a TypeError
    data = body.get("response") or {}
    status = data.get("status") or {}
    blacklist = data.get("blacklist") or {}
    return View(
        ok=r.status_code == 200,  # BaseResponse: $httpStatusCode === 200
        code=r.status_code,  # code() returns the HTTP status
        message=status.get("message", "Unknown error"),
        count=int(blacklist.get("count", 0)),
        numbers=blacklist.get("number", []),
    )


# Go (iletimerkezi-go, net/http): json.Marshal of maps, so keys sorted, compact; only
# the given dates in "filter"; rowCount min(r, 1000), 100 when r < 1; page at least 1.
def _go_number(key: str, hash_: str, number: str) -> str:
    return (
        f'{{"request":{{"authentication":{{"hash":{_q(hash_)},"key":{_q(key)}}},'
        f'"blacklist":{{"number":{_q(number)}}}}}}}'
    )


def _go_list_rows(
    key: str, hash_: str, page: int, start: str | None, end: str | None, rows: int
) -> str:
    page = max(page, 1)
    rows = 100 if rows < 1 else min(rows, 1000)
    head = ""
    if start is not None or end is not None:
        parts = ([f'"end":{_q(end)}'] if end is not None else []) + (
            [f'"start":{_q(start)}'] if start is not None else []
        )
        head = f'"filter":{{{",".join(parts)}}},'
    return (
        f'{{"request":{{"authentication":{{"hash":{_q(hash_)},"key":{_q(key)}}},'
        f'"blacklist":{{{head}"page":{page},"rowCount":{rows}}}}}}}'
    )


def _go_list(key: str, hash_: str, page: int, start: str | None, end: str | None) -> str:
    return _go_list_rows(key, hash_, page, start, end, 1000)


def _go_read(r: httpx.Response) -> View:
    body = json.loads(r.content)  # json.Unmarshal into map[string]interface{}
    assert isinstance(body, dict)
    data = body["response"]  # resp.Body["response"].(map[string]interface{}): panics if not
    assert isinstance(data, dict)
    status = data.get("status")
    message = status.get("message") if isinstance(status, dict) else None
    blacklist = data.get("blacklist")
    found: list[str] | None = None
    if isinstance(blacklist, dict) and isinstance(blacklist.get("number"), list):
        found = [n for n in blacklist["number"] if isinstance(n, str)]
    # The SDK reads count with `.(int)`, which a JSON number (float64) never matches:
    # its Total is always 0 (an SDK bug). We still require an integer on the wire.
    if isinstance(blacklist, dict):
        assert type(blacklist["count"]) is int
    return View(
        ok=r.status_code == 200,  # BaseResponse.Ok(): the HTTP status
        code=r.status_code,
        message=message if isinstance(message, str) else "",
        count=None,
        numbers=found,
    )


SDKS = [
    Sdk(
        "python",
        {
            "Accept-Encoding": "identity",
            "User-Agent": "Python-urllib/3.11",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Connection": "close",
        },
        _py_number,
        _py_list,
        _py_read,
    ),
    Sdk(
        "node",
        {
            "Accept": "application/json, text/plain, */*",
            "Content-Type": "application/json",
            "User-Agent": "IletiMerkezi-Node/1.0.1",
            "Accept-Encoding": "gzip, compress, deflate, br",
            "Connection": "keep-alive",
        },
        _node_number,
        _node_list,
        _node_read,
    ),
    Sdk(
        "php",
        {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": "IletiMerkezi-PHP/iletimerkezi-php/v1.0.0",
        },
        _node_number,  # json_encode gives the same bytes as JSON.stringify here
        _php_list,
        _php_read,
    ),
    Sdk(
        "go",
        {
            "User-Agent": "Go-http-client/1.1",
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip",
        },
        _go_number,
        _go_list,
        _go_read,
    ),
]


async def post(client: httpx.AsyncClient, sdk: Sdk, path: str, body: str) -> View:
    # Every SDK joins "https://api.iletimerkezi.com/v1/" and "<action>/json".
    r = await client.post(f"/v1/{path}", content=body.encode("utf-8"), headers=sdk.headers)
    assert r.headers["content-type"] == JSON_TYPE
    envelope = json.loads(r.content)["response"]
    # The contract all four rely on between them: HTTP status == the body's int code.
    assert type(envelope["status"]["code"]) is int
    assert envelope["status"]["code"] == r.status_code
    return sdk.read(r)


def expect(view: View, sdk: Sdk, outcome: tuple[int, str]) -> None:
    code, message = outcome
    assert view.ok is (code == 200)
    if sdk.name == "python":
        assert view.code == code  # the body's code, an int
        assert view.message == (None if code == 200 else message)  # get_error()
    else:
        assert view.code == code
        assert view.message == message


def add(sdk: Sdk, who: Issued, number: str, hash_: str | None = None) -> tuple[str, str]:
    return "add-blacklist/json", sdk.number_body(who.account.key, hash_ or who.hash, number)


def delete(sdk: Sdk, who: Issued, number: str, hash_: str | None = None) -> tuple[str, str]:
    return "delete-blacklist/json", sdk.number_body(who.account.key, hash_ or who.hash, number)


def get(
    sdk: Sdk,
    who: Issued,
    page: int = 1,
    start: str | None = None,
    end: str | None = None,
    hash_: str | None = None,
) -> tuple[str, str]:
    return "get-blacklist/json", sdk.list_body(who.account.key, hash_ or who.hash, page, start, end)


sdk_param = pytest.mark.parametrize("sdk", SDKS, ids=[s.name for s in SDKS])


@sdk_param
async def test_sdk_add_is_idempotent_and_delete_removes(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, sdk: Sdk
) -> None:
    expect(await post(client, sdk, *add(sdk, account, "+905330000099")), sdk, OK)
    expect(await post(client, sdk, *add(sdk, account, "905330000099")), sdk, OK)
    expect(await post(client, sdk, *add(sdk, account, "5330000100")), sdk, OK)
    assert await listed(runtime, account) == ["+905330000099", "+905330000100"]

    expect(await post(client, sdk, *delete(sdk, account, "05330000099")), sdk, OK)
    assert await listed(runtime, account) == ["+905330000100"]
    expect(await post(client, sdk, *delete(sdk, account, "+905330000099")), sdk, NOT_LISTED)
    assert await listed(runtime, account) == ["+905330000100"]


@sdk_param
async def test_sdk_invalid_number_is_466_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, sdk: Sdk
) -> None:
    expect(await post(client, sdk, *add(sdk, account, "+905330000099")), sdk, OK)
    for bad in ("905999000000", "+4915112345678", "12345", ""):
        expect(await post(client, sdk, *add(sdk, account, bad)), sdk, BAD_NUMBER)
        expect(await post(client, sdk, *delete(sdk, account, bad)), sdk, BAD_NUMBER)
    assert await listed(runtime, account) == ["+905330000099"]


@sdk_param
async def test_sdk_wrong_hash_is_401_for_every_call_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, sdk: Sdk
) -> None:
    expect(await post(client, sdk, *add(sdk, account, "+905330000099")), sdk, OK)
    for path, body in (
        add(sdk, account, "+905330000100", WRONG_HASH),
        delete(sdk, account, "+905330000099", WRONG_HASH),
        get(sdk, account, hash_=WRONG_HASH),
    ):
        view = await post(client, sdk, path, body)
        expect(view, sdk, UNAUTHORIZED)
        assert view.numbers in ([], None)  # an error carries status only
    assert await listed(runtime, account) == ["+905330000099"]


@sdk_param
async def test_sdk_list_and_next_page(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, sdk: Sdk
) -> None:
    wanted = ["+905330000099", "+905330000100", "+905330000101"]
    for number in wanted:
        expect(await post(client, sdk, *add(sdk, account, number)), sdk, OK)

    first = await post(client, sdk, *get(sdk, account))
    expect(first, sdk, OK)
    assert first.numbers == wanted
    assert first.count in (3, None)
    if sdk.name == "python":  # total_pages(): ceil(count / 1000)
        assert first.count is not None and math.ceil(first.count / 1000) == 1

    second = await post(client, sdk, *get(sdk, account, page=2))  # the SDKs' next()
    expect(second, sdk, OK)
    assert second.numbers == []
    assert second.count in (3, None)


@sdk_param
async def test_sdk_list_with_date_filter(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued, sdk: Sdk
) -> None:
    expect(await post(client, sdk, *add(sdk, account, "+905330000099")), sdk, OK)

    view = await post(client, sdk, *get(sdk, account, start=PAST, end=FUTURE))
    expect(view, sdk, OK)
    assert view.numbers == ["+905330000099"]
    view = await post(client, sdk, *get(sdk, account, start=FUTURE, end=FUTURE))
    expect(view, sdk, OK)
    assert view.numbers == [] and view.count in (0, None)
    view = await post(client, sdk, *get(sdk, account, start="27/09/2024 01:10", end=FUTURE))
    expect(view, sdk, BAD_DATE)


async def test_node_filter_shapes(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    """list(page, {}) sends "filter": {}; list(page, {start}) sends the start alone."""
    node = SDKS[1]
    key, hash_ = account.account.key, account.hash
    expect(await post(client, node, *add(node, account, "+905330000099")), node, OK)
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({}, ["+905330000099"]),
        ({"start": PAST}, ["+905330000099"]),
        ({"start": FUTURE}, []),
        ({"end": PAST}, []),
        ({"end": FUTURE}, ["+905330000099"]),
        ({"start": "", "end": ""}, ["+905330000099"]),  # falsy dates are left out
    ]
    for flt, wanted in cases:
        body = _node_list_filter(key, hash_, 1, flt)
        view = await post(client, node, "get-blacklist/json", body)
        expect(view, node, OK)
        assert view.numbers == wanted, flt
        assert view.count == len(wanted)


async def test_php_filter_with_one_date_sends_null_for_the_other(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    php = SDKS[2]
    expect(await post(client, php, *add(php, account, "+905330000099")), php, OK)
    body = _php_list(account.account.key, account.hash, 1, PAST, None)
    assert '"end":null' in body
    view = await post(client, php, "get-blacklist/json", body)
    expect(view, php, OK)
    assert view.numbers == ["+905330000099"] and view.count == 1
    view = await post(client, php, *get(php, account, start=None, end=PAST))
    expect(view, php, OK)
    assert view.numbers == [] and view.count == 0


async def test_go_row_count_paging_and_its_default_of_100(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    go = SDKS[3]
    key, hash_ = account.account.key, account.hash
    wanted = ["+905330000099", "+905330000100", "+905330000101"]
    for number in wanted:
        expect(await post(client, go, *add(go, account, number)), go, OK)
    for page, rows, expected in ((1, 2, wanted[:2]), (2, 2, wanted[2:]), (1, 0, wanted)):
        body = _go_list_rows(key, hash_, page, None, None, rows)
        view = await post(client, go, "get-blacklist/json", body)
        expect(view, go, OK)
        assert view.numbers == expected
    body = _go_list_rows(key, hash_, 1, PAST, None, 1000)
    assert '"filter":{"start":' in body
    view = await post(client, go, "get-blacklist/json", body)
    assert view.numbers == wanted


# --------------------------------------------------------------------------------------
# The documentation's curl lines. JSON: the code samples of the add-, delete- and
# get-blacklist pages; XML: the documented request bodies for the bare paths, as curl
# lines. Only the base URL differs from the provider's. The shell expands the two
# environment variables; curl adds "User-Agent: curl/..." and "Accept: */*", and with
# -d and no Content-Type of its own, "application/x-www-form-urlencoded".

BASE = "http://127.0.0.1:8080"

CURL_ADD_JSON = f"""curl -X POST '{BASE}/v1/add-blacklist/json' \\
  -H 'Content-Type: application/json' \\
  -d '{{
    "request": {{
      "authentication": {{
        "key": "'"$ILETIMERKEZI_API_KEY"'",
        "hash": "'"$ILETIMERKEZI_API_HASH"'"
      }},
      "blacklist": {{
        "number": "905330000099"
      }}
    }}
  }}'"""

CURL_DELETE_JSON = CURL_ADD_JSON.replace("/v1/add-blacklist/json", "/v1/delete-blacklist/json")

CURL_GET_JSON = f"""curl -X POST '{BASE}/v1/get-blacklist/json' \\
  -H 'Content-Type: application/json' \\
  -d '{{
    "request": {{
      "authentication": {{
        "key": "'"$ILETIMERKEZI_API_KEY"'",
        "hash": "'"$ILETIMERKEZI_API_HASH"'"
      }}
    }}
  }}'"""

CURL_GET_FILTER_JSON = f"""curl -X POST '{BASE}/v1/get-blacklist/json' \\
  -H 'Content-Type: application/json' \\
  -d '{{
    "request": {{
      "authentication": {{
        "key": "'"$ILETIMERKEZI_API_KEY"'",
        "hash": "'"$ILETIMERKEZI_API_HASH"'"
      }},
      "blacklist": {{
        "filter": {{
          "start": "2000-01-01 00:00:00",
          "end": "2099-12-31 23:59:59"
        }},
        "page": "1",
        "rowCount": "100"
      }}
    }}
  }}'"""

# The documented request template, with its values left empty as shown.
CURL_GET_TEMPLATE_JSON = f"""curl -X POST '{BASE}/v1/get-blacklist/json' \\
  -H 'Content-Type: application/json' \\
  -d '{{"request":{{"authentication":{{"key":"'"$ILETIMERKEZI_API_KEY"'",\
"hash":"'"$ILETIMERKEZI_API_HASH"'"}},"blacklist":{{"filter":{{"start":"","end":""}},\
"page":"","rowCount":""}}}}}}'"""

CURL_ADD_XML = f"""curl -X POST '{BASE}/v1/add-blacklist' \\
  -H 'Content-Type: text/xml; charset=utf-8' \\
  --data-binary '<?xml version="1.0" encoding="UTF-8"?>
<request>
  <authentication>
    <key>'"$ILETIMERKEZI_API_KEY"'</key>
    <hash>'"$ILETIMERKEZI_API_HASH"'</hash>
  </authentication>
  <blacklist>
    <number>905330000099</number>
  </blacklist>
</request>'"""

# The XML page for delete shows the add URL (a known slip); the delete path is used.
CURL_DELETE_XML_FORM = f"""curl -X POST '{BASE}/v1/delete-blacklist' \\
  --data-urlencode 'data=<request><authentication><key>'"$ILETIMERKEZI_API_KEY"'</key>\
<hash>'"$ILETIMERKEZI_API_HASH"'</hash></authentication>\
<blacklist><number>905330000099</number></blacklist></request>'"""

CURL_ADD_XML_PLAIN_D = f"""curl -X POST '{BASE}/v1/add-blacklist' \\
  -d '<request><authentication><key>'"$ILETIMERKEZI_API_KEY"'</key>\
<hash>'"$ILETIMERKEZI_API_HASH"'</hash></authentication>\
<blacklist><number><![CDATA[+90 533 000 01 00]]></number></blacklist></request>'"""

CURL_GET_XML = f"""curl -X POST '{BASE}/v1/get-blacklist' \\
  -H 'Content-Type: text/xml' \\
  --data-binary '<request>
  <authentication>
    <key>'"$ILETIMERKEZI_API_KEY"'</key>
    <hash>'"$ILETIMERKEZI_API_HASH"'</hash>
  </authentication>
  <blacklist>
    <filter>
      <start>2000-01-01 00:00:00</start>
      <end>2099-12-31 23:59:59</end>
    </filter>
    <page>1</page>
    <rowCount>1000</rowCount>
  </blacklist>
</request>'"""

CURL_GET_TEMPLATE_XML = f"""curl -X POST '{BASE}/v1/get-blacklist' \\
  -H 'Content-Type: text/xml' \\
  --data-binary '<request><authentication><key>'"$ILETIMERKEZI_API_KEY"'</key>\
<hash>'"$ILETIMERKEZI_API_HASH"'</hash></authentication><blacklist><filter><start></start>\
<end></end></filter><page></page><rowCount></rowCount></blacklist></request>'"""


@dataclass(frozen=True)
class CurlRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def read_curl(line: str, env: dict[str, str]) -> CurlRequest:
    """What a shell and curl 7.88 make of a curl line: method, path, headers, body."""
    for name, value in env.items():  # expansion inside the double-quoted pieces
        line = line.replace(f'"${name}"', f'"{value}"')
    words = shlex.split(line.replace("\\\n", " "))
    assert words[0] == "curl"
    method, url = "GET", ""
    headers = {"User-Agent": "curl/7.88.1", "Accept": "*/*"}
    data: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word == "-X":
            method, i = words[i + 1], i + 2
        elif word == "-H":
            name, _, value = words[i + 1].partition(":")
            headers[name.strip()] = value.strip()
            i += 2
        elif word in ("-d", "--data", "--data-binary", "--data-raw"):
            data.append(words[i + 1])
            i += 2
        elif word == "--data-urlencode":
            name, _, content = words[i + 1].partition("=")
            data.append(f"{name}={quote(content, safe='')}")
            i += 2
        else:
            url, i = word, i + 1
    if data:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        method = method if method != "GET" else "POST"
    return CurlRequest(method, urlsplit(url).path, headers, "&".join(data).encode("utf-8"))


async def run_curl(client: httpx.AsyncClient, line: str, who: Issued) -> tuple[int, Any]:
    env = {"ILETIMERKEZI_API_KEY": who.account.key, "ILETIMERKEZI_API_HASH": who.hash}
    req = read_curl(line, env)
    r = await client.request(req.method, req.path, content=req.body, headers=req.headers)
    if req.path.endswith("/json"):
        assert r.headers["content-type"] == JSON_TYPE
        response = json.loads(r.content)["response"]
        assert type(response["status"]["code"]) is int
    else:
        assert r.headers["content-type"] == XML_TYPE
        root = ElementTree.fromstring(r.content)
        assert root.tag == "response"
        response = {
            "status": {
                "code": int(root.findtext("status/code") or ""),
                "message": root.findtext("status/message"),
            }
        }
        blacklist = root.find("blacklist")
        if blacklist is not None:
            response["blacklist"] = {
                "count": int(blacklist.findtext("count") or ""),
                "number": [n.text for n in blacklist.findall("number")],
            }
    assert response["status"]["code"] == r.status_code
    return r.status_code, response


def test_read_curl_reproduces_what_curl_sends() -> None:
    env = {"ILETIMERKEZI_API_KEY": "k" * 32, "ILETIMERKEZI_API_HASH": "h" * 64}
    req = read_curl(CURL_ADD_JSON, env)
    assert (req.method, req.path) == ("POST", "/v1/add-blacklist/json")
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body) == {
        "request": {
            "authentication": {"key": "k" * 32, "hash": "h" * 64},
            "blacklist": {"number": "905330000099"},
        }
    }
    assert req.body.startswith(b'{\n    "request": {\n')  # sent as typed, newlines kept
    form = read_curl(CURL_DELETE_XML_FORM, env)
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form.body.startswith(b"data=%3Crequest%3E%3Cauthentication%3E%3Ckey%3Ekkkk")
    plain = read_curl(CURL_ADD_XML_PLAIN_D, env)
    assert plain.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert plain.body.startswith(b"<request><authentication><key>kkkk")


async def test_docs_curl_json_add_get_delete(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    ok = status(200)
    assert await run_curl(client, CURL_ADD_JSON, account) == (200, {"status": ok})
    assert await run_curl(client, CURL_ADD_JSON, account) == (200, {"status": ok})
    assert await listed(runtime, account) == ["+905330000099"]
    page = {"status": ok, "blacklist": {"count": 1, "number": ["+905330000099"]}}
    assert await run_curl(client, CURL_GET_JSON, account) == (200, page)
    assert await run_curl(client, CURL_GET_FILTER_JSON, account) == (200, page)
    assert await run_curl(client, CURL_GET_TEMPLATE_JSON, account) == (200, page)
    assert await run_curl(client, CURL_DELETE_JSON, account) == (200, {"status": ok})
    assert await listed(runtime, account) == []
    not_listed = error(474)
    assert await run_curl(client, CURL_DELETE_JSON, account) == (474, not_listed)
    empty = {"status": ok, "blacklist": {"count": 0, "number": []}}
    assert await run_curl(client, CURL_GET_JSON, account) == (200, empty)


async def test_docs_curl_json_errors(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    invalid = CURL_ADD_JSON.replace('"905330000099"', '"905999000000"')
    assert await run_curl(client, invalid, account) == (466, error(466))
    wrong = Issued(account.account, account.secret, WRONG_HASH)
    for line in (CURL_ADD_JSON, CURL_DELETE_JSON, CURL_GET_JSON):
        assert await run_curl(client, line, wrong) == (401, error(401))
    assert await listed(runtime, account) == []


async def test_docs_curl_xml_add_get_delete(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    ok = status(200)
    assert await run_curl(client, CURL_ADD_XML, account) == (200, {"status": ok})
    assert await run_curl(client, CURL_ADD_XML_PLAIN_D, account) == (200, {"status": ok})
    assert await listed(runtime, account) == ["+905330000099", "+905330000100"]
    both = {"count": 2, "number": ["+905330000099", "+905330000100"]}
    assert await run_curl(client, CURL_GET_XML, account) == (200, {"status": ok, "blacklist": both})
    assert await run_curl(client, CURL_GET_TEMPLATE_XML, account) == (
        200,
        {"status": ok, "blacklist": both},
    )
    assert await run_curl(client, CURL_DELETE_XML_FORM, account) == (200, {"status": ok})
    assert await listed(runtime, account) == ["+905330000100"]
    assert await run_curl(client, CURL_DELETE_XML_FORM, account) == (474, error(474))
    wrong = Issued(account.account, account.secret, WRONG_HASH)
    for line in (CURL_ADD_XML, CURL_DELETE_XML_FORM, CURL_GET_XML):
        assert await run_curl(client, line, wrong) == (401, error(401))
    invalid = CURL_ADD_XML.replace("<number>905330000099", "<number>905999000000")
    assert await run_curl(client, invalid, account) == (466, error(466))
    assert await listed(runtime, account) == ["+905330000100"]


async def test_empty_page_and_row_count_mean_not_given_in_both_encodings(
    client: httpx.AsyncClient, runtime: Runtime, account: Issued
) -> None:
    """The documented template leaves "page" and "rowCount" empty: JSON "" is read as
    an empty XML element is, as not given (page 1, 1000 rows). Text that is not a whole
    number is a value that fails validation (422, after authentication, as in every
    action); a value of the wrong JSON type is a body that does not parse (400, before
    authentication)."""
    node = SDKS[1]
    expect(await post(client, node, *add(node, account, "+905330000099")), node, OK)
    key, hash_ = _q(account.account.key), _q(account.hash)
    for page, rows in (('""', '""'), ('" "', '"2"'), ('"1"', '""')):
        body = (
            f'{{"request":{{"authentication":{{"key":{key},"hash":{hash_}}},'
            f'"blacklist":{{"page":{page},"rowCount":{rows}}}}}}}'
        )
        view = await post(client, node, "get-blacklist/json", body)
        expect(view, node, OK)
        assert view.numbers == ["+905330000099"]
    for page, rows in (('"abc"', "1"), ("1", '"ten"')):
        body = (
            f'{{"request":{{"authentication":{{"key":{key},"hash":{hash_}}},'
            f'"blacklist":{{"page":{page},"rowCount":{rows}}}}}}}'
        )
        expect(await post(client, node, "get-blacklist/json", body), node, UNPROCESSABLE)
        wrong = body.replace(account.hash, WRONG_HASH)
        expect(await post(client, node, "get-blacklist/json", wrong), node, UNAUTHORIZED)
    for page, rows in (("[]", "1"), ("true", "1"), ("1.5", "1")):
        body = (
            f'{{"request":{{"authentication":{{"key":{key},"hash":{hash_}}},'
            f'"blacklist":{{"page":{page},"rowCount":{rows}}}}}}}'
        )
        expect(await post(client, node, "get-blacklist/json", body), node, BAD_REQUEST)
        # unparseable comes before authentication (spec §1.4)
        wrong = body.replace(account.hash, WRONG_HASH)
        expect(await post(client, node, "get-blacklist/json", wrong), node, BAD_REQUEST)
