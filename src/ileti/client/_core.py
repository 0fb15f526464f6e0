"""What the sync and async clients share, without I/O: each v1 action as a :class:`Call`
(the request's members, how to read the success, whether a retry is safe), the
credential hash, reading the envelope into a result or the code's exception, and the
retry policy."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

from ileti.client.errors import (
    ApiError,
    InvalidRequest,
    UnexpectedResponse,
    error_for,
)
from ileti.client.models import (
    Balance,
    BlacklistPage,
    Consent,
    ConsentRecord,
    Message,
    MessageStatus,
    OrderSummary,
    Report,
    ReportsPage,
    SentOrder,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.iletimerkezi.com/v1/"
MAX_RECIPIENTS = 50_000
MAX_ROWS = 1000
MAX_CONSENTS = 5000
IYS_LISTS = ("BIREYSEL", "TACIR")
#: get-reports answers 30 orders a page.
REPORTS_PAGE = 30

try:  # the wall clock the API reads and writes
    from zoneinfo import ZoneInfo

    ISTANBUL: Any = ZoneInfo("Europe/Istanbul")
except Exception:  # no time-zone database: Turkey has kept UTC+3 all year since 2016
    ISTANBUL = timezone(timedelta(hours=3), "Europe/Istanbul")


def hash_of(key: str, secret: str) -> str:
    """The v1 ``hash``: lowercase hex HMAC-SHA256 of the key, keyed with the secret."""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def credentials(key: str, hash: str | None, secret: str | None) -> dict[str, str]:
    if not isinstance(key, str) or not key:
        raise InvalidRequest("key is required")
    if secret is not None:
        computed = hash_of(key, secret)
        if hash is not None and not hmac.compare_digest(hash.lower(), computed):
            raise InvalidRequest("hash and secret disagree: give one of them")
        hash = computed
    if not hash:
        raise InvalidRequest("give the hash, or the secret to compute it from")
    return {"key": key, "hash": hash}


def base_url_of(url: str) -> str:
    """The base ending in ``/`` (``http://host:8080/v1`` -> ``http://host:8080/v1/``)."""
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One v1 request: ``POST <base>/<action>/json`` with ``members`` beside
    ``authentication``; ``read`` turns the ``response`` object into the result."""

    action: str
    members: dict[str, Any]
    read: Callable[[dict[str, Any]], T]
    #: Safe to send again after no answer, 429 or 503: reads and the idempotent
    #: add/delete-blacklist; never send-sms, cancel-order or consent/create.
    retry: bool

    def body(self, authentication: Mapping[str, str]) -> bytes:
        request = {"authentication": authentication, **self.members}
        return json.dumps({"request": request}, ensure_ascii=False).encode()


# -- reading answers ---------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def read(call: Call[T], http_status: int, content: bytes, headers: Mapping[str, str]) -> T:
    """The result of an answer, or the exception of its code; an answer that is not
    the envelope (or whose payload has the wrong shape) is UnexpectedResponse."""

    def unexpected(reason: str) -> UnexpectedResponse:
        return UnexpectedResponse(reason, http_status=http_status, body=content, action=call.action)

    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise unexpected("not JSON") from None
    response = document.get("response") if isinstance(document, dict) else None
    status = response.get("status") if isinstance(response, dict) else None
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        raise unexpected("no integer response.status.code")
    assert isinstance(response, dict) and isinstance(status, dict)
    message = status.get("message")
    message = message if isinstance(message, str) else ""
    if code != 200:
        error = error_for(code)(
            message, code=code, http_status=http_status, body=content, action=call.action
        )
        error.retry_after = _retry_after(headers)
        raise error
    if not 200 <= http_status < 300:
        raise unexpected(f"HTTP {http_status} with body code 200")
    try:
        return call.read(response)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise unexpected(f"the payload has another shape ({type(exc).__name__}: {exc})") from None


# -- retries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retries:
    """Retries of calls that are safe to repeat (``Call.retry``), after no answer, a 429
    or a 503 (or a proxy's 502/504): at most ``total`` more attempts, waiting
    ``Retry-After`` when the server sends it (up to ``max_wait`` seconds; longer: the
    error is raised at once), else ``backoff × 2^n`` (with jitter, at most ``max_wait``)."""

    total: int = 2
    backoff: float = 0.25
    max_wait: float = 30.0

    def delay(self, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before retry number ``attempt`` (0-based), or None: give up."""
        if attempt >= self.total:
            return None
        after = getattr(error, "retry_after", None)
        if after is not None:
            return after if after <= self.max_wait else None
        return min(self.max_wait, self.backoff * (2**attempt) * random.uniform(0.5, 1.0))


NO_RETRIES = Retries(total=0)


def retries_of(value: Retries | int | None) -> Retries:
    if value is None:
        return Retries()
    if isinstance(value, Retries):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest("retries must be a Retries or a whole number >= 0")
    return Retries(total=value)


def retryable(error: Exception) -> bool:
    """An answer (or no answer) after which repeating a safe call may succeed."""
    if isinstance(error, ApiError):
        return error.code in (429, 503)
    if isinstance(error, UnexpectedResponse):
        return error.http_status in (502, 503, 504)
    return True  # a transport error


# -- values ------------------------------------------------------------------------------


def _istanbul(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(ISTANBUL)


def schedule_text(value: datetime | str | None) -> str:
    """send-sms's ``sendDateTime``: ``dd/MM/yyyy HH:mm`` (a naive datetime is taken as
    Istanbul's wall clock), or "" for now."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _istanbul(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, str):
        return value
    raise InvalidRequest("send_at must be a datetime, a 'dd/MM/yyyy HH:mm' string or None")


def moment_text(value: datetime | date | str) -> str:
    """get-blacklist's filter times: ``Y-m-d H:i:s`` (Istanbul)."""
    if isinstance(value, datetime):
        return _istanbul(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, str):
        return value
    raise InvalidRequest("a filter time must be a datetime, a date or a string")


def day_text(value: date | str) -> str:
    """get-reports's days: ``Y-m-d``."""
    if isinstance(value, datetime):
        return _istanbul(value).strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str):
        return value
    raise InvalidRequest("a day must be a date or a 'Y-m-d' string")


def _numbers(to: str | int | Iterable[str | int]) -> list[str]:
    if isinstance(to, str | int) and not isinstance(to, bool):
        found = [to]
    elif isinstance(to, Iterable):
        found = list(to)
    else:
        raise InvalidRequest("recipients must be a number or a list of numbers")
    out = []
    for number in found:
        if isinstance(number, bool) or not isinstance(number, str | int):
            raise InvalidRequest(f"a recipient must be a string of digits, got {number!r}")
        text = str(number).strip()
        if not text:
            raise InvalidRequest("a recipient is empty")
        out.append(text)
    return out


def _page(page: int, row_count: int | None = None) -> None:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidRequest("page starts at 1")
    if row_count is not None and (
        isinstance(row_count, bool) or not isinstance(row_count, int) or row_count < 1
    ):
        raise InvalidRequest("row_count must be a whole number from 1 to 1000")


# -- the calls ------------------------------------------------------------------------


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean where a number belongs")
    return int(value)


def _str(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return value


def _nothing(_response: dict[str, Any]) -> None:
    return None


def send_sms(
    messages: Sequence[Message],
    *,
    sender: str,
    send_at: datetime | str | None = None,
    iys: bool = False,
    iys_list: str = "BIREYSEL",
) -> Call[SentOrder]:
    if not isinstance(sender, str) or not sender.strip():
        raise InvalidRequest("sender is empty")
    if not messages:
        raise InvalidRequest("no message to send")
    wire = []
    total = 0
    for message in messages:
        if not isinstance(message.text, str) or not message.text.strip():
            raise InvalidRequest("text is empty")
        numbers = _numbers(message.to)
        if not numbers:
            raise InvalidRequest("no recipient")
        total += len(numbers)
        if total > MAX_RECIPIENTS:
            raise InvalidRequest(f"more than {MAX_RECIPIENTS:,} recipients in one order")
        wire.append({"text": message.text, "receipents": {"number": numbers}})
    order: dict[str, Any] = {
        "sender": sender,
        "sendDateTime": schedule_text(send_at),
        "iys": "1" if iys else "0",
        "message": wire[0] if len(wire) == 1 else wire,
    }
    if iys:
        if iys_list not in IYS_LISTS:
            raise InvalidRequest("iys_list must be BIREYSEL or TACIR")
        order["iysList"] = iys_list

    def read_order(response: dict[str, Any]) -> SentOrder:
        return SentOrder(id=_str(response["order"]["id"]))

    return Call("send-sms", {"order": order}, read_order, retry=False)


def cancel_order(order_id: str | int) -> Call[None]:
    return Call("cancel-order", {"order": {"id": str(order_id)}}, _nothing, retry=False)


def _message(item: Any) -> MessageStatus:
    return MessageStatus(number=_str(item["number"]), status=_int(item["status"]))


def get_report(order_id: str | int, *, page: int = 1, row_count: int = MAX_ROWS) -> Call[Report]:
    _page(page, row_count)

    def read_report(response: dict[str, Any]) -> Report:
        o = response["order"]
        return Report(
            id=_str(o["id"]),
            status=_int(o["status"]),
            total=_int(o["total"]),
            delivered=_int(o["delivered"]),
            undelivered=_int(o["undelivered"]),
            waiting=_int(o["waiting"]),
            submit_at=_str(o["submitAt"]),
            send_at=_str(o["sendAt"]),
            sender=_str(o["sender"]),
            price=_int(o.get("price", 0)),
            messages=tuple(_message(m) for m in _list(o.get("message", []))),
            page=page,
            row_count=min(row_count, MAX_ROWS),
        )

    members = {"order": {"id": str(order_id), "page": page, "rowCount": row_count}}
    return Call("get-report", members, read_report, retry=True)


def _summary(o: Any) -> OrderSummary:
    return OrderSummary(
        id=_int(o["id"]),
        status=_int(o["status"]),
        total=_int(o["total"]),
        delivered=_int(o["delivered"]),
        undelivered=_int(o["undelivered"]),
        waiting=_int(o["waiting"]),
        submit_at=_str(o["submitAt"]),
        send_at=_str(o["sendAt"]),
        sender=_str(o["sender"]),
    )


def get_reports(start: date | str, end: date | str, *, page: int = 1) -> Call[ReportsPage]:
    _page(page)

    def read_reports(response: dict[str, Any]) -> ReportsPage:
        orders = tuple(_summary(o) for o in _list(response.get("orders", [])))
        return ReportsPage(count=_int(response["count"]), orders=orders, page=page)

    members = {
        "filter": {"start": day_text(start), "end": day_text(end), "page": page},
        "page": page,
    }
    return Call("get-reports", members, read_reports, retry=True)


def get_balance() -> Call[Balance]:
    def read_balance(response: dict[str, Any]) -> Balance:
        b = response["balance"]
        return Balance(amount=float(b["amount"]), sms=_int(b["sms"]))

    return Call("get-balance", {}, read_balance, retry=True)


def get_senders() -> Call[list[str]]:
    def read_senders(response: dict[str, Any]) -> list[str]:
        senders = response["senders"]
        found = senders.get("sender", []) if isinstance(senders, dict) else senders
        if isinstance(found, str):
            found = [found]
        return [_str(s) for s in _list(found)]

    return Call("get-sender", {}, read_senders, retry=True)


def _one_number(number: str | int) -> str:
    (text,) = _numbers(number) if isinstance(number, str | int) else (None,)
    if text is None:
        raise InvalidRequest("one number (a string)")
    return text


def add_blacklist(number: str | int) -> Call[None]:
    members = {"blacklist": {"number": _one_number(number)}}
    return Call("add-blacklist", members, _nothing, retry=True)


def delete_blacklist(number: str | int) -> Call[None]:
    members = {"blacklist": {"number": _one_number(number)}}
    return Call("delete-blacklist", members, _nothing, retry=True)


def get_blacklist(
    *,
    start: datetime | date | str | None = None,
    end: datetime | date | str | None = None,
    page: int = 1,
    row_count: int = MAX_ROWS,
) -> Call[BlacklistPage]:
    _page(page, row_count)
    query: dict[str, Any] = {"page": page, "rowCount": row_count}
    window = {}
    if start is not None:
        window["start"] = moment_text(start)
    if end is not None:
        window["end"] = moment_text(end)
    if window:
        query["filter"] = window

    def read_blacklist(response: dict[str, Any]) -> BlacklistPage:
        b = response["blacklist"]
        numbers = b.get("number", [])
        numbers = [numbers] if isinstance(numbers, str) else _list(numbers)
        return BlacklistPage(
            count=_int(b["count"]),
            numbers=tuple(_str(n) for n in numbers),
            page=page,
            row_count=min(row_count, MAX_ROWS),
        )

    return Call("get-blacklist", {"blacklist": query}, read_blacklist, retry=True)


def create_consents(brand_code: str | int, records: Sequence[ConsentRecord]) -> Call[None]:
    records = list(records)
    if not 1 <= len(records) <= MAX_CONSENTS:
        raise InvalidRequest(f"consent/create takes 1 to {MAX_CONSENTS:,} records")
    members = {
        "consent": {"brandCode": str(brand_code), "list": [r.wire() for r in records]},
    }
    return Call("consent/create", members, _nothing, retry=False)


def show_consent(
    brand_code: str | int,
    recipient: str,
    *,
    recipient_type: str = "BIREYSEL",
    type: str = "MESAJ",
) -> Call[Consent | None]:
    def read_consent(response: dict[str, Any]) -> Consent | None:
        c = response["consent"]
        if c == [] or c is None:  # the live service's answer for no record of a kind
            return None
        optional = {
            k: (None if c.get(k) is None else _str(c[k])) for k in ("source", "consentDate")
        }
        return Consent(
            brand_code=_str(c["brandCode"]),
            recipient=_str(c["recipient"]),
            recipient_type=_str(c["recipientType"]),
            type=_str(c["type"]),
            status=_str(c["status"]),
            source=optional["source"],
            consent_date=optional["consentDate"],
        )

    members = {
        "consent": {
            "brandCode": str(brand_code),
            "recipient": recipient,
            "recipientType": recipient_type,
            "type": type,
        }
    }
    return Call("consent/show", members, read_consent, retry=True)


def messages_of(
    to: str | int | Iterable[str | int] | None, text: str | None, messages: Sequence[Message] | None
) -> list[Message]:
    if messages is not None:
        if to is not None or text is not None:
            raise InvalidRequest("give to and text, or messages, not both")
        return list(messages)
    if to is None or text is None:
        raise InvalidRequest("give to and text (or messages)")
    return [Message(text=text, to=_numbers(to))]
