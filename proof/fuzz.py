"""The hostile-body generator: every input answered by the contract.

Starts a real ``ileti serve`` (SQLite; and PostgreSQL too when ILETI_TEST_POSTGRES_URL
is set), seeds one account, and sends it, in JSON, raw XML, XML in a form field and the
GET form of send-sms:

* the corpus of issue 9 (deep nesting, unknown encodings, NUL bytes, huge numbers,
  overflowing pages, 9999-12-31, trailing garbage, control characters, U+FFFE, lone
  surrogates, 50,000 recipients, truncated bodies, wrong content types, invalid UTF-8,
  byte-order marks, duplicate keys, XXE and billion laughs, ...), for every action;
* random mutations of valid requests (wrong types, hostile values, deleted and unknown
  members, deep nesting, byte-level damage), from a seed printed first (``--seed`` runs
  the same inputs again).

Every answer must be a well-formed envelope (JSON, or XML read by a strict parser) in
the request's encoding, HTTP status = ``response.status.code``, a code the action
documents (``ileti.api.actions``: ``/openapi.json`` lists the same), with the code's
exact message; a JSON success must carry what the document says. After every batch:
no ``Traceback`` in the server's output, ``/healthz`` ok, and the database's
fingerprint (balances, counts of orders, texts, messages, blacklist entries, webhooks)
changed only as the batch's successes explain: a batch whose writes were all refused
leaves it exactly as it was. One summary line per database; exit 1 on any anomaly, with
the input that caused it.

    python proof/fuzz.py                 # 100,000 inputs per database
    python proof/fuzz.py --quick         # 1,500 (CI)
    python proof/fuzz.py --count N --seed S --database URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import msgspec  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from ileti.api.actions import ACTIONS  # noqa: E402
from ileti.errors import Code  # noqa: E402
from ileti.store.engine import normalize_url  # noqa: E402

FULL, QUICK = 100_000, 1_500
BATCH = 250
CONNECTIONS = 8
KEY, SECRET = "fuzzkey0", "fuzz-secret"
HASH = hmac.new(SECRET.encode(), KEY.encode(), hashlib.sha256).hexdigest()
AUTH = {"key": KEY, "hash": HASH}
LISTED = "+905330000099"
NUMBERS = [f"+9053300{n:05d}" for n in range(100, 300)]
WRITES = frozenset({"add-blacklist", "delete-blacklist", "send-sms", "cancel-order"})
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
EXTRA_CODES = {Code.NOT_FOUND}  # a path no action has, or the wrong method


# -- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One request: what it is (``kind``), the action it reaches (None: none, 404)."""

    kind: str
    action: str | None
    method: str
    target: str
    body: bytes = b""
    content_type: str | None = None

    @property
    def json_answer(self) -> bool:
        return self.target.split("?", 1)[0].rstrip("/").endswith("/json")

    def codes(self) -> frozenset[int]:
        if self.action is None or (ACTIONS[self.action].json_only and not self.json_answer):
            # no action, or the XML path of a JSON-only one (İYS consent): 404
            return frozenset(int(c) for c in EXTRA_CODES)
        return frozenset(int(c) for c in ACTIONS[self.action].codes)

    def show(self) -> str:
        body = (
            self.body
            if len(self.body) <= 600
            else self.body[:600] + b"...(%d bytes)" % len(self.body)
        )
        return (
            f"[{self.kind}] {self.method} {self.target[:600]}"
            f" content-type={self.content_type!r} body={body!r}"
        )


def path_of(action: str, fmt: str) -> str:
    return f"/v1/{action}/json" if fmt == "json" else f"/v1/{action}"


def xml_of(tree: Any, tag: str = "request", cdata: bool = False) -> str:
    """A tree -> XML: lists as repeated elements, None as an empty element."""
    out: list[str] = []

    def emit(name: str, value: Any) -> None:
        if isinstance(value, list):
            if not value:
                out.append(f"<{name}/>")
            for item in value:
                emit(name, item)
            return
        out.append(f"<{name}>")
        if isinstance(value, dict):
            for child, child_value in value.items():
                emit(child, child_value)
        elif value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if cdata and "]]>" not in text:
                out.append(f"<![CDATA[{text}]]>")
            else:
                out.append(escape(text))
        out.append(f"</{name}>")

    emit(tag, tree)
    return "".join(out)


def encoded(text: str) -> bytes:
    """UTF-8, lone surrogates kept as their (invalid) three bytes."""
    return text.encode("utf-8", "surrogatepass")


def json_input(kind: str, action: str, request: Any, **extra: Any) -> Input:
    body = encoded(json.dumps({"request": request}, ensure_ascii=False))
    return Input(kind, action, "POST", path_of(action, "json"), body, JSON_TYPE, **extra)


def xml_input(kind: str, action: str, request: Any, form: bool = False) -> Input:
    document = encoded(xml_of(request))
    if form:
        body = b"data=" + quote(document, safe="").encode()
        return Input(
            kind, action, "POST", path_of(action, "xml"), body, "application/x-www-form-urlencoded"
        )
    return Input(kind, action, "POST", path_of(action, "xml"), document, XML_TYPE)


def get_input(kind: str, query: dict[str, Any] | str) -> Input:
    """The GET form of send-sms; values as UTF-8 (lone surrogates as their bytes)."""
    if not isinstance(query, str):
        query = urlencode({k: encoded(str(v)) for k, v in query.items() if v is not None})
    return Input(kind, "send-sms", "GET", "/v1/send-sms/get/?" + query)


def in_every_encoding(kind: str, action: str, request: Any) -> list[Input]:
    return [
        json_input(kind + "/json", action, request),
        xml_input(kind + "/xml", action, request),
        xml_input(kind + "/form", action, request, form=True),
    ]


def today(days: int = 0) -> str:
    return (datetime.now() + timedelta(days=days)).strftime("%Y-%m-%d")


@dataclass
class Known:
    """What the account holds, as the run learns it (order ids to refer to)."""

    orders: list[int] = field(default_factory=lambda: [1])
    #: Inputs to send next: every stored order with junk recipients read back in both
    #: encodings (is the XML of what was stored well-formed?).
    follow_ups: list[Input] = field(default_factory=list)

    def accepted(self, item: Input, order_id: int) -> None:
        self.orders.append(order_id)
        if item.kind.startswith("junk") or (
            item.kind.startswith("mutant") and re.search(rb"[\x00-\x1f\x7f-\xff&<>%\\]", item.body)
        ):
            request = {"authentication": dict(AUTH), "order": {"id": order_id}}
            self.follow_ups.extend(in_every_encoding("read-back", "get-report", request))


def valid_request(action: str, rng: random.Random, known: Known) -> dict[str, Any]:
    """A valid request of the action (authenticated), some values drawn at random."""
    number = rng.choice(NUMBERS)
    body: dict[str, Any]
    if action in ("add-blacklist", "delete-blacklist"):
        body = {"blacklist": {"number": number}}
    elif action == "get-blacklist":
        body = {
            "blacklist": {
                "filter": {"start": f"{today(-1)} 00:00:00", "end": f"{today(1)} 00:00:00"},
                "page": rng.randint(1, 3),
                "rowCount": rng.choice([1, 10, 1000]),
            }
        }
    elif action in ("get-balance", "get-sender"):
        body = {}
    elif action == "send-sms":
        later = (datetime.now() + timedelta(days=rng.randint(1, 5))).strftime("%d/%m/%Y %H:%M")
        body = {
            "order": {
                "sender": "ILETI",
                "sendDateTime": rng.choice(["", later]),
                "iys": "0",
                "message": {
                    "text": f"fuzz {rng.getrandbits(64):x}",
                    "receipents": {"number": rng.sample(NUMBERS, rng.randint(1, 3))},
                },
            }
        }
    elif action in ("get-report", "cancel-order"):
        body = {"order": {"id": rng.choice(known.orders), "page": 1, "rowCount": 1000}}
        if action == "cancel-order":
            del body["order"]["page"], body["order"]["rowCount"]
    else:  # get-reports, get-report-summary
        body = {"filter": {"start": today(-1), "end": today()}, "page": 1}
    return {"authentication": dict(AUTH), **body}


# The corpus of issue 9 (and more of the same families).
DEEP = [10, 100, 1_000, 10_000, 100_000]
HUGE = [2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400, -1, 0, 1.5, 1e308, -0.0]
STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[2J\x7f",
    "\ufffe",
    "\uffff",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "9999-12-31",
    "9999-12-31 23:59:59",
    "0000-01-01",
    "2026-11-25xyz",
    "2026-11-25 00:00:00xyz",
    "2026-02-30",
    "31/12/9999 23:59",
    "99/99/9999 99:99",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "Infinity",
    "0x10",
    "١٢٣",
    "５３３",
    "+90 533 000 00 99",
    "<![CDATA[x]]>",
    "]]>",
    "&amp;&lt;",
    "%s%n%x",
    "' OR 1=1 --",
    "\u202e\u200b",
    "x" * 10_000,
]


def nested_json(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


def corpus(known: Known) -> Iterator[Input]:
    actions = list(ACTIONS)
    rng = random.Random(0)
    for depth in DEEP:
        inner = "<a>" * depth + "x" + "</a>" * depth
        for action in actions:
            yield Input(
                f"deep-xml-{depth}",
                action,
                "POST",
                path_of(action, "xml"),
                f"<request>{inner}</request>".encode(),
                XML_TYPE,
            )
            yield Input(
                f"deep-xml-root-{depth}",
                action,
                "POST",
                path_of(action, "xml"),
                inner.encode(),
                XML_TYPE,
            )
            nest = "[" * depth + "]" * depth
            yield Input(
                f"deep-json-{depth}",
                action,
                "POST",
                path_of(action, "json"),
                f'{{"request":{nest}}}'.encode(),
                JSON_TYPE,
            )
            for where in ("key", "hash"):
                request = {"authentication": {**AUTH, where: "DEEP"}}
                body = json.dumps({"request": request}).replace('"DEEP"', nest.replace("][", "[1]"))
                yield Input(
                    f"deep-json-{where}-{depth}",
                    action,
                    "POST",
                    path_of(action, "json"),
                    body.encode(),
                    JSON_TYPE,
                )
            deep_obj = '{"a":' * depth + "1" + "}" * depth
            yield Input(
                f"deep-json-object-{depth}",
                action,
                "POST",
                path_of(action, "json"),
                f'{{"request":{{"authentication":{{"key":{deep_obj}}}}}}}'.encode(),
                JSON_TYPE,
            )
    for action in actions:
        valid = valid_request(action, rng, known)
        xml_valid = xml_of(valid)
        for enc in ("foo", "utf-7", "ebcdic-cp-us", "utf-32", "x" * 300, ""):
            yield Input(
                f"xml-encoding-{enc[:10]}",
                action,
                "POST",
                path_of(action, "xml"),
                f'<?xml version="1.0" encoding="{enc}"?>{xml_valid}'.encode(),
                XML_TYPE,
            )
        yield Input(
            "xml-version-9",
            action,
            "POST",
            path_of(action, "xml"),
            f'<?xml version="9.9"?>{xml_valid}'.encode(),
            XML_TYPE,
        )
        yield Input(
            "xml-utf16",
            action,
            "POST",
            path_of(action, "xml"),
            f'<?xml version="1.0" encoding="UTF-16"?>{xml_valid}'.encode("utf-16"),
            XML_TYPE,
        )
        for name, doc in XML_ATTACKS.items():
            yield Input(
                f"xml-{name}", action, "POST", path_of(action, "xml"), doc.encode(), XML_TYPE
            )
            yield Input(
                f"form-{name}",
                action,
                "POST",
                path_of(action, "xml"),
                b"data=" + quote(doc).encode(),
                "application/x-www-form-urlencoded",
            )
        body_json = json.dumps({"request": valid}).encode()
        for name, body in damaged(body_json):
            yield Input(f"json-{name}", action, "POST", path_of(action, "json"), body, JSON_TYPE)
        for name, body in damaged(xml_valid.encode()):
            yield Input(f"xml-{name}", action, "POST", path_of(action, "xml"), body, XML_TYPE)
        for ctype in CONTENT_TYPES:
            yield Input(
                f"ctype-json-{ctype}", action, "POST", path_of(action, "json"), body_json, ctype
            )
            yield Input(
                f"ctype-xml-{ctype}",
                action,
                "POST",
                path_of(action, "xml"),
                xml_valid.encode(),
                ctype,
            )
            yield Input(
                f"ctype-swap-{ctype}", action, "POST", path_of(action, "xml"), body_json, ctype
            )
        yield Input(
            "dup-request",
            action,
            "POST",
            path_of(action, "json"),
            body_json.replace(b'{"request":', b'{"request":{},"request":', 1),
            JSON_TYPE,
        )
        yield Input(
            "dup-auth",
            action,
            "POST",
            path_of(action, "json"),
            body_json.replace(
                b'"authentication":', b'"authentication":{"key":"x"},"authentication":', 1
            ),
            JSON_TYPE,
        )
        yield Input(
            "dup-auth-xml",
            action,
            "POST",
            path_of(action, "xml"),
            xml_valid.replace(
                "<authentication>",
                "<authentication><key>x</key></authentication><authentication>",
                1,
            ).encode(),
            XML_TYPE,
        )
        # every member in turn: every hostile value, and wrong types
        for path in leaf_paths(valid):
            for value in [*STRINGS, *HUGE, None, True, [], {}, [1, 2], {"x": 1}, nested_json(50)]:
                request = replaced(valid, path, value)
                yield json_input("value:" + "/".join(path), action, request)
                if not isinstance(value, float):
                    yield xml_input("value-xml:" + "/".join(path), action, request)
        for name, request in REFUSALS.get(action, {}).items():
            yield from in_every_encoding(
                f"refusal-{name}", action, {"authentication": dict(AUTH), **request}
            )
    # the paging and date defects of issue 9
    for page in [2**62, 2**63 - 1, 2**63, 2**64, 10**30, "1" * 40]:
        for action, request in (
            ("get-report", {"order": {"id": known.orders[0], "page": page, "rowCount": 1000}}),
            ("get-blacklist", {"blacklist": {"page": page, "rowCount": 1000}}),
            ("get-reports", {"filter": {"start": today(-1), "end": today()}, "page": page}),
            ("get-reports", {"filter": {"start": today(-1), "end": today(), "page": page}}),
        ):
            yield from in_every_encoding(
                f"page-{str(page)[:12]}", action, {"authentication": dict(AUTH), **request}
            )
    for start, end in (
        ("9999-12-22", "9999-12-31"),
        ("9999-12-31", "9999-12-31"),
        ("0001-01-01", "0001-01-05"),
        (today(), "9999-12-31"),
        ("2026-11-25xyz", "2026-11-26"),
        ("2026-11-25", "2026-11-26xyz"),
        ("2026-11-25\x00", "2026-11-26"),
    ):
        for action in ("get-reports", "get-report-summary"):
            yield from in_every_encoding(
                "dates",
                action,
                {"authentication": dict(AUTH), "filter": {"start": start, "end": end}},
            )
        yield from in_every_encoding(
            "blacklist-dates",
            "get-blacklist",
            {
                "authentication": dict(AUTH),
                "blacklist": {"filter": {"start": f"{start} 00:00:00", "end": end}},
            },
        )
    # NUL and friends in the credentials, in every encoding (and the GET form)
    for value in (
        "\x00",
        KEY + "\x00",
        "\x00" + KEY,
        KEY + "\ufffe",
        "\ud800",
        KEY.upper(),
        " " + KEY,
    ):
        for action in actions:
            yield from in_every_encoding(
                "key", action, {"authentication": {"key": value, "hash": HASH}}
            )
            yield from in_every_encoding(
                "hash", action, {"authentication": {"key": KEY, "hash": value}}
            )
    # junk recipients stored beside a valid one, then read back in both encodings
    for index, junk in enumerate(
        ("\x01\x02", "\ufffe\uffff", "\x1b[2J", "\x00", "]]>", "<x>", "\ud800", "9" * 500)
    ):
        yield from in_every_encoding(
            f"junk-recipient-{index}",
            "send-sms",
            {
                "authentication": dict(AUTH),
                "order": {
                    "sender": "ILETI",
                    "iys": "0",
                    "message": {
                        "text": f"junk {junk!r}",
                        "receipents": {"number": [NUMBERS[0], junk]},
                    },
                },
            },
        )
    # 50,000 recipients and more
    many = [f"+9053{n:08d}" for n in range(50_001)]
    for label, numbers_ in (
        ("50000", many[:50_000]),
        ("50001", many),
        ("junk-49999", [NUMBERS[1]] + ["x"] * 49_999),
    ):
        request = {
            "authentication": dict(AUTH),
            "order": {
                "sender": "ILETI",
                "iys": "0",
                "sendDateTime": "01/01/2099 10:00",
                "message": {"text": f"many {label}", "receipents": {"number": numbers_}},
            },
        }
        yield json_input(f"recipients-{label}", "send-sms", request)
        yield xml_input(f"recipients-{label}-xml", "send-sms", request)
    # the GET form
    base = {
        "key": KEY,
        "hash": HASH,
        "text": "get form",
        "receipents": NUMBERS[2],
        "sender": "ILETI",
        "iys": "0",
    }
    for name in base:
        for value in STRINGS[:30]:
            yield get_input(f"get-{name}", {**base, name: value})
    for raw in (
        "%ff%fe",
        "key=%00&hash=%00",
        "key=%ZZ",
        "&&&==&",
        "key=" + KEY + "&key=" + KEY,
        "receipents=" + ",".join(NUMBERS[:50]),
        "a" * 5000,
        "text=%ed%a0%80",
        "",
    ):
        yield get_input("get-raw", raw)
    # paths and methods no action has (404)
    for target in (
        "/v1/",
        "/v1",
        "/v1/nope/json",
        "/v1/add-blacklist/xml",
        "/v1/add-blacklist/json/x",
        "/v1/send-sms/get/json",
        "/v1/%00/json",
        "/v1/" + "a" * 2000,
    ):
        yield Input("path", None, "POST", target, b"{}", JSON_TYPE)
    for action in actions:
        yield Input("method", None, "GET", path_of(action, "json"))
        yield Input("method", None, "PUT", path_of(action, "json"), b"{}", JSON_TYPE)
        yield Input("method", None, "DELETE", path_of(action, "xml"))


XML_ATTACKS = {
    "billion-laughs": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]><request><authentication><key>&j;</key></authentication></request>"
    ),
    "xxe-file": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<request><authentication><key>&x;</key></authentication></request>"
    ),
    "xxe-parameter": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd">%p;]>'
        "<request/>"
    ),
    "dtd-external": '<?xml version="1.0"?><!DOCTYPE request SYSTEM "http://127.0.0.1:1/x.dtd"><request/>',
    "xinclude": (
        '<request xmlns:xi="http://www.w3.org/2001/XInclude">'
        '<xi:include href="file:///etc/passwd" parse="text"/></request>'
    ),
    "processing-instruction": '<?xml-stylesheet href="x"?><request><?php x ?></request>',
    "comment-only": "<!-- -->",
    "two-roots": "<request/><request/>",
    "unclosed": "<request><authentication>",
    "wrong-root": "<response><status/></response>",
    "namespaced-root": '<x:request xmlns:x="urn:x"/>',
    "attributes": '<request a="1" b="&lt;"><authentication key="k"/></request>',
    "char-ref-nul": "<request><authentication><key>&#0;</key></authentication></request>",
    "char-ref-fffe": "<request><authentication><key>&#xFFFE;</key></authentication></request>",
    "char-ref-surrogate": "<request><authentication><key>&#xD800;</key></authentication></request>",
    "char-ref-huge": "<request><authentication><key>&#99999999999;</key></authentication>"
    "</request>",
    "raw-control": "<request><authentication><key>\x01</key></authentication></request>",
    "many-attributes": "<request " + " ".join(f'a{i}="{i}"' for i in range(5000)) + "/>",
    "long-name": "<request><" + "n" * 100_000 + "/></request>",
    "cdata-nested": "<request><![CDATA[<![CDATA[x]]>]]></request>",
    "empty": "",
    "whitespace": " \n\t ",
}

CONTENT_TYPES = [
    "",
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    "text/xml; charset=ebcdic",
]


def damaged(body: bytes) -> Iterator[tuple[str, bytes]]:
    """Byte-level damage to a valid body: truncations, invalid UTF-8, BOMs, garbage."""
    for cut in sorted({1, len(body) // 3, len(body) // 2, len(body) - 1}):
        yield f"truncated-{cut}", body[:cut]
    middle = len(body) // 2
    for name, bad in (
        ("ff", b"\xff"),
        ("c3-28", b"\xc3\x28"),
        ("overlong", b"\xc0\xaf"),
        ("surrogate", b"\xed\xa0\x80"),
        ("nul", b"\x00"),
        ("5-byte", b"\xf8\x88\x80\x80\x80"),
    ):
        yield f"invalid-utf8-{name}", body[:middle] + bad + body[middle:]
    yield "bom-utf8", b"\xef\xbb\xbf" + body
    yield "bom-utf8-twice", b"\xef\xbb\xbf\xef\xbb\xbf" + body
    yield "bom-utf16le", b"\xff\xfe" + body.decode("utf-8").encode("utf-16-le")
    yield "bom-utf16be", b"\xfe\xff" + body.decode("utf-8").encode("utf-16-be")
    yield "utf32", body.decode("utf-8").encode("utf-32")
    yield "trailing-garbage", body + b"garbage"
    yield "trailing-nul", body + b"\x00"
    yield "leading-garbage", b"x" + body
    yield "doubled", body + body
    yield "nul-only", b"\x00" * 100


REFUSALS: dict[str, dict[str, dict[str, Any]]] = {
    "send-sms": {
        "no-sender": {
            "order": {
                "sender": "",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "long-sender": {
            "order": {
                "sender": "ABCDEFGHIJKL",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "unknown-sender": {
            "order": {
                "sender": "NOPE",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "empty-text": {
            "order": {
                "sender": "ILETI",
                "message": {"text": "", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "long-text": {
            "order": {
                "sender": "ILETI",
                "message": {"text": "ş" * 2000, "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "bad-date": {
            "order": {
                "sender": "ILETI",
                "sendDateTime": "31/12/9999 25:61",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "iys-list": {
            "order": {
                "sender": "ILETI",
                "iys": "1",
                "iysList": "X",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "iys-code": {
            "order": {
                "sender": "ILETI",
                "iys": "1",
                "iysList": "BIREYSEL",
                "message": {"text": "x", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
        "no-recipient": {
            "order": {
                "sender": "ILETI",
                "message": {"text": "x", "receipents": {"number": ["+905999000000"]}},
            }
        },
        "blacklisted-only": {
            "order": {
                "sender": "ILETI",
                "message": {"text": "x", "receipents": {"number": [LISTED]}},
            }
        },
        "nul-text": {
            "order": {
                "sender": "ILETI",
                "message": {"text": "a\x00b", "receipents": {"number": [NUMBERS[0]]}},
            }
        },
    },
    "delete-blacklist": {"not-listed": {"blacklist": {"number": "+905330000001"}}},
    "add-blacklist": {"invalid": {"blacklist": {"number": "+905999000000"}}},
    "get-report": {
        "unknown": {"order": {"id": 10**12}},
        "zero-page": {"order": {"id": 1, "page": 0}},
    },
    "cancel-order": {"unknown": {"order": {"id": 10**12}}},
}


def leaf_paths(tree: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every path to a member of the tree (objects and their members, leaves included)."""
    out: list[tuple[str, ...]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.append((*prefix, key))
            out.extend(leaf_paths(value, (*prefix, key)))
    return out


def replaced(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(tree))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


# -- random mutations of valid requests --------------------------------------------------


def hostile_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(STRINGS)
    if roll < 0.65:
        return rng.choice(HUGE)
    if roll < 0.75:
        return rng.choice([None, True, False, [], {}, [rng.choice(NUMBERS)] * 3, {"x": "y"}])
    if roll < 0.8:
        return nested_json(rng.choice([5, 50, 300]), rng.choice(["x", 1, None]))
    if roll < 0.9:
        return "".join(
            chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0, 0x110000)]))
            for _ in range(rng.randint(1, 40))
        )
    return rng.choice(NUMBERS)[: rng.randint(0, 13)] + rng.choice(["", "x", " ", "\x00", "0" * 20])


def mutate_tree(tree: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    copy = json.loads(json.dumps(tree))
    for _ in range(rng.randint(1, 3)):
        paths = leaf_paths(copy)
        if not paths:
            break
        path = rng.choice(paths)
        node = copy
        for key in path[:-1]:
            node = node[key]
        if not isinstance(node, dict):
            continue
        roll = rng.random()
        if isinstance(node[path[-1]], list) and roll < 0.4:
            node[path[-1]].append(hostile_value(rng))  # a junk value beside valid ones
        elif roll < 0.6:
            node[path[-1]] = hostile_value(rng)
        elif roll < 0.75:
            del node[path[-1]]
        elif roll < 0.85:
            node[rng.choice(["x", "number", "page", "request", "id", "filter"])] = hostile_value(
                rng
            )
        elif roll < 0.95:
            node[path[-1]] = [node[path[-1]], node[path[-1]]]
        else:
            node[path[-1]] = {"x": node[path[-1]]}
    return copy


def mutate_bytes(body: bytes, rng: random.Random) -> bytes:
    if not body:
        return rng.choice([b"\x00", b"{", b"<"])
    at = rng.randrange(len(body))
    roll = rng.random()
    if roll < 0.3:
        return body[:at]
    if roll < 0.5:
        return body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
    if roll < 0.7:
        return (
            body[:at]
            + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"])
            + body[at:]
        )
    if roll < 0.85:
        return rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b" \n", b"\x00"]) + body
    return body + rng.choice([b"x", b"}", b"</request>", b"\x00", b"\xff"])


def mutant(rng: random.Random, known: Known) -> Input:
    action = rng.choice(list(ACTIONS))
    request = valid_request(action, rng, known)
    if rng.random() < 0.85:
        request = mutate_tree(request, rng)
    fmt = rng.choice(
        ["json", "json", "xml", "form", "get"]
        if action == "send-sms"
        else ["json", "json", "xml", "form"]
    )
    kind = f"mutant/{fmt}"
    if fmt == "get":
        order = request.get("order") if isinstance(request.get("order"), dict) else {}
        auth = (
            request.get("authentication") if isinstance(request.get("authentication"), dict) else {}
        )
        message = order.get("message") if isinstance(order.get("message"), dict) else {}
        numbers_ = (
            (message.get("receipents") or {}) if isinstance(message.get("receipents"), dict) else {}
        )
        raw = numbers_.get("number")
        query = {
            "key": auth.get("key"),
            "hash": auth.get("hash"),
            "text": message.get("text"),
            "receipents": ",".join(map(str, raw)) if isinstance(raw, list) else raw,
            "sender": order.get("sender"),
            "iys": order.get("iys"),
            "sendDateTime": order.get("sendDateTime"),
        }
        return get_input(kind, {k: v for k, v in query.items() if rng.random() < 0.95})
    if fmt == "json":
        body = encoded(json.dumps({"request": request}, ensure_ascii=rng.random() < 0.3))
        ctype: str | None = JSON_TYPE
    else:
        try:
            body = encoded(xml_of(request, cdata=rng.random() < 0.3))
        except RecursionError:
            body = b"<request/>"
        ctype = XML_TYPE
        if fmt == "form":
            body, ctype = (
                b"data=" + quote(body, safe="").encode(),
                "application/x-www-form-urlencoded",
            )
    if rng.random() < 0.2:
        body = mutate_bytes(body, rng)
        kind += "+bytes"
    if rng.random() < 0.05:
        ctype = rng.choice(CONTENT_TYPES)
    return Input(
        kind, action, "POST", path_of(action, "json" if fmt == "json" else "xml"), body, ctype
    )


# -- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SEED_DOCUMENT = {
    "version": 1,
    "accounts": [
        {
            "name": "fuzz",
            "key": KEY,
            "secret": SECRET,
            "senders": ["ILETI"],
            "balance": 10**12,
            "rate_limit": 10**6,
            "blacklist": [{"number": LISTED}],
        }
    ],
}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    seen: int = 0  # bytes of the log already read

    def new_output(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self.seen)
            data = f.read()
        self.seen += len(data)
        return data.decode("utf-8", "replace")


@contextlib.contextmanager
def serving(url: str, workdir: Path) -> Iterator[Server]:
    seed = workdir / "seed.json"
    seed.write_text(json.dumps(SEED_DOCUMENT))
    port = free_port()
    log = workdir / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    env.update(
        ILETI_SEED=str(seed),
        ILETI_LOG_LEVEL="warning",
        # The generator sends wrong credentials on purpose, thousands of them from one
        # address: with the brake on (20 failures a minute, then 429 for everything) all
        # but the first few seconds' inputs would be answered 429 unread. The brake is
        # tested in tests/test_auth_throttle.py; here it is off.
        ILETI_AUTH_FAILURE_LIMIT="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ileti",
                "--database",
                url,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, port, log)
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ileti serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return data.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in data
    except OSError:
        return False


class Fingerprint:
    """A cheap summary of what is stored: balances and counts of rows."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)

    def read(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT (SELECT COALESCE(SUM(balance), 0) FROM accounts),"
                    " (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_texts),"
                    " (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM blacklist),"
                    " (SELECT COUNT(*) FROM webhooks), (SELECT COUNT(*) FROM accounts)"
                )
            ).one()
        names = ("balance", "orders", "texts", "messages", "blacklist", "webhooks", "accounts")
        return dict(zip(names, (int(v) for v in row), strict=True))


# -- sending and judging -------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


async def exchange(port: int, item: Input, conn: list[Any]) -> Answer:
    """One request on a kept-alive connection (``conn`` holds [reader, writer])."""
    for attempt in range(2):
        if not conn:
            conn.extend(await asyncio.open_connection("127.0.0.1", port, limit=2**24))
        reader, writer = conn
        head = [f"{item.method} {item.target} HTTP/1.1", "Host: 127.0.0.1"]
        if item.method != "GET" or item.body:
            head.append(f"Content-Length: {len(item.body)}")
        if item.content_type is not None:
            head.append(f"Content-Type: {item.content_type}")
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + item.body)
            await writer.drain()
            status_line = await reader.readuntil(b"\r\n")
            headers: dict[str, str] = {}
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (ConnectionError, asyncio.IncompleteReadError):
            conn.clear()
            if attempt == 0:
                continue
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
            conn.clear()
        return Answer(int(status_line.split()[1]), headers.get("content-type", ""), body)
    raise AssertionError("unreachable")


def judge(item: Input, answer: Answer) -> str | None:
    """What is wrong with the answer (None: nothing)."""
    if answer.status not in item.codes():
        return f"HTTP {answer.status} is not a documented code of {item.action or 'no action'}"
    try:
        if item.json_answer:
            if answer.content_type != JSON_TYPE:
                return f"content-type {answer.content_type!r}"
            response = msgspec.json.decode(answer.body)["response"]
            code, message = response["status"]["code"], response["status"]["message"]
            if type(code) is not int:
                return f"code {code!r} is not an integer"
            payload = {k: v for k, v in response.items() if k != "status"}
            result = ACTIONS[item.action].result if item.action else None
            if code == 200 and result is not None:
                msgspec.convert(payload, result)
            elif payload:
                return f"members beside status: {sorted(payload)}"
        else:
            if answer.content_type != XML_TYPE:
                return f"content-type {answer.content_type!r}"
            root = ElementTree.fromstring(answer.body)  # expat: strict well-formedness
            if root.tag != "response":
                return f"root <{root.tag}>"
            code_text, message = root.findtext("status/code"), root.findtext("status/message")
            if code_text is None or not code_text.isdigit():
                return f"code {code_text!r}"
            code = int(code_text)
            if code != 200 and len(root) != 1:
                return "an error with members beside status"
    except (
        msgspec.DecodeError,
        msgspec.ValidationError,
        ElementTree.ParseError,
        KeyError,
        TypeError,
    ) as exc:
        return f"not a well-formed envelope: {exc}"
    if code != answer.status:
        return f"HTTP {answer.status} but code {code}"
    if message != Code(code).message:
        return f"message {message!r} is not code {code}'s"
    return None


@dataclass(frozen=True)
class Anomaly:
    problem: str  # one line
    item: Input
    detail: str = ""  # the answer, or what the server logged

    def group(self) -> str:
        family = self.item.kind.split(":")[0].rstrip("0123456789-")
        return f"{self.problem} <- [{family}]"

    def show(self) -> str:
        return f"{self.problem}\n    input: {self.item.show()}\n    {self.detail}".rstrip()


def shown(answer: Answer | None) -> str:
    if answer is None:
        return "no answer"
    body = (
        answer.body if len(answer.body) <= 700 else answer.body[:200] + b"..." + answer.body[-500:]
    )
    return f"answer: HTTP {answer.status} {answer.content_type} {body!r}"


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    anomalies: list[Anomaly] = field(default_factory=list)
    #: Inputs answered 503 (of the current batch).
    unavailable: set[Input] = field(default_factory=set)


def logged_error(output: str) -> str:
    """The last exception line of a traceback in the server's output."""
    lines = [line for line in output.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    return (lines[-1] if lines else output.strip().splitlines()[-1])[:100]


def explained(
    before: dict[str, int], after: dict[str, int], ok: Counter[str], item_count: int
) -> str | None:
    """Whether the fingerprint's change is what the batch's successes allow."""
    delta = {k: after[k] - before[k] for k in before}
    sends, cancels = ok["send-sms"], ok["cancel-order"]
    adds, deletes = ok["add-blacklist"], ok["delete-blacklist"]
    problems = []
    if delta["accounts"] or delta["webhooks"]:
        problems.append("accounts or webhooks changed")
    if delta["orders"] != sends:
        problems.append(f"{delta['orders']} new orders for {sends} accepted")
    if not sends <= delta["texts"] or (sends == 0 and delta["texts"]):
        problems.append(f"{delta['texts']} new texts for {sends} orders")
    if not sends <= delta["messages"] or (sends == 0 and delta["messages"]):
        problems.append(f"{delta['messages']} new messages for {sends} orders")
    if not -deletes <= delta["blacklist"] <= adds:
        problems.append(f"blacklist {delta['blacklist']:+d} for {adds} adds and {deletes} deletes")
    if (delta["balance"] > 0 and not cancels) or (delta["balance"] < 0 and not sends):
        problems.append(f"balance {delta['balance']:+d} for {sends} sends and {cancels} cancels")
    if problems:
        return f"stored state changed by refusals ({item_count} inputs): " + "; ".join(problems)
    return None


async def run_batch(
    server: Server, items: list[Input], tally: Tally, known: Known
) -> tuple[Counter[str], list[tuple[Input, Answer | None, str]]]:
    queue = list(enumerate(items))
    ok: Counter[str] = Counter()
    bad: list[tuple[Input, Answer | None, str]] = []

    async def worker() -> None:
        conn: list[Any] = []
        while queue:
            _, item = queue.pop()
            try:
                answer = await asyncio.wait_for(exchange(server.port, item, conn), 120)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                conn.clear()
                bad.append((item, None, f"no answer: {exc!r}"))
                continue
            tally.sent += 1
            tally.statuses[answer.status] += 1
            if answer.status >= 500:
                tally.unavailable.add(item)
            problem = judge(item, answer)
            if problem:
                bad.append((item, answer, problem))
            elif answer.status == 200 and item.action:
                ok[item.action] += 1
                if item.action == "send-sms":
                    with contextlib.suppress(Exception):
                        order = (
                            msgspec.json.decode(answer.body)["response"]["order"]["id"]
                            if item.json_answer
                            else ElementTree.fromstring(answer.body).findtext("order/id")
                        )
                        known.accepted(item, int(order))
        if conn:
            conn[1].close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return ok, bad


def check_batch(
    server: Server, fingerprint: Fingerprint, before: dict[str, int], ok: Counter[str], count: int
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """What went wrong with a batch as a whole: (problem, detail) pairs."""
    problems = []
    output = server.new_output()
    if "Traceback" in output or "unexpected error" in output:
        problems.append(("traceback logged: " + logged_error(output), output[-1500:]))
    if not healthy(server.port):
        problems.append(("/healthz is not ok", ""))
    after = fingerprint.read()
    change = explained(before, after, ok, count)
    if change:
        problems.append((change, ""))
    return after, problems


async def replay(
    server: Server,
    fingerprint: Fingerprint,
    items: list[Input],
    known: Known,
    suspects: set[Input],
) -> list[Anomaly]:
    """A batch-level anomaly, narrowed down: the inputs one by one (those answered 503
    first: a traceback is most often theirs)."""
    found: list[Anomaly] = []
    before = fingerprint.read()
    first = [item for item in items if item in suspects]
    for group in (first, [item for item in items if item not in suspects]):
        for item in group:
            ok, _bad = await run_batch(server, [item], Tally(), known)
            before, problems = check_batch(server, fingerprint, before, ok, 1)
            found.extend(Anomaly(problem, item, detail) for problem, detail in problems)
        if found:
            break
    return found


def planned(inputs: Iterator[Input], count: int, rng: random.Random) -> list[Input]:
    """The corpus in the order it is sent: one input of each kind first, then the rest
    of the issue's cases, then the sweeps of every member through every hostile value;
    all of it when ``count`` leaves room for as many mutants, else the first half."""
    core: list[Input] = []
    sweeps: list[Input] = []
    for item in inputs:
        (sweeps if item.kind.startswith("value") else core).append(item)
    rng.shuffle(core)
    rng.shuffle(sweeps)
    seen: set[str] = set()
    firsts = [item for item in core if not (item.kind in seen or seen.add(item.kind))]
    chosen = {id(item) for item in firsts}
    ordered = firsts + [item for item in core if id(item) not in chosen] + sweeps
    return ordered if count >= 2 * len(ordered) else ordered[: count // 2]


async def fuzz(url: str, count: int, seed: int, workdir: Path) -> Tally:
    rng = random.Random(seed)
    known = Known()
    tally = Tally()
    fingerprint = Fingerprint(url)
    with serving(url, workdir) as server:
        share = planned(corpus(known), count, rng)
        before = fingerprint.read()
        sent_total = 0
        while sent_total < count:
            take = min(BATCH, count - sent_total)
            items = known.follow_ups[:take]
            del known.follow_ups[:take]
            room = take - len(items)
            items += share[:room]
            del share[:room]
            while len(items) < take:
                items.append(mutant(rng, known))
            sent_total += len(items)
            tally.unavailable.clear()
            ok, bad = await run_batch(server, items, tally, known)
            for item, answer, problem in bad:
                tally.anomalies.append(Anomaly(problem, item, shown(answer)))
            after, problems = check_batch(server, fingerprint, before, ok, len(items))
            if problems:
                # the batch's own answers were judged; this finds which input did it
                suspects = {item for item in items if item in tally.unavailable}
                narrowed = await replay(server, fingerprint, items, known, suspects)
                tally.anomalies.extend(
                    narrowed
                    or [
                        Anomaly(f"{p} (not reproduced one by one)", items[0], d)
                        for p, d in problems
                    ]
                )
                after = fingerprint.read()
            before = after
            if len(tally.anomalies) > 1000:
                break
    return tally


@contextlib.contextmanager
def databases(args: argparse.Namespace, workdir: Path) -> Iterator[list[tuple[str, str]]]:
    if args.database:
        yield [("given", args.database)]
        return
    found = [("sqlite", f"sqlite:///{workdir}/fuzz.db")]
    pg = os.environ.get("ILETI_TEST_POSTGRES_URL", "").strip()
    admin = None
    name = f"ileti_fuzz_{uuid.uuid4().hex[:8]}"
    if pg:
        admin = sa.create_engine(
            normalize_url(pg), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        found.append(
            (
                "postgresql",
                normalize_url(pg)
                .set(database=name)
                .render_as_string(hide_password=False)
                .replace("+psycopg", ""),
            )
        )
    try:
        yield found
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK:,} inputs instead of {FULL:,}"
    )
    parser.add_argument("--count", type=int, help="inputs per database")
    parser.add_argument("--seed", type=int, help="the random seed (default: drawn, printed)")
    parser.add_argument(
        "--database",
        help="one database URL (default: SQLite, and PostgreSQL "
        "when ILETI_TEST_POSTGRES_URL is set)",
    )
    args = parser.parse_args(argv)
    count = args.count or (QUICK if args.quick else FULL)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(
        f"fuzz: seed {seed} (python proof/fuzz.py --seed {seed} --count {count} repeats this run)",
        flush=True,
    )
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="ileti-fuzz-") as tmp,
        databases(args, Path(tmp)) as found,
    ):
        for backend, url in found:
            started = time.monotonic()
            tally = asyncio.run(fuzz(url, count, seed, Path(tmp)))
            elapsed = time.monotonic() - started
            statuses = " ".join(f"{code}:{n}" for code, n in sorted(tally.statuses.items()))
            print(
                f"fuzz {backend}: {tally.sent} inputs sent, statuses {statuses}, "
                f"anomalies {len(tally.anomalies)}, {elapsed:.1f} s",
                flush=True,
            )
            groups: dict[str, list[Anomaly]] = {}
            for anomaly in tally.anomalies:
                groups.setdefault(anomaly.group(), []).append(anomaly)
            for group, members in sorted(groups.items()):
                actions = sorted({m.item.action or "-" for m in members})
                print(f"  ANOMALY x{len(members)}: {group} ({', '.join(actions)})", flush=True)
            for members in groups.values():
                print(f"  REPRODUCE {members[0].show()}", flush=True)
            failed = failed or bool(tally.anomalies) or tally.sent < count
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
