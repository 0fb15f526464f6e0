"""Accounts: create, change, rotate credentials, list. Secrets are shown once and
never stored: the store keeps only the SHA-256 of the API hash."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from ileti import numbers
from ileti.clock import now_us
from ileti.models import Account
from ileti.networks import parse_networks
from ileti.services.auth import api_hash, hash_digest, new_key, new_secret
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store

MAX_NAME = 200
#: The most credits an account holds: the largest whole number both databases store
#: (a larger one would be a float on SQLite, an error on PostgreSQL).
MAX_BALANCE = 2**63 - 1
#: The highest per-account rate limit, in recipients per second.
MAX_RATE_LIMIT = 1_000_000
#: A short code inbound opt-outs are sent to: 3 to 8 digits.
_SHORT_CODE = re.compile(r"[0-9]{3,8}")


class AccountError(ValueError):
    """A request to create or change an account that cannot be carried out; ``field``
    names the setting at fault, when one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


#: A chosen API key: what the v1 authentication accepts (real keys are 32 hex digits).
_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")
MAX_SECRET = 200


def check_key(key: str | None) -> str:
    if key is None:
        return new_key()
    if _KEY.fullmatch(key) is None:
        raise AccountError("a key is 1 to 64 letters, digits, '-' or '_'", "key")
    return key


def check_secret(secret: str | None) -> str:
    if secret is None:
        return new_secret()
    if not 1 <= len(secret) <= MAX_SECRET or not secret.isascii() or not secret.isprintable():
        raise AccountError(f"a secret is 1 to {MAX_SECRET} printable ASCII characters", "secret")
    return secret


@dataclass(frozen=True)
class Issued:
    """An account with the credentials shown to its owner once."""

    account: Account
    secret: str
    hash: str


def check_networks(allow_ips: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(str(n) for n in parse_networks(list(allow_ips)))
    except ValueError as exc:
        raise AccountError(str(exc)) from exc


def parse_price(text: str | Decimal) -> int:
    """A TRY amount (``"0.158"``) -> micro-TRY."""
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise AccountError(f"not an amount of TRY: {text!r}") from exc
    if not value.is_finite() or value < 0 or value > 1_000_000:
        raise AccountError(f"not an amount of TRY: {text!r}")
    return int((value * 1_000_000).to_integral_value())


def _check_url(url: str) -> str:
    parsed = urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise AccountError(f"webhook URL must be http(s)://host/...: {url!r}")
    return url.strip()


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate sending settings; None clears a nullable one."""
    out: dict[str, Any] = {}
    for name, value in settings.items():
        if name == "unit_price":
            out[name] = parse_price(value) if not isinstance(value, int) else value
        elif name == "brand_code":
            code = (value or "").strip()
            if len(code) > 64:
                raise AccountError("brand code: at most 64 characters")
            out[name] = code or None
        elif name == "test_number":
            if value is None or value == "":
                out[name] = None
            else:
                stored = numbers.parse(value)
                if stored is None:
                    raise AccountError(f"test number is not a Turkish mobile: {value!r}")
                out[name] = stored
        elif name == "webhook_url":
            out[name] = _check_url(value) if value else None
        elif name == "short_code":
            code = (value or "").strip()
            if code and _SHORT_CODE.fullmatch(code) is None:
                raise AccountError(f"short code: 3 to 8 digits: {value!r}", "short_code")
            out[name] = code or None
        elif name == "strict":
            out[name] = bool(value)
        elif name == "rate_limit":
            if value is not None and not _whole(value, 1, MAX_RATE_LIMIT):
                raise AccountError(
                    "rate limit: a whole number of recipients per second from 1 to "
                    f"{MAX_RATE_LIMIT}",
                    "rate_limit",
                )
            out[name] = value
        else:
            raise AccountError(f"unknown setting {name!r}")
    return out


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_balance(balance: Any) -> int:
    """A balance to set: a whole number of credits from 0 to ``MAX_BALANCE``."""
    if not _whole(balance, 0, MAX_BALANCE):
        raise AccountError(f"balance: a whole number of credits from 0 to {MAX_BALANCE}", "balance")
    return int(balance)


def check_senders(senders: tuple[str, ...]) -> tuple[str, ...]:
    for sender in senders:
        if not sender or len(sender) > 11 or not sender.isascii() or not sender.isprintable():
            raise AccountError(f"sender {sender!r}: at most 11 characters, no Turkish letters")
    return tuple(dict.fromkeys(senders))


class AccountService:
    def __init__(self, store: Store, *, on_change: Any = None) -> None:
        self._store = store
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    async def create(
        self,
        name: str,
        *,
        senders: tuple[str, ...] = (),
        balance: int = 0,
        api_access: bool = True,
        allow_ips: tuple[str, ...] = (),
        key: str | None = None,
        secret: str | None = None,
        **settings: Any,
    ) -> Issued:
        """A new account; ``settings``: unit_price, brand_code, test_number, webhook_url,
        strict, rate_limit, short_code. ``key`` and ``secret`` may be chosen (a sandbox with fixed
        credentials for CI), else random; a key in use is refused."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise AccountError(f"a name of 1 to {MAX_NAME} characters is needed")
        balance = check_balance(balance)
        key, secret = check_key(key), check_secret(secret)
        hash_hex = api_hash(key, secret)
        call = functools.partial(
            account_store.create,
            name=name,
            key=key,
            hash_sha256=hash_digest(hash_hex),
            api_access=api_access,
            allow_ips=check_networks(allow_ips),
            senders=check_senders(senders),
            balance=balance,
            now=now_us(),
            **check_settings(settings),
        )
        account = await self._store.transaction(call)
        self._changed()
        return Issued(account=account, secret=secret, hash=hash_hex)

    async def delete(self, key: str) -> None:
        """Delete an account with everything it has: blacklist, orders, messages,
        webhooks, rate-limit state. Its credentials stop working at once."""
        await self._store.transaction(functools.partial(account_store.delete, key=key.strip()))
        self._changed()

    async def get(self, key: str) -> Account:
        if "\x00" in key:  # no key holds one (PostgreSQL could not even look for it)
            raise AccountNotFound(key)
        account = await self._store.read(account_store.by_key, key.strip())
        if account is None:
            raise AccountNotFound(key)
        return account

    async def list(self) -> list[Account]:
        return await self._store.read(account_store.all_accounts)

    async def update(
        self,
        key: str,
        *,
        api_access: bool | None = None,
        allow_ips: tuple[str, ...] | None = None,
        senders: tuple[str, ...] | None = None,
        balance: int | None = None,
        **settings: Any,
    ) -> Account:
        """Change what is given; ``settings`` as for ``create`` (None clears one)."""
        values: dict[str, Any] = check_settings(settings)
        if api_access is not None:
            values["api_access"] = api_access
        if allow_ips is not None:
            values["allow_ips"] = check_networks(allow_ips)
        if senders is not None:
            values["senders"] = check_senders(senders)
        if balance is not None:
            values["balance"] = check_balance(balance)
        if not values:
            return await self.get(key)
        call = functools.partial(account_store.change, key=key.strip(), now=now_us(), **values)
        account = await self._store.transaction(call)
        self._changed()
        return account

    async def add_balance(self, key: str, credits: int) -> Account:
        """Add credits (negative: take), atomically; never below zero nor above
        ``MAX_BALANCE``."""
        if not _whole(credits, -MAX_BALANCE, MAX_BALANCE):
            raise AccountError(
                f"credits to add: a whole number from {-MAX_BALANCE} to {MAX_BALANCE}", "balance"
            )
        call = functools.partial(
            account_store.add_balance,
            key=key.strip(),
            delta=credits,
            ceiling=MAX_BALANCE,
            now=now_us(),
        )
        try:
            account = await self._store.transaction(call)
        except ValueError as exc:
            raise AccountError(str(exc)) from exc
        self._changed()
        return account

    async def rotate(self, key: str) -> Issued:
        """A new secret (and so a new hash); the old hash stops working at once."""
        secret = new_secret()
        hash_hex = api_hash(key.strip(), secret)
        call = functools.partial(
            account_store.change, key=key.strip(), now=now_us(), hash_sha256=hash_digest(hash_hex)
        )
        account = await self._store.transaction(call)
        self._changed()
        return Issued(account=account, secret=secret, hash=hash_hex)
