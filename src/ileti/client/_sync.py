"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

import ileti.client._core as _core
from ileti.client._core import DEFAULT_BASE_URL, MAX_ROWS, REPORTS_PAGE, Call, Retries
from ileti.client.errors import ApiError, TransportError, UnexpectedResponse
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
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def transport_error(call: Call[Any], exc: httpx.TransportError) -> TransportError:
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    error = TransportError(
        f"{call.action}: {type(exc).__name__}: {exc}", action=call.action, sent=sent
    )
    error.__cause__ = exc
    return error


class Client:
    """The iletiMerkezi SMS API v1, synchronously (httpx).

    ``Client(key, hash)`` or ``Client(key, secret=SECRET)`` (the hash is computed).
    ``base_url`` is the real service by default; ileti's is ``http://HOST:PORT/v1/``.
    ``retries`` applies to calls safe to repeat (reads, add/delete-blacklist), never
    to send-sms, cancel-order or consent/create. ``transport`` is any httpx transport
    (an in-process one: ``ileti.testing.transport(app)``)."""

    def __init__(
        self,
        key: str,
        hash: str | None = None,
        *,
        secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout = 30.0,
        retries: Retries | int | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.authentication = _core.credentials(key, hash, secret)
        self.base_url = _core.base_url_of(base_url)
        self.retries = _core.retries_of(retries)
        self._http = httpx.Client(
            timeout=timeout, transport=transport, headers={**HEADERS, **(headers or {})}
        )
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def key(self) -> str:
        return self.authentication["key"]

    @property
    def hash(self) -> str:
        return self.authentication["hash"]

    # -- plumbing --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, call: Call[T]) -> T:
        """Send one call (retrying it when it is safe) and read its answer."""
        url = self.base_url + call.action + "/json"
        body = call.body(self.authentication)
        attempt = 0
        while True:
            try:
                try:
                    answer = self._http.post(url, content=body)
                except httpx.TransportError as exc:
                    raise transport_error(call, exc) from exc
                return _core.read(call, answer.status_code, answer.content, answer.headers)
            except (ApiError, UnexpectedResponse, TransportError) as error:
                wait = self._wait(call, attempt, error)
                if wait is None:
                    raise
            self._sleep(wait)
            attempt += 1

    def _wait(self, call: Call[Any], attempt: int, error: Exception) -> float | None:
        if not _core.retryable(error):
            return None
        if not call.retry and not (isinstance(error, TransportError) and not error.sent):
            return None
        return self.retries.delay(attempt, error)

    # -- sending -----------------------------------------------------------------------------

    def send_sms(
        self,
        to: str | int | Iterable[str | int],
        text: str,
        *,
        sender: str,
        send_at: datetime | str | None = None,
        iys: bool = False,
        iys_list: str = "BIREYSEL",
    ) -> SentOrder:
        """One text to one or more recipients (at most 50,000): the new order.
        ``iys=False`` (transactional: OTPs, notices) unless told; commercial messages
        need ``iys=True`` and ``iys_list``."""
        messages = _core.messages_of(to, text, None)
        return self.call(
            _core.send_sms(messages, sender=sender, send_at=send_at, iys=iys, iys_list=iys_list)
        )

    def send_messages(
        self,
        messages: Sequence[Message],
        *,
        sender: str,
        send_at: datetime | str | None = None,
        iys: bool = False,
        iys_list: str = "BIREYSEL",
    ) -> SentOrder:
        """Several texts, each to its recipients, as one order."""
        return self.call(
            _core.send_sms(messages, sender=sender, send_at=send_at, iys=iys, iys_list=iys_list)
        )

    def cancel_order(self, order_id: str | int) -> None:
        self.call(_core.cancel_order(order_id))

    # -- reports ------------------------------------------------------------------------------

    def get_report(
        self, order_id: str | int, *, page: int = 1, row_count: int = MAX_ROWS
    ) -> Report:
        return self.call(_core.get_report(order_id, page=page, row_count=row_count))

    def iter_report(
        self, order_id: str | int, *, row_count: int = MAX_ROWS
    ) -> Iterator[MessageStatus]:
        """Every message of the order, page after page, fetched as it is read."""
        page = 1
        while True:
            report = self.get_report(order_id, page=page, row_count=row_count)
            yield from report.messages
            if len(report.messages) < report.row_count or page * report.row_count >= report.total:
                return
            page += 1

    def get_reports(self, start: date | str, end: date | str, *, page: int = 1) -> ReportsPage:
        return self.call(_core.get_reports(start, end, page=page))

    def iter_reports(self, start: date | str, end: date | str) -> Iterator[OrderSummary]:
        """Every order of the days from ``start`` to ``end`` (at most 10), lazily."""
        page = 1
        while True:
            found = self.get_reports(start, end, page=page)
            yield from found.orders
            if len(found.orders) < REPORTS_PAGE or page * REPORTS_PAGE >= found.count:
                return
            page += 1

    # -- account -------------------------------------------------------------------------------

    def get_balance(self) -> Balance:
        return self.call(_core.get_balance())

    def get_senders(self) -> list[str]:
        return self.call(_core.get_senders())

    # -- blacklist -------------------------------------------------------------------------------

    def add_blacklist(self, number: str | int) -> None:
        self.call(_core.add_blacklist(number))

    def delete_blacklist(self, number: str | int) -> None:
        self.call(_core.delete_blacklist(number))

    def get_blacklist(
        self,
        *,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
        page: int = 1,
        row_count: int = MAX_ROWS,
    ) -> BlacklistPage:
        return self.call(_core.get_blacklist(start=start, end=end, page=page, row_count=row_count))

    def iter_blacklist(
        self,
        *,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
        row_count: int = MAX_ROWS,
    ) -> Iterator[str]:
        """Every blocked number (blocked-at order), page after page, lazily."""
        page = 1
        while True:
            found = self.get_blacklist(start=start, end=end, page=page, row_count=row_count)
            yield from found.numbers
            if len(found.numbers) < found.row_count or page * found.row_count >= found.count:
                return
            page += 1

    # -- İYS consent ---------------------------------------------------------------------------

    def create_consents(self, brand_code: str | int, records: Sequence[ConsentRecord]) -> None:
        """consent/create: 1 to 5,000 records, stored all or none."""
        self.call(_core.create_consents(brand_code, records))

    def show_consent(
        self,
        brand_code: str | int,
        recipient: str,
        *,
        recipient_type: str = "BIREYSEL",
        type: str = "MESAJ",
    ) -> Consent | None:
        """consent/show: the latest record (Unprocessable when there is none; None
        where the live service answers an empty ``consent``)."""
        return self.call(
            _core.show_consent(brand_code, recipient, recipient_type=recipient_type, type=type)
        )
