"""The sandbox's state as one JSON document: seed it, export it, reset it.

The document is defined once, here, as msgspec structs: the control API parses and
returns it (and its OpenAPI document describes it), the CLI reads and writes it, and
``ILETI_SEED`` names a file of it::

    {"version": 1, "accounts": [{"name": ..., "key": ..., "secret": ..., ...,
                                 "blacklist": [{"number": ..., "blocked_at": ...,
                                                "source": ...}]}]}

Seed: the whole document is checked first (a bad value is a StateError naming its
path, ``accounts[2].blacklist[5].number``, and nothing changes), then applied in one
transaction. An account whose key is new is created; one whose key exists gets the
document's settings, and only what differs is written, so the same document seeded
again writes nothing. A field left out takes its default, as at creation. Blacklist
entries are added: a number already listed keeps its time and source, and none is
removed (reset first for an exact copy). Every account needs its ``secret`` or its
``hash``: the server stores only a digest of the hash, so the credentials of a seeded
account are the document's.

Export: the same document for every account or one, read in one snapshot, without
``secret`` or ``hash`` (the server has neither).

Reset: an account's orders, messages, webhooks and rate-limit state (and, if asked,
its blacklist), keeping the account and its balance; or every account with everything.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import Connection

from ileti import numbers
from ileti.clock import ISTANBUL, now_us
from ileti.config import ConfigError
from ileti.models import Account, BlacklistEntry
from ileti.services.accounts import (
    MAX_NAME,
    AccountError,
    check_balance,
    check_key,
    check_networks,
    check_secret,
    check_senders,
    check_settings,
)
from ileti.services.auth import api_hash, hash_digest
from ileti.services.blacklist import IMPORT_CHUNK
from ileti.store import AccountNotFound, Store
from ileti.store import accounts as account_store
from ileti.store import blacklist as blacklist_store
from ileti.store import state as state_store

log = logging.getLogger("ileti.state")

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
VERSION = 1
SEED_VARIABLE = "ILETI_SEED"

#: A moment with its UTC offset (RFC 3339); exported in Istanbul time, to the microsecond.
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
#: How an entry came to be listed (a seeded one: ``seed`` unless the document says).
Source = Literal["api", "cli", "import", "seed", "keyword"]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class BlacklistedState(_Strict):
    """A blacklisted number: any form the API accepts, exported as +905XXXXXXXXX.
    Without ``blocked_at`` a seeded entry is blocked now."""

    number: str
    blocked_at: Moment | Unset = UNSET
    source: Source = "seed"


class AccountState(_Strict):
    """An account with its settings and blacklist. A seed needs ``secret`` or ``hash``
    (or both, when they agree); an export has neither."""

    name: str
    key: str
    secret: str | Unset = UNSET
    hash: str | Unset = UNSET
    senders: list[str] = []
    balance: int = 0
    unit_price: str = "0"
    brand_code: str | None = None
    test_number: str | None = None
    webhook_url: str | None = None
    strict: bool = False
    rate_limit: int | None = None
    short_code: str | None = None
    api_access: bool = True
    allow_ips: list[str] = []
    blacklist: list[BlacklistedState] = []


class StateDocument(_Strict):
    """The sandbox's state (version 1). ``consents`` is reserved for İYS consents and
    ignored for now; any other unknown key is refused."""

    version: Literal[1]
    accounts: list[AccountState] = []
    consents: list[dict[str, Any]] | Unset = UNSET


class SeedReport(msgspec.Struct, kw_only=True):
    """What a seed did: the keys of the accounts created, updated and left as they
    were; blacklist entries added and already listed; consents ignored."""

    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    blacklist_added: int = 0
    blacklist_already: int = 0
    consents_ignored: int = 0


class ResetReport(msgspec.Struct, kw_only=True):
    """What a reset removed, by kind (``accounts`` only when everything was reset)."""

    accounts: int
    orders: int
    messages: int
    webhooks: int
    blacklist: int


class StateError(ValueError):
    """A document that cannot be seeded; ``field`` is the path of the value at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


# -- the document as bytes ------------------------------------------------------------

_AT = re.compile(r"\s*-\s*at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_encoder = msgspec.json.Encoder()


def decode(data: bytes) -> StateDocument:
    """JSON bytes -> the document; StateError naming the path of a wrong value."""
    try:
        return msgspec.json.decode(data, type=StateDocument)
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = _AT.search(text)
        path = at.group(1) if at else ""
        unknown = _UNKNOWN.search(text)
        if unknown is not None:
            path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        raise StateError(_AT.sub("", text), path or None) from exc
    except msgspec.DecodeError as exc:
        raise StateError(f"not JSON: {exc}") from exc


def encode(document: StateDocument) -> bytes:
    """The document as indented JSON, ending with a newline."""
    return msgspec.json.format(_encoder.encode(document), indent=2) + b"\n"


# -- times, exactly to the microsecond --------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _moment(value: int) -> datetime:
    return (_EPOCH + value * _MICROSECOND).astimezone(ISTANBUL)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


# -- checking a document ------------------------------------------------------------------


@dataclass(frozen=True)
class _Seeded:
    """An account of the document as it is to be stored."""

    key: str
    #: Column values: name, hash_sha256, api_access, allow_ips, senders, balance and
    #: the sending settings.
    values: dict[str, Any]
    entries: list[BlacklistEntry] = field(default_factory=list)


def _credentials(state: AccountState, key: str, at: str) -> str:
    """The stored digest of the account's hash, from its secret or its hash."""
    if state.secret is UNSET and state.hash is UNSET:
        raise StateError(
            "a seeded account needs its secret or its hash (the server keeps neither)",
            f"{at}.secret",
        )
    hash_hex = None
    if state.secret is not UNSET:
        try:
            hash_hex = api_hash(key, check_secret(state.secret))
        except AccountError as exc:
            raise StateError(str(exc), f"{at}.secret") from exc
    if state.hash is not UNSET:
        given = state.hash.strip().lower()
        if re.fullmatch(r"[0-9a-f]{64}", given) is None:
            raise StateError("a hash is 64 hexadecimal digits", f"{at}.hash")
        if hash_hex is not None and given != hash_hex:
            raise StateError("is not the hash of this key and secret", f"{at}.hash")
        hash_hex = given
    assert hash_hex is not None
    return hash_digest(hash_hex)


def _settings(state: AccountState, at: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (
        "unit_price",
        "brand_code",
        "test_number",
        "webhook_url",
        "strict",
        "rate_limit",
        "short_code",
    ):
        try:
            values |= check_settings({name: getattr(state, name)})
        except AccountError as exc:
            raise StateError(str(exc), f"{at}.{name}") from exc
    try:
        values["senders"] = check_senders(tuple(state.senders))
    except AccountError as exc:
        raise StateError(str(exc), f"{at}.senders") from exc
    try:
        values["allow_ips"] = check_networks(tuple(state.allow_ips))
    except AccountError as exc:
        raise StateError(str(exc), f"{at}.allow_ips") from exc
    try:
        values["balance"] = check_balance(state.balance)
    except AccountError as exc:
        raise StateError(str(exc), f"{at}.balance") from exc
    values["api_access"] = state.api_access
    return values


def _entries(state: AccountState, at: str, now: int) -> list[BlacklistEntry]:
    first: dict[int, int] = {}
    entries = []
    for index, entry in enumerate(state.blacklist):
        where = f"{at}.blacklist[{index}].number"
        number = numbers.parse(entry.number)
        if number is None:
            raise StateError(f"not a Turkish mobile number: {entry.number!r}", where)
        if number in first:
            raise StateError(f"listed again (first at blacklist[{first[number]}])", where)
        first[number] = index
        blocked_at = now if entry.blocked_at is UNSET else _micros(entry.blocked_at)
        entries.append(BlacklistEntry(number, blocked_at, entry.source))
    return entries


def _check_account(state: AccountState, at: str, now: int) -> _Seeded:
    name = state.name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise StateError(f"a name of 1 to {MAX_NAME} characters is needed", f"{at}.name")
    try:
        key = check_key(state.key)
    except AccountError as exc:
        raise StateError(str(exc), f"{at}.key") from exc
    values = {"name": name, "hash_sha256": _credentials(state, key, at), **_settings(state, at)}
    return _Seeded(key, values, _entries(state, at, now))


def check(document: StateDocument, *, now: int) -> list[_Seeded]:
    """Every account of the document as it is to be stored; StateError at the first
    value that cannot be (entries without a time are blocked at ``now``)."""
    seen: dict[str, int] = {}
    seeded = []
    for index, state in enumerate(document.accounts):
        at = f"accounts[{index}]"
        account = _check_account(state, at, now)
        if account.key in seen:
            raise StateError(f"the key of accounts[{seen[account.key]}] again", f"{at}.key")
        seen[account.key] = index
        seeded.append(account)
    return seeded


# -- applying it -----------------------------------------------------------------------------


def _apply(seeded: list[_Seeded], now: int, conn: Connection) -> tuple[SeedReport, str | None]:
    """The seed's transaction: (what it did, the bulk-add marker for a large one)."""
    report = SeedReport()
    for account in seeded:
        found = account_store.by_key(conn, account.key)
        if found is None:
            found = account_store.create(conn, key=account.key, now=now, **account.values)
            report.created.append(account.key)
        else:
            changed = {
                name: value
                for name, value in account.values.items()
                if getattr(found, name) != value
            }
            if changed:
                account_store.change(conn, account.key, now=now, **changed)
                report.updated.append(account.key)
            else:
                report.unchanged.append(account.key)
        # In number order, like an import: the indexes grow at one end.
        ordered = sorted(account.entries, key=lambda e: e.number)
        for start in range(0, len(ordered), IMPORT_CHUNK):
            chunk = ordered[start : start + IMPORT_CHUNK]
            added = blacklist_store.add_entries(conn, found.id, chunk)
            report.blacklist_added += added
            report.blacklist_already += len(chunk) - added
    large = report.blacklist_added >= IMPORT_CHUNK
    return report, blacklist_store.bulk_add_marker(conn) if large else None


def _export(conn: Connection, key: str | None) -> StateDocument:
    if key is None:
        accounts = account_store.all_accounts(conn)
    else:
        found = account_store.by_key(conn, key)
        if found is None:
            raise AccountNotFound(key)
        accounts = [found]
    return StateDocument(
        version=VERSION,
        accounts=[_account_state(a, blacklist_store.entries(conn, a.id)) for a in accounts],
    )


def _account_state(account: Account, entries: Any) -> AccountState:
    return AccountState(
        name=account.name,
        key=account.key,
        senders=list(account.senders),
        balance=account.balance,
        unit_price=f"{account.unit_price / 1_000_000:.6f}".rstrip("0").rstrip("."),
        brand_code=account.brand_code,
        test_number=numbers.e164(account.test_number) if account.test_number else None,
        webhook_url=account.webhook_url,
        strict=account.strict,
        rate_limit=account.rate_limit,
        short_code=account.short_code,
        api_access=account.api_access,
        allow_ips=list(account.allow_ips),
        blacklist=[
            BlacklistedState(
                number=numbers.e164(e.number), blocked_at=_moment(e.blocked_at), source=e.source
            )
            for e in entries
        ],
    )


def _reset_account(key: str, blacklist: bool, conn: Connection) -> state_store.Removed:
    found = account_store.by_key(conn, key)
    if found is None:
        raise AccountNotFound(key)
    removed = state_store.clear_activity(conn, found.id)
    if blacklist:
        removed = removed._replace(blacklist=blacklist_store.clear(conn, found.id))
    return removed


def _reset_report(removed: state_store.Removed) -> ResetReport:
    return ResetReport(**removed._asdict())


class StateService:
    def __init__(self, store: Store, *, on_change: Callable[[], None] | None = None) -> None:
        self._store = store
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _done(self, report: SeedReport, document: StateDocument) -> SeedReport:
        report.consents_ignored = 0 if document.consents is UNSET else len(document.consents)
        if report.created or report.updated:
            self._changed()
        return report

    async def seed(self, document: StateDocument) -> SeedReport:
        """Check the whole document, then apply it in one transaction of the writer."""
        now = now_us()
        # Off the event loop: a large blacklist takes a while to check.
        seeded = await asyncio.to_thread(check, document, now=now)
        report, marker = await self._store.transaction(functools.partial(_apply, seeded, now))
        if marker is not None:
            engine = self._store.writer_engine
            await asyncio.to_thread(blacklist_store.after_bulk_add, engine, marker)
        return self._done(report, document)

    def seed_now(self, document: StateDocument) -> SeedReport:
        """The same in a transaction of its own, outside the batched writer (at start,
        before the writer runs)."""
        now = now_us()
        seeded = check(document, now=now)
        report, marker = self._store.write_sync(functools.partial(_apply, seeded, now))
        if marker is not None:
            blacklist_store.after_bulk_add(self._store.writer_engine, marker)
        return self._done(report, document)

    async def export(self, key: str | None = None) -> StateDocument:
        """Every account (``key`` None) or one, with its blacklist, in one snapshot."""
        return await self._store.read(_export, key)

    async def reset(self, key: str, *, blacklist: bool = False) -> ResetReport:
        """Remove the account's orders, messages, webhooks and rate-limit state (and
        its blacklist with ``blacklist``); the account and its balance stay."""
        call = functools.partial(_reset_account, key.strip(), blacklist)
        return _reset_report(await self._store.transaction(call))

    async def reset_everything(self) -> ResetReport:
        """Remove every account and everything stored for it."""
        removed = await self._store.transaction(state_store.clear_everything)
        blacklist_store.forget_bookmarks()
        self._changed()
        return _reset_report(removed)


def seed_at_start(store: Store, path: Path) -> SeedReport:
    """Load ``ILETI_SEED``'s file as a seed, before the writer runs; a file that cannot
    be read or seeded is a one-line ConfigError naming the variable."""
    try:
        document = decode(path.read_bytes())
        report = StateService(store).seed_now(document)
    except OSError as exc:
        raise ConfigError(
            f"{SEED_VARIABLE} cannot read {path}: {exc.strerror or exc}", SEED_VARIABLE
        ) from exc
    except StateError as exc:
        raise ConfigError(f"{SEED_VARIABLE} {path}: {exc}", SEED_VARIABLE) from exc
    log.info(
        "%s %s: %d account(s) created, %d updated, %d unchanged; %d blacklist entries added",
        SEED_VARIABLE,
        path,
        len(report.created),
        len(report.updated),
        len(report.unchanged),
        report.blacklist_added,
    )
    return report
