"""Accounts: create, change, rotate credentials, list. Secrets are shown once and
never stored: the store keeps only the SHA-256 of the API hash."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ileti.clock import now_us
from ileti.config import parse_networks
from ileti.models import Account
from ileti.services.auth import api_hash, hash_digest, new_key, new_secret
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store
from ileti.store.database import transact

MAX_NAME = 200


class AccountError(ValueError):
    """A request to create or change an account that cannot be carried out."""


@dataclass(frozen=True)
class Issued:
    """An account with the credentials shown to its owner once."""

    account: Account
    secret: str
    hash: str


def _check_networks(allow_ips: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(str(n) for n in parse_networks(list(allow_ips)))
    except ValueError as exc:
        raise AccountError(str(exc)) from exc


def _check_senders(senders: tuple[str, ...]) -> tuple[str, ...]:
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
    ) -> Issued:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise AccountError(f"a name of 1 to {MAX_NAME} characters is needed")
        if balance < 0:
            raise AccountError("balance must not be negative")
        key, secret = new_key(), new_secret()
        hash_hex = api_hash(key, secret)
        call = functools.partial(
            account_store.create,
            name=name,
            key=key,
            hash_sha256=hash_digest(hash_hex),
            api_access=api_access,
            allow_ips=_check_networks(allow_ips),
            senders=_check_senders(senders),
            balance=balance,
            now=now_us(),
        )
        account = await transact(self._store, call)
        self._changed()
        return Issued(account=account, secret=secret, hash=hash_hex)

    async def get(self, key: str) -> Account:
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
    ) -> Account:
        values: dict[str, Any] = {}
        if api_access is not None:
            values["api_access"] = api_access
        if allow_ips is not None:
            values["allow_ips"] = _check_networks(allow_ips)
        if senders is not None:
            values["senders"] = _check_senders(senders)
        if balance is not None:
            if balance < 0:
                raise AccountError("balance must not be negative")
            values["balance"] = balance
        if not values:
            return await self.get(key)
        call = functools.partial(account_store.change, key=key.strip(), now=now_us(), **values)
        account = await transact(self._store, call)
        self._changed()
        return account

    async def rotate(self, key: str) -> Issued:
        """A new secret (and so a new hash); the old hash stops working at once."""
        secret = new_secret()
        hash_hex = api_hash(key.strip(), secret)
        call = functools.partial(
            account_store.change, key=key.strip(), now=now_us(), hash_sha256=hash_digest(hash_hex)
        )
        account = await transact(self._store, call)
        self._changed()
        return Issued(account=account, secret=secret, hash=hash_hex)
