"""The upstream: a real iletiMerkezi account (or another ileti) that relayed and released
orders are forwarded to, spoken to in its own v1 JSON (spec §1–§7) over httpx.

Every call ends in a parsed ``response`` object or an :class:`UpstreamError` saying what
the failure means for a write:

- ``refused``: the upstream answered with an error code (401, 402, 450, 451, 452, …):
  nothing was stored there; retrying changes nothing.
- ``busy``: 429, or no connection could be made: nothing was stored; retry later
  (``retry_after`` when the upstream said).
- ``uncertain``: the request may have been stored (a timeout or a connection lost after
  the request went out, a 503, a 5xx or an answer that is not the API's envelope). A
  send-sms that ends so is reconciled with the upstream's reports before it is sent
  again (``services/relay.py``).

The upstream hash is a bearer credential: it travels only in request bodies, never in
a URL or a log line; error messages carry the upstream's code and message only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from ileti.logs import safe_url

DEFAULT_BASE_URL = "https://api.iletimerkezi.com/v1/"
#: get-report rows per page (spec §7: rowCount at most 1000).
REPORT_PAGE = 1000

Kind = Literal["refused", "busy", "uncertain"]


class UpstreamError(Exception):
    """A call the upstream did not answer with 200 (see the module docstring)."""

    def __init__(
        self, kind: Kind, message: str, *, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code} {self.message}" if self.code is not None else self.message


class UrlError(ValueError):
    """A base URL ileti cannot call (one line, naming what is wrong)."""


def check_base_url(url: str) -> str:
    """The base URL normalised (ending in ``/``); UrlError when it cannot be called."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise UrlError(f"the upstream URL must start with http:// or https://, got {text!r}")
    if not parts.hostname:
        raise UrlError(f"the upstream URL has no host: {text!r}")
    if parts.username or parts.password:
        raise UrlError("the upstream URL must not carry a user or password")
    if parts.query or parts.fragment:
        raise UrlError("the upstream URL must not have a query or fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise UrlError(f"the upstream URL has a bad port: {text!r}") from None
    return text if text.endswith("/") else text + "/"


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call; ``hash`` is kept out of the repr."""

    base_url: str
    key: str
    hash: str = field(repr=False)


@dataclass(frozen=True)
class Report:
    """One page of an upstream get-report."""

    status: int  # 113, 114, 115
    total: int
    messages: list[tuple[str, int]]  # (number, status)


@dataclass(frozen=True)
class OrderSummary:
    """One order of an upstream get-reports page."""

    id: str
    total: int
    sender: str
    submit_at: str  # Y-m-d H:i:s, Istanbul


class Upstream:
    """The HTTP client every relay call of one instance goes through (one pool)."""

    def __init__(
        self, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            transport=transport,
            headers={"User-Agent": "ileti-relay"},
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, creds: Credentials, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``<base>/<action>/json`` with the credentials; the ``response`` object of a
        200, or UpstreamError."""
        payload = {"request": {"authentication": {"key": creds.key, "hash": creds.hash}, **body}}
        url = f"{creds.base_url}{action}/json"
        try:
            reply = await self._http.post(
                url,
                content=json.dumps(payload, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise UpstreamError("busy", f"cannot connect to {safe_url(url)}: {_why(exc)}") from None
        except httpx.TimeoutException:
            raise UpstreamError("uncertain", f"no answer from {safe_url(url)} in time") from None
        except httpx.HTTPError as exc:
            raise UpstreamError("uncertain", f"{safe_url(url)}: {_why(exc)}") from None
        return _answer(reply)

    # -- the v1 actions the relay uses ----------------------------------------------------

    async def balance(self, creds: Credentials) -> tuple[float, int]:
        """(amount, sms) of get-balance: the test call made when an upstream is set."""
        balance = (await self.call(creds, "get-balance", {})).get("balance") or {}
        return float(balance.get("amount") or 0), int(balance.get("sms") or 0)

    async def send(
        self,
        creds: Credentials,
        *,
        sender: str,
        text: str,
        numbers: list[str],
        send_at: str,
        iys: bool,
        iys_list: str | None,
    ) -> str:
        """send-sms of one text to these numbers; the upstream's order id."""
        order: dict[str, Any] = {
            "sender": sender,
            "sendDateTime": send_at,
            "iys": "1" if iys else "0",
            "message": {"text": text, "receipents": {"number": numbers}},
        }
        if iys_list:
            order["iysList"] = iys_list
        answer = await self.call(creds, "send-sms", {"order": order})
        order_id = (answer.get("order") or {}).get("id")
        if order_id is None or not str(order_id).isdigit():
            raise UpstreamError("uncertain", "send-sms answered 200 without an order id")
        return str(order_id)

    async def report(self, creds: Credentials, order_id: str, page: int) -> Report:
        answer = await self.call(
            creds,
            "get-report",
            {"order": {"id": order_id, "page": page, "rowCount": REPORT_PAGE}},
        )
        order = answer.get("order") or {}
        rows = order.get("message") or []
        if isinstance(rows, dict):
            rows = [rows]
        return Report(
            status=int(order.get("status") or 0),
            total=int(order.get("total") or 0),
            messages=[(str(m.get("number")), int(m.get("status") or 0)) for m in rows],
        )

    async def reports(
        self, creds: Credentials, start: str, end: str, page: int
    ) -> tuple[int, list[OrderSummary]]:
        """get-reports of the days ``start`` to ``end`` (``Y-m-d``): (count, one page)."""
        answer = await self.call(
            creds, "get-reports", {"filter": {"start": start, "end": end, "page": page}}
        )
        rows = answer.get("orders") or []
        if isinstance(rows, dict):
            rows = [rows]
        found = [
            OrderSummary(
                id=str(row.get("id")),
                total=int(row.get("total") or 0),
                sender=str(row.get("sender") or ""),
                submit_at=str(row.get("submitAt") or ""),
            )
            for row in rows
        ]
        return int(answer.get("count") or 0), found

    async def cancel(self, creds: Credentials, order_id: str) -> None:
        await self.call(creds, "cancel-order", {"order": {"id": order_id}})

    async def add_blacklist(self, creds: Credentials, number: str) -> None:
        await self.call(creds, "add-blacklist", {"blacklist": {"number": number}})

    async def delete_blacklist(self, creds: Credentials, number: str) -> None:
        await self.call(creds, "delete-blacklist", {"blacklist": {"number": number}})

    async def blacklist(
        self, creds: Credentials, *, start: str | None, page: int
    ) -> tuple[int, list[str]]:
        """get-blacklist, blocked since ``start`` (``Y-m-d H:i:s``): (count, one page)."""
        query: dict[str, Any] = {"page": page, "rowCount": REPORT_PAGE}
        if start is not None:
            query["filter"] = {"start": start}
        listed = (await self.call(creds, "get-blacklist", {"blacklist": query})).get(
            "blacklist"
        ) or {}
        numbers = listed.get("number") or []
        if isinstance(numbers, str):
            numbers = [numbers]
        return int(listed.get("count") or 0), [str(n) for n in numbers]


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _answer(reply: httpx.Response) -> dict[str, Any]:
    """The ``response`` object of a 200 envelope, or the UpstreamError it means."""
    try:
        envelope = json.loads(reply.content)
        response = envelope["response"]
        status = response["status"]
        code = int(status["code"])
        message = str(status.get("message") or "")
    except (ValueError, KeyError, TypeError):
        kind: Kind = "busy" if reply.status_code == 429 else "uncertain"
        raise UpstreamError(
            kind, f"not an iletiMerkezi answer (HTTP {reply.status_code})", code=reply.status_code
        ) from None
    if code == 200 and reply.status_code == 200:
        return response
    if code == 429 or reply.status_code == 429:
        raise UpstreamError(
            "busy", message, code=429, retry_after=_retry_after(reply.headers.get("Retry-After"))
        )
    if code >= 500 or reply.status_code >= 500:
        raise UpstreamError("uncertain", message, code=code)
    return_code = code if code != 200 else reply.status_code
    raise UpstreamError("refused", message, code=return_code)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None
