"""One ready account on a sandbox and what a test does with it, over the control API
(``/_ileti/``) and v1; everything here talks HTTP (httpx and ``ileti.client``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ileti.client import AsyncClient, Client, ConsentRecord
from ileti.client.models import Consent

#: The account every test starts with (the marker changes any of it).
KEY = "ileti-test"
SECRET = "ileti-test-secret"


@dataclass(frozen=True)
class AccountSpec:
    """The ready account: ``@pytest.mark.ileti(balance=..., senders=[...], ...)``."""

    name: str = "test"
    key: str = KEY
    secret: str = SECRET
    balance: int = 1000
    #: Approved senders besides the built-in APITEST.
    senders: tuple[str, ...] = ("ILETI",)
    brand_code: str | None = "696422"
    test_number: str | None = "+905330000009"
    unit_price: str = "0.158"
    strict: bool = False
    webhook_url: str | None = None
    rate_limit: int | None = None
    short_code: str | None = "7889"
    api_access: bool = True
    #: Numbers listed before the test starts.
    blacklist: tuple[str, ...] = ()

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> AccountSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"@pytest.mark.ileti: unknown option(s) {', '.join(unknown)}")
        values = dict(options)
        for name in ("senders", "blacklist"):
            if name in values:
                found = values[name]
                values[name] = (found,) if isinstance(found, str) else tuple(found)
        return cls(**values)

    @property
    def hash(self) -> str:
        return hmac.new(self.secret.encode(), self.key.encode(), hashlib.sha256).hexdigest()

    def state(self) -> dict[str, Any]:
        """The state document that seeds it (docs/sandbox.md, "State")."""
        account: dict[str, Any] = {
            "name": self.name,
            "key": self.key,
            "secret": self.secret,
            "senders": list(self.senders),
            "balance": self.balance,
            "unit_price": self.unit_price,
            "brand_code": self.brand_code,
            "test_number": self.test_number,
            "webhook_url": self.webhook_url,
            "strict": self.strict,
            "rate_limit": self.rate_limit,
            "short_code": self.short_code,
            "api_access": self.api_access,
            "blacklist": [{"number": n} for n in self.blacklist],
        }
        return {"version": 1, "accounts": [account]}


class ControlError(Exception):
    """The control API refused: ``status`` and its JSON error (message, field)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.message = error.get("message", str(body))
        self.field = error.get("field")
        super().__init__(f"{status} {self.message}" + (f" ({self.field})" if self.field else ""))


class Control:
    """The control API with the account's credentials (``admin=True``: the admin's)."""

    def __init__(self, http: httpx.Client, account: AccountSpec, admin_token: str) -> None:
        self._http = http
        self._account_headers = {"X-Ileti-Key": account.key, "X-Ileti-Hash": account.hash}
        self._admin_headers = {"Authorization": f"Bearer {admin_token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        admin: bool = False,
        timeout: float | None = None,
    ) -> Any:
        headers = self._admin_headers if admin else self._account_headers
        extra = {} if timeout is None else {"timeout": timeout}
        answer = self._http.request(
            method,
            "/_ileti" + path,
            json=json,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers=headers,
            **extra,
        )
        if answer.status_code == 204:
            return None
        body = answer.json()
        if answer.status_code >= 400:
            raise ControlError(answer.status_code, body)
        return body


@dataclass
class Outbox:
    """What send-sms accepted for the account: search, wait, the code in a text."""

    control: Control

    def messages(
        self,
        to: str | None = None,
        *,
        sender: str | None = None,
        text: str | None = None,
        order: str | int | None = None,
        status: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = {"recipient": to, "sender": sender, "text": text, "order": order,
                 "status": status, "limit": limit}  # fmt: skip
        return list(self.control.request("GET", "/outbox", params=query)["messages"])

    def wait(
        self,
        to: str | None = None,
        *,
        timeout: float = 10.0,
        sender: str | None = None,
        text: str | None = None,
        after: int | None = None,
    ) -> dict[str, Any]:
        """The newest matching message, as soon as there is one (one sent before the
        call counts; ``after`` an id to wait for a newer one). ControlError 408 after
        ``timeout`` seconds."""
        query = {"recipient": to, "sender": sender, "text": text, "after": after,
                 "timeout": timeout}  # fmt: skip
        found = self.control.request("GET", "/outbox/wait", params=query, timeout=timeout + 5)
        return dict(found["message"])

    def last_code(
        self,
        to: str,
        *,
        wait: float = 10.0,
        pattern: str | None = None,
        sender: str | None = None,
    ) -> str:
        """The code (``\\b\\d{4,8}\\b``, or ``pattern``'s group 1) in the newest message to
        ``to``, waiting up to ``wait`` seconds for one."""
        query = {"recipient": to, "wait": wait, "pattern": pattern, "sender": sender}
        found = self.control.request("GET", "/outbox/code", params=query, timeout=wait + 5)
        return str(found["code"])


@dataclass
class Blacklist:
    """The account's blacklist, through v1."""

    client: Client

    def add(self, *numbers: str) -> None:
        for number in numbers:
            self.client.add_blacklist(number)

    def remove(self, *numbers: str) -> None:
        for number in numbers:
            self.client.delete_blacklist(number)

    def numbers(self) -> list[str]:
        return list(self.client.iter_blacklist())

    def __contains__(self, number: object) -> bool:
        return number in self.numbers()


@dataclass
class Consents:
    """İYS consent under the account's brand code, through v1 (consent/create, show)."""

    client: Client
    brand_code: str | None

    def _brand(self) -> str:
        if not self.brand_code:
            raise RuntimeError("the account has no brand code (@pytest.mark.ileti(brand_code=))")
        return self.brand_code

    def add(
        self,
        recipient: str,
        status: str = "ONAY",
        *,
        recipient_type: str = "BIREYSEL",
        type: str = "MESAJ",
        source: str | None = "HS_WEB",
        consent_date: str | None = None,
    ) -> None:
        if consent_date is None and recipient_type == "BIREYSEL":
            from datetime import datetime, timedelta, timezone

            istanbul = timezone(timedelta(hours=3))
            consent_date = datetime.now(istanbul).strftime("%Y-%m-%d %H:%M:%S")
        record = ConsentRecord(recipient, status, recipient_type, type, source, consent_date)  # type: ignore[arg-type]
        self.client.create_consents(self._brand(), [record])

    def show(
        self, recipient: str, *, recipient_type: str = "BIREYSEL", type: str = "MESAJ"
    ) -> Consent | None:
        return self.client.show_consent(
            self._brand(), recipient, recipient_type=recipient_type, type=type
        )


@dataclass
class Ileti:
    """The ``ileti`` fixture: a sandbox reset for this test and its ready account.

    ``base_url``, ``key``, ``hash``, ``secret``, ``sender`` (an approved one besides
    APITEST), ``brand_code``, ``test_number``; ``client`` (``ileti.client.Client``
    over the socket); ``outbox``, ``blacklist``, ``consents``; ``fault(...)``,
    ``api_access(on)``, ``delivery(mode, after)``, ``advance(...)``, ``inbound(...)``,
    ``account()`` / ``update(...)``; ``transport()`` / ``async_transport()`` for a
    client without a socket; ``official_sdk()`` when the provider's SDK is importable."""

    spec: AccountSpec
    url: str
    control: Control
    sandbox: Any  # ileti.testing.server.Sandbox
    _clients: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.new_client()
        self.outbox = Outbox(self.control)
        self.blacklist = Blacklist(self.client)
        self.consents = Consents(self.client, self.spec.brand_code)

    # -- the account ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1/"

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def secret(self) -> str:
        return self.spec.secret

    @property
    def hash(self) -> str:
        return self.spec.hash

    @property
    def sender(self) -> str:
        """An approved sender (the first of the account's; APITEST without one)."""
        return self.spec.senders[0] if self.spec.senders else "APITEST"

    @property
    def brand_code(self) -> str | None:
        return self.spec.brand_code

    @property
    def test_number(self) -> str | None:
        return self.spec.test_number

    def account(self) -> dict[str, Any]:
        """The account as the control API shows it (balance, senders, settings...)."""
        return dict(self.control.request("GET", f"/accounts/{self.key}"))

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change account settings (``balance``, ``senders``, ``strict``, ``webhook_url``...)."""
        return dict(self.control.request("PATCH", f"/accounts/{self.key}", json=changes))

    def api_access(self, on: bool) -> None:
        """The account's "Allow API access" switch (off: every v1 call is 401)."""
        self.update(api_access=on)

    # -- steering -------------------------------------------------------------------------

    def fault(
        self,
        kind: str = "api",
        *,
        action: str | None = None,
        code: int | None = None,
        remaining: int | None = None,
        probability: float | None = None,
        latency_ms: int | None = None,
        pattern: str | None = None,
        timeout: bool = False,
        ttl_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Add a fault rule for the account (docs/sandbox.md, "Faults")."""
        body: dict[str, Any] = {"kind": kind, "timeout": timeout}
        for name, value in (
            ("action", action), ("code", code), ("remaining", remaining),
            ("probability", probability), ("latency_ms", latency_ms), ("pattern", pattern),
            ("ttl_seconds", ttl_seconds),
        ):  # fmt: skip
            if value is not None:
                body[name] = value
        return dict(self.control.request("POST", "/faults", json=body))

    def faults(self) -> list[dict[str, Any]]:
        return list(self.control.request("GET", "/faults")["faults"])

    def delivery(self, mode: str, after: float | None = None) -> dict[str, Any]:
        """How messages progress: ``default``, ``delay`` (seconds), ``polls``, ``manual``."""
        body: dict[str, Any] = {"mode": mode}
        if after is not None:
            body["after"] = after
        return dict(self.control.request("PUT", "/delivery", json=body))

    def advance(self, order: str | int | None = None, status: int | None = None) -> dict[str, Any]:
        """Dispatch the account's orders now and finalise their messages (111/112, or
        the carrier's policy): no waiting for the delivery delay."""
        body: dict[str, Any] = {}
        if order is not None:
            body["order"] = int(order)
        if status is not None:
            body["status"] = status
        return dict(self.control.request("POST", "/advance", json=body))

    def inbound(self, sender: str, text: str, to: str | None = None) -> dict[str, Any]:
        """An SMS from ``sender`` to the account's short code (or ``to``): "RET" opts out."""
        body = {"from": sender, "to": to or self.spec.short_code or "", "text": text}
        return dict(self.control.request("POST", "/inbound", json=body))

    # -- clients ----------------------------------------------------------------------------

    def new_client(self, **options: Any) -> Client:
        """Another ``Client`` of the account over the socket (closed after the test)."""
        found = Client(self.key, self.hash, base_url=self.base_url, **options)
        self._clients.append(found)
        return found

    def async_client(self, *, in_process: bool = False, **options: Any) -> AsyncClient:
        """An ``AsyncClient`` of the account (over the socket, or ``in_process``); close
        it in the test's event loop (``async with``)."""
        if in_process:
            options.setdefault("transport", self.async_transport())
        return AsyncClient(self.key, self.hash, base_url=self.base_url, **options)

    def local_client(self, **options: Any) -> Client:
        """A ``Client`` that reaches the app without a socket."""
        return self.new_client(transport=self.transport(), **options)

    def transport(self) -> httpx.BaseTransport:
        return self.sandbox.transport()  # type: ignore[no-any-return]

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return self.sandbox.async_transport()  # type: ignore[no-any-return]

    def official_sdk(self) -> Any:
        """The provider's Python SDK (``iletimerkezi``) pointed at this sandbox, with the
        account's sender as its default; ImportError when it is not importable."""
        from iletimerkezi import IletiMerkeziClient  # type: ignore[import-not-found]
        from iletimerkezi.http import UrllibHttpClient  # type: ignore[import-not-found]

        sandbox = type("IletiSandboxHttp", (UrllibHttpClient,), {"BASE_URL": self.base_url})
        return IletiMerkeziClient(
            self.key, self.hash, default_sender=self.sender, http_client=sandbox
        )

    def close(self) -> None:
        for found in self._clients:
            found.close()
        self._clients.clear()


def reset(control: Control, spec: AccountSpec) -> None:
    """Every account and everything stored removed, then the account seeded afresh."""
    control.request("POST", "/reset", json={"everything": True}, admin=True)
    control.request("POST", "/state", json=spec.state(), admin=True)
