"""A second ileti as the panel's upstream: ``ileti.testing.server.Sandbox`` serving on a
port of its own from a thread of this process, with an account made through its
control API, and what that account received. Never a mock: the panel server's relay
calls it over HTTP as it would call iletiMerkezi."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ileti.testing.server import Sandbox

T = TypeVar("T")


@dataclass
class UpstreamAccount:
    sandbox: Sandbox
    key: str
    secret: str
    hash: str

    @property
    def base_url(self) -> str:
        """What the relay form takes: the upstream's v1 root."""
        return self.sandbox.base_url

    def _control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.sandbox.admin_token}"}
        return httpx.request(
            method, f"{self.sandbox.url}/_ileti{path}", headers=headers, timeout=30, **kwargs
        )

    def received(self, upstream_order_id: str) -> list[str]:
        """The recipients of one of this account's orders, as the upstream stored them."""
        answer = self._control(
            "GET", "/outbox", params={"key": self.key, "order": upstream_order_id}
        )
        assert answer.status_code == 200, answer.text
        return sorted(m["recipient"] for m in answer.json()["messages"])

    def v1(self, action: str, **request: Any) -> dict[str, Any]:
        """This account's v1 call to the upstream: the JSON ``response``."""
        body = {"request": {"authentication": {"key": self.key, "hash": self.hash}, **request}}
        answer = httpx.post(f"{self.base_url}{action}/json", json=body, timeout=30)
        return dict(answer.json()["response"])

    def order_status(self, upstream_order_id: str) -> int:
        """get-report of one of this account's orders upstream: the order's status (115
        once cancelled), or the refusal's code (456 while it is scheduled)."""
        found = self.v1("get-report", order={"id": upstream_order_id, "page": 1})
        code = int(found["status"]["code"])
        return int(found["order"]["status"]) if code == 200 else code

    def all_received(self) -> list[str]:
        answer = self._control("GET", "/outbox", params={"key": self.key})
        assert answer.status_code == 200, answer.text
        return sorted(m["recipient"] for m in answer.json()["messages"])


def start_upstream() -> Sandbox:
    return Sandbox(delivery_delay_seconds=0.2).start()


def upstream_account(sandbox: Sandbox, *, balance: int = 777) -> UpstreamAccount:
    """A new account on the upstream, its balance ``balance`` SMS."""
    headers = {"Authorization": f"Bearer {sandbox.admin_token}"}
    body = {
        "name": "upstream-" + secrets.token_hex(4),
        "senders": ["ILETI"],
        "balance": balance,
    }
    answer = httpx.post(f"{sandbox.url}/_ileti/accounts", headers=headers, json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return UpstreamAccount(sandbox, data["account"]["key"], data["secret"], data["hash"])


def until(check: Callable[[], T], *, within: float = 15.0, interval: float = 0.1) -> T:
    """Call ``check()`` until it returns something truthy, and return that; fail after
    ``within`` seconds (the sync twin of tests/support/waiting.py ``eventually``)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s")
        time.sleep(interval)
