"""Each account's upstream (docs/relay.md): set, show, check and clear it, and release a
captured sandbox order to it.

Setting an upstream checks everything at once and stores nothing on failure, each
problem one line naming the field: the URL, the key, the hash (or the secret it is
made from), ``ILETI_SECRET_KEY`` (the hash is sealed with it, ``ileti/vault.py``), and
the credentials themselves, by a test call to the upstream's get-balance. The hash is
never shown again: what is shown says only that one is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ileti import numbers
from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import ConfigError, Settings
from ileti.errors import Code
from ileti.services.auth import api_hash
from ileti.services.relay import Relay, credentials
from ileti.services.upstream import (
    DEFAULT_BASE_URL,
    Credentials,
    Upstream,
    UpstreamError,
    UrlError,
    check_base_url,
)
from ileti.store import Store
from ileti.store import orders as order_store
from ileti.store import relay as relay_store
from ileti.store.relay import Batch, UpstreamRow
from ileti.vault import Vault, VaultError

MODES = ("sandbox", "relay")
_CHECKED: dict[str, Any] = {"last_error": None, "last_error_at": None}
_HASH = re.compile(r"[0-9a-fA-F]{64}")
#: Numbers a released order may reach, at most.
MAX_RELEASE_NUMBERS = 1000


class RelaySettingError(ValueError):
    """A setting or a release that cannot be made; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UpstreamView:
    """An account's upstream as it may be shown: never the hash."""

    base_url: str
    key: str
    mode: str
    blacklist_sync: bool
    release_numbers: tuple[str, ...]
    checked_at: int | None
    last_error: str | None
    last_error_at: int | None
    blacklist_synced_at: int | None
    batches: dict[str, int]  # state -> count

    @classmethod
    def of(cls, row: UpstreamRow, batches: dict[str, int]) -> UpstreamView:
        return cls(
            base_url=row.base_url,
            key=row.key,
            mode=row.mode,
            blacklist_sync=row.blacklist_sync,
            release_numbers=row.release_numbers,
            checked_at=row.checked_at,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            blacklist_synced_at=row.blacklist_synced_at,
            batches=batches,
        )


def check_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= 64 or not key.isascii() or not key.isprintable() or " " in key:
        raise RelaySettingError(
            "the upstream key must be 1 to 64 printable ASCII characters", "key"
        )
    return key


def check_release_numbers(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if len(values) > MAX_RELEASE_NUMBERS:
        raise RelaySettingError(
            f"at most {MAX_RELEASE_NUMBERS} numbers may receive released orders",
            "release_numbers",
        )
    found: list[str] = []
    for value in values:
        shown = numbers.normalize(value)
        if shown is None:
            raise RelaySettingError(f"not a Turkish mobile number: {value!r}", "release_numbers")
        if shown not in found:
            found.append(shown)
    return tuple(found)


class RelaySettings:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        vault: Vault | None,
        upstream: Upstream,
        relay: Relay,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._vault = vault
        self._upstream = upstream
        self._relay = relay
        self._clock = clock
        self._deadline = int(settings.relay_deadline_seconds * SECOND)
        self._batch_size = settings.relay_batch_size

    async def show(self, account_id: int) -> UpstreamView | None:
        def read(conn: Connection) -> UpstreamView | None:
            row = relay_store.upstream(conn, account_id)
            if row is None:
                return None
            return UpstreamView.of(row, relay_store.state_counts(conn, account_id))

        return await self._store.read(read)

    async def set(
        self,
        account_id: int,
        *,
        base_url: str | None = None,
        key: str | None = None,
        hash: str | None = None,
        secret: str | None = None,
        mode: str | None = None,
        blacklist_sync: bool | None = None,
        release_numbers: list[str] | None = None,
    ) -> tuple[UpstreamView, tuple[float, int] | None]:
        """Create or change the account's upstream; what a field left None keeps. Returns
        the upstream as shown and the test call's balance (None when no credential
        changed and the mode stays). RelaySettingError naming the field otherwise, with
        nothing stored."""
        if self._vault is None:
            raise RelaySettingError(
                "ILETI_SECRET_KEY is not set: an upstream's credentials are kept sealed "
                "with it (docs/relay.md)",
                "secret_key",
            )
        current = await self._store.read(relay_store.upstream, account_id)
        credential_given = hash is not None or secret is not None
        if hash is not None and secret is not None:
            raise RelaySettingError("give the upstream hash or its secret, not both", "hash")
        if mode is not None and mode not in MODES:
            raise RelaySettingError("mode must be sandbox or relay", "mode")
        try:
            url = check_base_url(
                base_url
                if base_url is not None
                else (current.base_url if current else DEFAULT_BASE_URL)
            )
        except UrlError as exc:
            raise RelaySettingError(str(exc), "url") from None
        new_key = check_key(key) if key is not None else (current.key if current else None)
        if new_key is None:
            raise RelaySettingError("the upstream key is required", "key")
        if secret is not None:
            if not secret.strip():
                raise RelaySettingError("the upstream secret is empty", "secret")
            hash = api_hash(new_key, secret.strip())
        if hash is not None:
            hash = hash.strip()
            if not _HASH.fullmatch(hash):
                raise RelaySettingError(
                    "the upstream hash must be 64 hexadecimal characters (HMAC-SHA256 of the "
                    "key with the secret)",
                    "hash",
                )
            hash = hash.lower()
        elif current is not None and key is None:
            hash = self._open(current)
        else:
            raise RelaySettingError(
                "the upstream hash (or secret) is required with a new key", "hash"
            )
        numbers_kept = (
            check_release_numbers(release_numbers)
            if release_numbers is not None
            else (current.release_numbers if current else ())
        )
        new_mode = mode if mode is not None else (current.mode if current else "sandbox")
        changed = (
            current is None
            or base_url is not None
            or key is not None
            or credential_given
            or (new_mode == "relay" and current.mode != "relay")
        )
        balance = None
        now = self._clock.now_us()
        if changed:
            balance = await self._test_call(Credentials(url, new_key, hash))
        values: dict[str, Any] = {
            "base_url": url,
            "key": new_key,
            "hash_sealed": self._vault.seal(hash),
            "mode": new_mode,
            "blacklist_sync": blacklist_sync
            if blacklist_sync is not None
            else (current.blacklist_sync if current else False),
            "release_numbers": list(numbers_kept),
        }
        if changed:
            values.update(checked_at=now, last_error=None, last_error_at=None)

        def write(conn: Connection) -> UpstreamView:
            relay_store.put_upstream(conn, account_id, values, now)
            row = relay_store.upstream(conn, account_id)
            assert row is not None
            return UpstreamView.of(row, relay_store.state_counts(conn, account_id))

        view = await self._store.transaction(write)
        if new_mode == "relay":
            self._relay.wake()
        return view, balance

    async def check(self, account_id: int) -> tuple[float, int]:
        """A test call (get-balance) with the stored upstream: its balance, or
        RelaySettingError with the reason (also kept as the upstream's last error)."""
        row = await self._store.read(relay_store.upstream, account_id)
        if row is None:
            raise RelaySettingError("the account has no upstream", "account")
        now = self._clock.now_us()
        try:
            creds = credentials(self._vault, row)
            balance = await self._test_call(creds)
        except (RelaySettingError, VaultError) as exc:
            problem = str(exc)
            await self._store.transaction(
                lambda conn: relay_store.note_error(conn, account_id, problem, now)
            )
            raise RelaySettingError(problem, "upstream") from None
        await self._store.transaction(
            lambda conn: relay_store.put_upstream(
                conn,
                account_id,
                {"checked_at": now, "last_error": None, "last_error_at": None},
                now,
            )
        )
        return balance

    async def clear(self, account_id: int) -> bool:
        """Forget the account's upstream: its new orders are simulated again. Nothing more
        is forwarded from it: a batch not yet sent fails ("the account has no upstream",
        its messages 112 and refunded); one already sent keeps its last mirrored statuses,
        since its upstream can no longer be asked."""
        return await self._store.transaction(
            lambda conn: relay_store.delete_upstream(conn, account_id)
        )

    async def batches(self, order_id: int, account_id: int | None = None) -> list[Batch]:
        """The order's batches; with ``account_id``, RelaySettingError naming ``order``
        when the order is not that account's."""

        def read(conn: Connection) -> list[Batch]:
            if account_id is not None and order_store.find(conn, account_id, order_id) is None:
                raise RelaySettingError(f"no order {order_id}", "order")
            return relay_store.batches_of(conn, order_id)

        return await self._store.read(read)

    async def recent(self, account_id: int, limit: int = 50) -> list[Batch]:
        return await self._store.read(relay_store.recent_batches, account_id, limit)

    async def release(self, account_id: int, order_id: int) -> list[Batch]:
        """Send a captured sandbox order's texts to the upstream, to those of its
        recipients on the account's release list; the batches made. RelaySettingError
        when the order cannot be released."""
        now = self._clock.now_us()

        def make(conn: Connection) -> list[Batch]:
            row = relay_store.upstream(conn, account_id)
            if row is None:
                raise RelaySettingError("the account has no upstream", "account")
            order = order_store.find(conn, account_id, order_id)
            if order is None:
                raise RelaySettingError(f"no order {order_id}", "order")
            if order.relay:
                raise RelaySettingError(
                    f"order {order_id} was relayed, not captured: it went upstream already",
                    "order",
                )
            if order.cancelled:
                raise RelaySettingError(f"order {order_id} was cancelled", "order")
            if relay_store.released(conn, order_id):
                raise RelaySettingError(f"order {order_id} was released already", "order")
            allowed = set(row.release_numbers)
            if not allowed:
                raise RelaySettingError(
                    "no number may receive released orders: set the release list first",
                    "release_numbers",
                )
            by_text = relay_store.release_recipients(conn, order_id, sorted(allowed))
            if not by_text:
                raise RelaySettingError(
                    f"none of order {order_id}'s recipients is on the release list", "order"
                )
            relay_store.insert_batches(
                conn,
                [
                    relay_store.NewBatch(
                        order_id=order_id,
                        account_id=account_id,
                        kind="release",
                        text_idx=text_idx,
                        numbers=found[start : start + self._batch_size],
                        due_at=now,
                        deadline_at=now + self._deadline,
                    )
                    for text_idx, found in sorted(by_text.items())
                    for start in range(0, len(found), self._batch_size)
                ],
                now,
            )
            return relay_store.batches_of(conn, order_id)

        made = await self._store.transaction(make)
        self._relay.wake()
        return made

    async def reseal(self) -> int:
        """Seal every stored upstream hash again under the first key of
        ``ILETI_SECRET_KEY`` (after a rotation), in one transaction: how many were.
        RelaySettingError, with nothing changed, when one cannot be opened."""
        vault = self._vault
        if vault is None:
            raise RelaySettingError(
                "ILETI_SECRET_KEY is not set: nothing to reseal with", "secret_key"
            )

        def write(conn: Connection) -> int:
            rows = relay_store.all_upstreams(conn)
            for row in rows:
                try:
                    sealed = vault.reseal(row.hash_sealed)
                except VaultError:
                    raise RelaySettingError(
                        f"ILETI_SECRET_KEY does not open the upstream credentials of account "
                        f"{row.account_id} (keep the old key after the new, comma-separated); "
                        "nothing was resealed",
                        "secret_key",
                    ) from None
                relay_store.reseal(conn, row.account_id, sealed)
            return len(rows)

        return await self._store.transaction(write)

    def _open(self, row: UpstreamRow | None) -> str | None:
        if row is None or self._vault is None:
            return None
        try:
            return self._vault.open(row.hash_sealed)
        except VaultError as exc:
            raise RelaySettingError(str(exc), "secret_key") from None

    async def _test_call(self, creds: Credentials) -> tuple[float, int]:
        try:
            return await self._upstream.balance(creds)
        except UpstreamError as exc:
            if exc.kind == "refused" and exc.code == int(Code.UNAUTHORIZED):
                raise RelaySettingError(
                    f"the upstream refused the credentials: {exc}", "hash"
                ) from None
            if exc.kind == "refused":
                raise RelaySettingError(f"the upstream refused get-balance: {exc}", "url") from None
            raise RelaySettingError(f"the upstream did not answer: {exc}", "url") from None


def check_sealed(store: Store, vault: Vault | None) -> None:
    """At start: every stored upstream's credentials open with ``ILETI_SECRET_KEY``;
    ConfigError (one line) otherwise, so nothing is forwarded with credentials that
    cannot be used."""
    rows = store.read_sync(relay_store.all_upstreams)
    if not rows:
        return
    if vault is None:
        raise ConfigError(
            f"ILETI_SECRET_KEY is not set, but {len(rows)} account(s) have an upstream "
            "whose credentials are sealed with it (docs/relay.md)",
            "ILETI_SECRET_KEY",
        )
    for row in rows:
        try:
            vault.open(row.hash_sealed)
        except VaultError:
            raise ConfigError(
                f"ILETI_SECRET_KEY does not open the upstream credentials of account "
                f"{row.account_id} (was the key changed? put the old one after the new, "
                "comma-separated)",
                "ILETI_SECRET_KEY",
            ) from None
