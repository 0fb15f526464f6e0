"""The relay between two iletis served from threads of the test process
(``ileti.testing.server.Sandbox``): an **upstream** (a plain sandbox on its own SQLite
file, standing in for iletiMerkezi, never mocked) with an account made through its
control API, and a **local** ileti (the test's SQLite or PostgreSQL database) whose
account relays to it, set through ``runtime.relay_settings``.

Everything a test does is asynchronous, so that a webhook ``Receiver`` in the test's
event loop keeps answering: v1 and the control API over httpx.AsyncClient, and calls
into a sandbox's runtime on that sandbox's own loop (``on``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
import socket
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ileti.clock import ISTANBUL
from ileti.services.relay_settings import RelaySettingError
from ileti.testing.server import Sandbox, migrated_template
from tests.support.spec import OK
from tests.support.waiting import eventually

T = TypeVar("T")

#: ILETI_SECRET_KEY of the local ileti (at least 32 characters).
SECRET_KEY = "relay-tests-secret-key-0123456789abcdef"
OTHER_SECRET_KEY = "another-secret-key-fedcba9876543210-xyz"
BRAND = "696422"

#: The local ileti: the relay loop and the webhook sender look often; an upstream call
#: may take 3 s; a failing order gives up 10 s after it was accepted.
LOCAL_SETTINGS: dict[str, Any] = {
    "secret_key": (SECRET_KEY,),
    "relay_poll_seconds": 0.05,
    "relay_report_seconds": 0.2,
    "relay_timeout_seconds": 3.0,
    "relay_deadline_seconds": 10.0,
    "delivery_delay_seconds": 0.1,
    "delivery_poll_seconds": 0.05,
    "webhook_backoff_seconds": 0.1,
    "auth_refresh_seconds": 0.1,
}
#: The upstream: its simulated carrier finishes a message 0.1 s after dispatch.
UPSTREAM_SETTINGS: dict[str, Any] = {
    "delivery_delay_seconds": 0.1,
    "delivery_poll_seconds": 0.05,
    "auth_refresh_seconds": 0.05,
}


async def on(sandbox: Sandbox, work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the sandbox's own loop, without blocking the test's."""
    return await asyncio.wrap_future(sandbox.submit(work))


def free_port() -> int:
    """A port nothing listens on (bound and closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as found:
        found.bind(("127.0.0.1", 0))
        return int(found.getsockname()[1])


# -- accounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """An account made through a sandbox's control API (its credentials shown once)."""

    key: str
    secret: str
    id: int

    @property
    def hash(self) -> str:
        return hmac.new(self.secret.encode(), self.key.encode(), hashlib.sha256).hexdigest()

    @property
    def auth(self) -> dict[str, str]:
        return {"key": self.key, "hash": self.hash}

    @property
    def headers(self) -> dict[str, str]:
        """The control API's credentials of the account."""
        return {"X-Ileti-Key": self.key, "X-Ileti-Hash": self.hash}


def make_account(
    sandbox: Sandbox, *, key: str | None = None, secret: str | None = None, **fields: Any
) -> Account:
    """An account made by the admin (``POST /_ileti/accounts``): sender ILETI, 1,000
    credits and the brand code unless ``fields`` say otherwise."""
    body = {
        "name": "relay",
        "key": key or f"k-{uuid.uuid4().hex[:12]}",
        "secret": secret or uuid.uuid4().hex,
        "senders": ["ILETI"],
        "balance": 1000,
        "brand_code": BRAND,
        **fields,
    }
    made = httpx.post(
        f"{sandbox.url}/_ileti/accounts",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["secret"] == body["secret"]
    found = sandbox.run(sandbox.runtime.accounts.get(body["key"]))
    return Account(body["key"], body["secret"], found.id)


# -- the two iletis -------------------------------------------------------------------------


class UpstreamFile:
    """A SQLite file the upstream keeps across restarts (a new Sandbox on the same port
    and file is the same upstream come back)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        shutil.copyfile(migrated_template(), directory / "upstream.db")
        self.url = f"sqlite:///{directory / 'upstream.db'}"


def start_upstream(*, port: int = 0, database_url: str | None = None, **settings: Any) -> Sandbox:
    values = {**UPSTREAM_SETTINGS, **settings}
    return Sandbox(port=port, database_url=database_url, **values).start()


def start_local(database_url: str, **settings: Any) -> Sandbox:
    return Sandbox(database_url=database_url, **{**LOCAL_SETTINGS, **settings}).start()


@dataclass
class Relay:
    """An upstream and a local ileti whose account ``app`` relays to ``up``."""

    upstream: Sandbox
    local: Sandbox
    up: Account
    app: Account
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    # -- the local account's upstream ----------------------------------------------------

    async def set(self, **fields: Any) -> Any:
        """``relay_settings.set`` of the local account: the upstream ``up``, in relay
        mode, unless ``fields`` say otherwise. (view, balance)."""
        values: dict[str, Any] = {
            "base_url": self.upstream.base_url,
            "key": self.up.key,
            "secret": self.up.secret,
            "mode": "relay",
            **fields,
        }
        return await on(self.local, self.local.runtime.relay_settings.set(self.app.id, **values))

    async def connect(self, **fields: Any) -> Any:
        """``set`` for a test about something else: tried again (at most 5 times) while
        the upstream "did not answer" within the local's timeout, which a test may have
        made short and a loaded machine may overrun."""
        for attempt in range(5):
            try:
                return await self.set(**fields)
            except RelaySettingError as exc:
                if attempt == 4 or not str(exc).startswith("the upstream did not answer"):
                    raise
        raise AssertionError("unreachable")

    async def show(self) -> Any:
        return await on(self.local, self.local.runtime.relay_settings.show(self.app.id))

    async def batches(self, order_id: int) -> list[Any]:
        return await on(self.local, self.local.runtime.relay_settings.batches(order_id))

    async def release(self, order_id: int) -> list[Any]:
        return await on(
            self.local, self.local.runtime.relay_settings.release(self.app.id, order_id)
        )

    def watch_calls(self) -> list[tuple[str, int]]:
        """Every upstream send-sms the local relay makes from now on, as the relay's own
        hook reports it: ("before", batch id) as the call goes out, ("after", batch id)
        once an accepted one is recorded."""
        seen: list[tuple[str, int]] = []
        self.local.runtime.relay.on_call = lambda when, batch_id: seen.append((when, batch_id))
        return seen

    # -- v1 -------------------------------------------------------------------------------

    async def call(
        self, sandbox: Sandbox, account: Account, action: str, **body: Any
    ) -> tuple[int, dict[str, Any]]:
        """A v1 JSON call: (HTTP status, the ``response`` object)."""
        reply = await self.http.post(
            f"{sandbox.base_url}{action}/json",
            json={"request": {"authentication": account.auth, **body}},
        )
        return reply.status_code, reply.json()["response"]

    async def send(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """send-sms to the local ileti as ``app``."""
        return await self.call(self.local, self.app, "send-sms", order=order)

    async def sent(self, order: dict[str, Any]) -> int:
        """send-sms locally, expecting 200; the local order id."""
        status, body = await self.send(order)
        assert (status, body["status"]) == (200, OK), body
        return int(body["order"]["id"])

    async def report(self, order_id: int | str) -> tuple[int, dict[str, Any]]:
        """get-report of a local order."""
        return await self.call(self.local, self.app, "get-report", order={"id": str(order_id)})

    async def cancel(self, order_id: int | str) -> tuple[int, dict[str, Any]]:
        return await self.call(self.local, self.app, "cancel-order", order={"id": str(order_id)})

    async def balance(self) -> int:
        """The local account's balance (its control API)."""
        found = await self.http.get(
            f"{self.local.url}/_ileti/accounts/{self.app.key}", headers=self.app.headers
        )
        assert found.status_code == 200, found.text
        return int(found.json()["balance"])

    async def finished(self, order_id: int, *, within: float = 15.0) -> dict[str, Any]:
        """The local order's get-report once it no longer answers 113 (or 456)."""

        async def done() -> dict[str, Any] | None:
            status, body = await self.report(order_id)
            if status == 200 and body["order"]["status"] != 113:
                return body["order"]
            return None

        return await eventually(done, within=within)

    # -- the upstream, as its account sees it -----------------------------------------------

    async def upstream_orders(self) -> list[dict[str, Any]]:
        """The upstream account's orders of today (get-reports), newest first (each
        ``id`` as the relay keeps it: a string)."""
        today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            status, body = await self.call(
                self.upstream,
                self.up,
                "get-reports",
                filter={"start": today, "end": today, "page": page},
            )
            assert status == 200, body
            rows = body.get("orders") or []
            found += [{**row, "id": str(row["id"])} for row in rows]
            if not rows or len(found) >= int(body["count"]):
                return found
            page += 1

    async def upstream_report(self, upstream_id: str) -> tuple[int, dict[str, Any]]:
        return await self.call(self.upstream, self.up, "get-report", order={"id": upstream_id})

    async def upstream_messages(self) -> list[dict[str, Any]]:
        """The upstream account's stored messages (its control API's outbox), oldest
        first."""
        found = await self.http.get(
            f"{self.upstream.url}/_ileti/outbox",
            params={"limit": 1000},
            headers=self.up.headers,
        )
        assert found.status_code == 200, found.text
        return list(reversed(found.json()["messages"]))

    async def patch_upstream_account(self, **fields: Any) -> None:
        """Change the upstream account (``PATCH /_ileti/accounts/{key}``)."""
        changed = await self.http.patch(
            f"{self.upstream.url}/_ileti/accounts/{self.up.key}",
            json=fields,
            headers=self.up.headers,
        )
        assert changed.status_code == 200, changed.text

    async def fault(self, **rule: Any) -> int:
        """An api fault rule on the upstream account; its id."""
        made = await self.http.post(
            f"{self.upstream.url}/_ileti/faults",
            json={"kind": "api", **rule},
            headers=self.up.headers,
        )
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    async def fault_remaining(self, rule_id: int) -> int | None:
        listed = await self.http.get(f"{self.upstream.url}/_ileti/faults", headers=self.up.headers)
        assert listed.status_code == 200, listed.text
        (rule,) = [r for r in listed.json()["faults"] if r["id"] == rule_id]
        return rule["remaining"]

    async def close(self) -> None:
        await self.http.aclose()


def consent(recipient: str, status: str = "ONAY", *, minutes_ago: int = 1) -> dict[str, Any]:
    """A BIREYSEL MESAJ consent record of consent/create."""
    when = datetime.now(ISTANBUL) - timedelta(minutes=minutes_ago)
    return {
        "recipient": recipient,
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
        "status": status,
        "source": "HS_WEB" if status == "ONAY" else "HS_KARAR",
        "consentDate": when.strftime("%Y-%m-%d %H:%M:%S"),
    }
