"""``ileti.client`` on ``httpx.MockTransport`` (answers no real server gives on demand):
every code to its exception with the exact message and an English meaning, unexpected
bodies as UnexpectedResponse carrying the raw body (never KeyError or TypeError),
retries (only where safe, after Retry-After or backoff, bounded), the lazy pages, the
webhook parser, and the client importing with httpx alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import ileti.client
from ileti.client import (
    AsyncClient,
    Client,
    InvalidWebhook,
    Retries,
    TransportError,
    UnexpectedResponse,
    WebhookReport,
    hash_of,
    parse_webhook,
)
from ileti.client import errors as e
from tests.support.spec import MESSAGES

KEY = "public_key"
HASH = "b6a736a4b6739ac56db7e903b0ef55bda82fca63fac55d4bd1d6d62c54888b22"
Handler = Callable[[httpx.Request], httpx.Response]


def envelope(code: int, message: str | None = None, **members: Any) -> dict[str, Any]:
    text = MESSAGES.get(code, "") if message is None else message
    return {"response": {"status": {"code": code, "message": text}, **members}}


def answer(code: int, http_status: int | None = None, headers: Any = None, **members: Any):
    def handle(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            code if http_status is None else http_status,
            json=envelope(code, **members),
            headers=headers,
        )

    return handle


def client(handler: Handler, **options: Any) -> Client:
    found = Client(
        KEY, HASH, base_url="http://sms.test/v1", transport=httpx.MockTransport(handler), **options
    )
    found._sleep = lambda _seconds: None
    return found


class Recorder:
    """Answers in turn (the last one repeats), and what was asked."""

    def __init__(self, *answers: Handler | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        found = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(found, Exception):
            raise found
        return found(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def test_the_hash_is_the_spec_test_vector() -> None:
    assert hash_of("public_key", "secret_key") == HASH
    assert Client(KEY, secret="secret_key").hash == HASH


def test_every_request_is_the_documented_envelope() -> None:
    seen = Recorder(answer(200, blacklist={"count": 0, "number": []}))
    client(seen).get_blacklist(start="2024-09-27 01:10:00", page=2, row_count=50)
    (request,) = seen.requests
    assert str(request.url) == "http://sms.test/v1/get-blacklist/json"
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert seen.bodies == [
        {
            "request": {
                "authentication": {"key": KEY, "hash": HASH},
                "blacklist": {
                    "page": 2,
                    "rowCount": 50,
                    "filter": {"start": "2024-09-27 01:10:00"},
                },
            }
        }
    ]


def test_send_sms_sends_iys_0_unless_told_and_the_misspelt_receipents() -> None:
    seen = Recorder(answer(200, order={"id": "42"}))
    sms = client(seen)
    assert sms.send_sms(["05330000001", 5330000002], "Şifre: 1234", sender="ILETI").id == "42"
    sms.send_sms(
        "+905330000001",
        "Kampanya",
        sender="ILETI",
        iys=True,
        iys_list="TACIR",
        send_at="02/01/2027 10:30",
    )
    first, second = (b["request"]["order"] for b in seen.bodies)
    assert first == {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": "Şifre: 1234", "receipents": {"number": ["05330000001", "5330000002"]}},
    }
    assert (second["iys"], second["iysList"], second["sendDateTime"]) == (
        "1",
        "TACIR",
        "02/01/2027 10:30",
    )
    assert "Şifre" in seen.requests[0].content.decode()  # UTF-8, not \\u escapes


@pytest.mark.parametrize("code", sorted(c for c in MESSAGES if c >= 400))
def test_each_code_is_its_own_exception(code: int) -> None:
    with pytest.raises(e.ApiError) as raised:
        client(answer(code)).get_balance()
    error = raised.value
    assert type(error) is e.error_for(code) and type(error) is not e.ApiError
    assert type(error).code == code
    assert (error.code, error.http_status, error.message) == (code, code, MESSAGES[code])
    assert e.CATALOGUE[code][0] == MESSAGES[code]
    assert error.meaning and error.meaning == e.CATALOGUE[code][1]
    assert error.action == "get-balance"
    assert str(code) in str(error) and MESSAGES[code] in str(error)


def test_an_unknown_code_is_an_api_error_with_its_message() -> None:
    with pytest.raises(e.ApiError) as raised:
        client(answer(499, message="Yeni bir hata")).get_balance()
    assert type(raised.value) is e.ApiError
    assert (raised.value.code, raised.value.message) == (499, "Yeni bir hata")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, b"<html>bad gateway</html>", "not JSON"),
        (200, b"[1, 2]", "no integer response.status.code"),
        (200, b'{"response": {"status": {"code": "200"}}}', "no integer response.status.code"),
        (200, b'{"response": {"status": {"code": true}}}', "no integer response.status.code"),
        (200, b'{"response": {"status": {"code": 200}}}', "another shape"),
        (
            200,
            b'{"response": {"status": {"code": 200}, "balance": {"amount": "x", "sms": 1}}}',
            "another shape",
        ),
        (200, b'{"response": {"status": {"code": 200}, "balance": []}}', "another shape"),
        (500, b'{"response": {"status": {"code": 200}}}', "HTTP 500 with body code 200"),
        (200, b"\xff\xfe", "not JSON"),
    ],
)
def test_an_unexpected_answer_carries_the_raw_body(status: int, body: bytes, reason: str) -> None:
    sms = client(lambda _r: httpx.Response(status, content=body), retries=0)
    with pytest.raises(UnexpectedResponse) as raised:
        sms.get_balance()
    assert raised.value.body == body
    assert raised.value.http_status == status
    assert reason in raised.value.reason


def test_shapes_of_every_read_are_checked() -> None:
    wrong = {
        "order": {"id": "1", "status": "x"},
        "count": None,
        "orders": [{}],
        "senders": {"sender": [{"a": 1}]},
        "blacklist": {"count": 1, "number": [None]},
        "consent": {"brandCode": 1},
    }
    sms = client(answer(200, **wrong), retries=0)
    calls = [
        lambda: sms.get_report("1"),
        lambda: sms.get_reports("2026-01-01", "2026-01-02"),
        sms.get_senders,
        sms.get_blacklist,
        lambda: sms.show_consent("1", "+905330000001"),
        sms.get_balance,
    ]
    for call in calls:
        with pytest.raises(UnexpectedResponse):
            call()


def test_a_429_waits_retry_after_then_succeeds() -> None:
    seen = Recorder(
        answer(429, headers={"Retry-After": "3"}), answer(200, senders={"sender": ["A"]})
    )
    waited: list[float] = []
    sms = client(seen)
    sms._sleep = waited.append
    assert sms.get_senders() == ["A"]
    assert waited == [3.0] and len(seen.requests) == 2


def test_retries_are_bounded_and_back_off() -> None:
    seen = Recorder(answer(503))
    waited: list[float] = []
    sms = client(seen, retries=Retries(total=3, backoff=0.5, max_wait=30))
    sms._sleep = waited.append
    with pytest.raises(e.Unavailable):
        sms.get_balance()
    assert len(seen.requests) == 4
    assert [0.25 <= waited[0] <= 0.5, 0.5 <= waited[1] <= 1.0, 1.0 <= waited[2] <= 2.0] == [
        True
    ] * 3


def test_a_retry_after_beyond_max_wait_is_raised_at_once() -> None:
    seen = Recorder(answer(429, headers={"Retry-After": "120"}))
    with pytest.raises(e.RateLimited) as raised:
        client(seen, retries=Retries(total=3, max_wait=30)).get_balance()
    assert raised.value.retry_after == 120.0 and len(seen.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda sms: sms.send_sms("+905330000001", "x", sender="ILETI"),
        lambda sms: sms.cancel_order("1"),
        lambda sms: sms.create_consents("1", [ileti.client.ConsentRecord("+905330000001", "ONAY")]),
    ],
    ids=["send-sms", "cancel-order", "consent-create"],
)
def test_calls_that_are_not_safe_to_repeat_are_never_retried(call: Any) -> None:
    for refusal in (
        answer(429, headers={"Retry-After": "1"}),
        answer(503),
        httpx.ReadTimeout("no answer"),
    ):
        seen = Recorder(refusal)
        with pytest.raises((e.RateLimited, e.Unavailable, TransportError)):
            call(client(seen))
        assert len(seen.requests) == 1


def test_a_connection_never_made_is_retried_even_for_send_sms() -> None:
    seen = Recorder(httpx.ConnectError("refused"), answer(200, order={"id": "7"}))
    assert client(seen).send_sms("+905330000001", "x", sender="ILETI").id == "7"
    assert len(seen.requests) == 2


def test_no_answer_is_a_transport_error() -> None:
    seen = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError) as raised:
        client(seen, retries=1).get_balance()
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert raised.value.sent and len(seen.requests) == 2


def test_add_and_delete_blacklist_are_retried() -> None:
    seen = Recorder(answer(503), answer(200))
    client(seen).delete_blacklist("+905330000001")
    assert len(seen.requests) == 2


def pages(count: int, size: int) -> Handler:
    numbers = [f"+90533{i:07d}" for i in range(count)]

    def handle(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["request"]["blacklist"]
        page, rows = query["page"], query["rowCount"]
        found = numbers[(page - 1) * rows : page * rows]
        return httpx.Response(200, json=envelope(200, blacklist={"count": count, "number": found}))

    return handle


def test_iterators_are_lazy_and_stop_at_the_last_page() -> None:
    seen = Recorder(pages(5, 2))
    numbers = client(seen).iter_blacklist(row_count=2)
    assert seen.requests == []  # nothing until read
    assert next(numbers) == "+905330000000"
    assert len(seen.requests) == 1
    assert len(list(numbers)) == 4 and len(seen.requests) == 3
    seen = Recorder(pages(4, 2))
    assert len(list(client(seen).iter_blacklist(row_count=2))) == 4
    assert len(seen.requests) == 2  # count reached: no empty third page asked


async def test_the_async_client_reads_and_retries_the_same() -> None:
    seen = Recorder(answer(429, headers={"Retry-After": "2"}), pages(3, 2))
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    async with AsyncClient(
        KEY, HASH, base_url="http://sms.test/v1/", transport=httpx.MockTransport(seen)
    ) as sms:
        sms._sleep = sleep
        found = [n async for n in sms.iter_blacklist(row_count=2)]
        assert len(found) == 3 and waited == [2.0]
        sms_send = Recorder(answer(503))
        sms._http._transport = httpx.MockTransport(sms_send)
        with pytest.raises(e.Unavailable):
            await sms.send_sms("+905330000001", "x", sender="ILETI")
        assert len(sms_send.requests) == 1


# -- webhooks ------------------------------------------------------------------------


def test_the_documented_webhook_body_is_a_typed_report() -> None:
    body = (
        b'{"report":{"id":1234,"packet_id":42,"status":"delivered","to":"+905330000001",'
        b'"body":"Kodunuz: 1234"}}'
    )
    report = parse_webhook(body)
    assert report == WebhookReport(1234, 42, "delivered", "+905330000001", "Kodunuz: 1234")
    assert (report.code, report.order_id) == (111, "42")
    assert parse_webhook(json.loads(body)) == report
    assert parse_webhook(body.decode()).status == "delivered"
    accepted = parse_webhook(
        {
            "report": {
                **json.loads(body)["report"],
                "status": "accepted",
                "id": "9",
                "packet_id": "10",
            }
        }
    )
    assert (accepted.code, accepted.id, accepted.packet_id) == (110, 9, 10)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"report": []}',
        b'{"status": 111}',
        b'{"report":{"id":1,"packet_id":2,"status":111,"to":"+905330000001","body":""}}',
        b'{"report":{"id":1,"packet_id":2,"status":"DELIVERED","to":"+905330000001","body":""}}',
        b'{"report":{"id":true,"packet_id":2,"status":"delivered","to":"x","body":""}}',
        b'{"report":{"id":1,"packet_id":2,"status":"delivered","to":null,"body":""}}',
        b'{"report":{"packet_id":2,"status":"delivered","to":"x","body":""}}',
    ],
)
def test_any_other_webhook_body_is_invalid_webhook(body: bytes) -> None:
    with pytest.raises(InvalidWebhook):
        parse_webhook(body)


# -- installs with httpx alone ---------------------------------------------------------


def test_the_client_imports_with_httpx_alone(tmp_path: Path) -> None:
    """In a fresh interpreter (``-I -S``: no site-packages, no PYTHONPATH) whose path
    holds only the client package and httpx with its own dependencies."""
    package = tmp_path / "ileti"
    package.mkdir()
    source = Path(ileti.client.__file__).parent
    (package / "__init__.py").write_text((source.parent / "__init__.py").read_text())
    (package / "client").symlink_to(source)
    for name in ("httpx", "httpcore", "h11", "anyio", "idna", "certifi", "sniffio"):
        module = __import__(name)
        origin = Path(module.__file__).parent
        (tmp_path / name).symlink_to(origin)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import ileti.client as c;"
        "c.Client('k', secret='s', base_url='http://x/v1/');"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('msgspec','sqlalchemy','starlette','uvicorn','phonenumbers','click','alembic')"
        " or (m.startswith('ileti.') and not m.startswith('ileti.client')));"
        "print(bad)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_consent_requests_and_answers() -> None:
    record = {
        "brandCode": 696422,
        "recipient": "+905330000001",
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
        "status": "ONAY",
        "source": "HS_WEB",
        "consentDate": "2025-12-10 00:00:00",
    }
    seen = Recorder(answer(200), answer(200, consent=record), answer(200, consent=[]))
    sms = client(seen)
    sms.create_consents(
        696422,
        [
            ileti.client.ConsentRecord(
                "+905330000001", "ONAY", source="HS_WEB", consent_date="2025-12-10 00:00:00"
            ),
            ileti.client.ConsentRecord("+905330000002", "RET", recipient_type="TACIR"),
        ],
    )
    shown = sms.show_consent("696422", "+905330000001")
    assert shown == ileti.client.Consent(
        "696422", "+905330000001", "BIREYSEL", "MESAJ", "ONAY", "HS_WEB", "2025-12-10 00:00:00"
    )
    assert sms.show_consent("696422", "+905330000003", recipient_type="TACIR") is None
    create, show, _ = (b["request"] for b in seen.bodies)
    assert [str(r.url).rsplit("/v1/", 1)[1] for r in seen.requests] == [
        "consent/create/json",
        "consent/show/json",
        "consent/show/json",
    ]
    assert create["consent"] == {
        "brandCode": "696422",
        "list": [
            {
                "recipient": "+905330000001",
                "recipientType": "BIREYSEL",
                "type": "MESAJ",
                "status": "ONAY",
                "source": "HS_WEB",
                "consentDate": "2025-12-10 00:00:00",
            },
            {
                "recipient": "+905330000002",
                "recipientType": "TACIR",
                "type": "MESAJ",
                "status": "RET",
            },
        ],
    }
    assert show["consent"] == {
        "brandCode": "696422",
        "recipient": "+905330000001",
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
    }
    with pytest.raises(ileti.client.InvalidRequest):
        sms.create_consents("696422", [])
