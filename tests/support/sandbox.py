"""ileti served from a thread of the test process (``ileti.testing.server.Sandbox``) and
accounts made on it through the control API: for the client's tests, which call a
real server over a socket (the sync client cannot share the test's event loop)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from ileti.testing.server import Sandbox

TEST_NUMBER = "+905330000009"
BRAND = "696422"


@dataclass(frozen=True)
class Made:
    key: str
    secret: str
    base_url: str

    @property
    def hash(self) -> str:
        return hmac.new(self.secret.encode(), self.key.encode(), hashlib.sha256).hexdigest()

    @property
    def headers(self) -> dict[str, str]:
        """The control API's credentials of the account."""
        return {"X-Ileti-Key": self.key, "X-Ileti-Hash": self.hash}


def admin(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.admin_token}"}


def make_account(sandbox: Sandbox, **settings: Any) -> Made:
    """An account with sender ILETI, 100 credits, a brand code and a test number."""
    key, secret = f"client-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    body = {
        "name": "client",
        "key": key,
        "secret": secret,
        "senders": ["ILETI"],
        "balance": 100,
        "brand_code": BRAND,
        "test_number": TEST_NUMBER,
        **settings,
    }
    made = httpx.post(f"{sandbox.url}/_ileti/accounts", json=body, headers=admin(sandbox))
    assert made.status_code == 201, made.text
    return Made(key, secret, sandbox.base_url)


def control(sandbox: Sandbox, made: Made, method: str, path: str, **options: Any) -> httpx.Response:
    """A control API call as the account (``path`` after ``/_ileti``)."""
    return httpx.request(method, f"{sandbox.url}/_ileti{path}", headers=made.headers, **options)


def outbox(sandbox: Sandbox, made: Made) -> list[dict[str, Any]]:
    """The account's messages, newest first."""
    found = control(sandbox, made, "GET", "/outbox")
    assert found.status_code == 200, found.text
    return list(found.json()["messages"])


def balance(sandbox: Sandbox, made: Made) -> int:
    found = control(sandbox, made, "GET", f"/accounts/{made.key}")
    return int(found.json()["balance"])
