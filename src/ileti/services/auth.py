"""Authentication of v1 requests (spec §2) with an in-process credential cache.

``hash = hex(HMAC-SHA256(secret, key))`` is a bearer credential that never changes for
a key, so the server keeps only its SHA-256 and compares digests in constant time.
Every failure is the same 401: unknown key, wrong hash, API access off, an address
outside the allow-list (until one address has failed too often: then 429, see
``services/auth_throttle.py``). Its cause is logged at info (logger ``ileti.auth``), once per
request, with the key (keys are not secrets; an unknown one is cut to 32 characters and
escaped, in case it is a pasted secret or carries control characters) and the client's
address; never the hash.

Credentials are cached per process, unknown keys too, so a request costs no database
round trip. The cache is dropped at once on a change made in this process, and within
``auth_refresh_seconds`` on a change made anywhere else (another instance, the CLI):
a background task polls the ``auth`` change version, one row, that every account
change bumps in its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ileti.errors import Unauthorized
from ileti.logs import printable
from ileti.models import Account
from ileti.networks import Network, contains, parse_networks
from ileti.services.auth_throttle import AuthThrottle
from ileti.services.changes import ChangeFollower
from ileti.store import Store
from ileti.store import accounts as account_store

log = logging.getLogger("ileti.auth")

_CACHE_LIMIT = 100_000
#: Characters of a key shown in a log line (generated keys have 32).
_SHOWN_KEY = 32


def api_hash(key: str, secret: str) -> str:
    """The hash a client sends: lowercase hex of HMAC-SHA256 keyed with the secret."""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def hash_digest(hash_hex: str) -> str:
    """What is stored: SHA-256 of the lowercase hash (a bearer token of 256 bits)."""
    return hashlib.sha256(hash_hex.strip().lower().encode()).hexdigest()


def new_key() -> str:
    return secrets.token_hex(16)


def new_secret() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True, slots=True)
class Credential:
    account_id: int
    key: str
    digest: bytes
    api_access: bool
    networks: tuple[Network, ...]

    @classmethod
    def of(cls, account: Account) -> Credential:
        return cls(
            account_id=account.id,
            key=account.key,
            digest=bytes.fromhex(account.hash_sha256),
            api_access=account.api_access,
            networks=parse_networks(account.allow_ips),
        )

    def admits(self, address: str | None) -> bool:
        return not self.networks or contains(self.networks, address)


_MISSING = object()


def _shown_key(key: Any) -> str:
    if key is None:
        return "(none)"
    if not isinstance(key, str):
        return f"(not text: {type(key).__name__})"
    return printable(key, _SHOWN_KEY) if key else "(empty)"


def refused(reason: str, key: Any, address: Callable[[], str | None]) -> Unauthorized:
    """The 401 of a request, its cause logged at info: the reason, the key shown safely
    and the client's address; never the hash."""
    if log.isEnabledFor(logging.INFO):
        log.info("401 for key %s from %s: %s", _shown_key(key), address() or "-", reason)
    return Unauthorized(reason)


def _of(credential: Credential, error: Unauthorized) -> Unauthorized:
    error.account_id = credential.account_id
    return error


class Authenticator:
    def __init__(
        self,
        store: Store,
        *,
        refresh_seconds: float = 0.5,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._store = store
        self._throttle = throttle
        self._cache: dict[str, Credential | None] = {}
        self._generation = 0
        self._changes = ChangeFollower(
            "ileti-auth-refresh",
            lambda: store.read(account_store.version),
            self.invalidate,
            every=refresh_seconds,
        )

    # -- the cache ----------------------------------------------------------------

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    async def _load(self, key: str) -> Credential | None:
        generation = self._generation
        account = await self._store.read(account_store.by_key, key)
        credential = Credential.of(account) if account is not None else None
        if generation == self._generation:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = credential
        return credential

    async def _credential(self, key: str) -> Credential | None:
        """The credential of a (stripped) key, from the cache or the store. A key with
        a NUL is no account's and is not looked up (PostgreSQL refuses the very query);
        nor cached, so that it cannot fill the cache."""
        if "\x00" in key:
            return None
        credential = self._cache.get(key, _MISSING)
        if credential is _MISSING:
            return await self._load(key)
        assert credential is None or isinstance(credential, Credential)
        return credential

    async def refresh(self) -> None:
        """Drop the cache if anything changed since the last look."""
        await self._changes.refresh()

    async def start(self) -> None:
        await self._changes.start()

    async def stop(self) -> None:
        await self._changes.stop()

    # -- the check ----------------------------------------------------------------

    async def authenticate(
        self, key: Any, hash_hex: Any, address: Callable[[], str | None]
    ) -> Credential:
        """The credential of a request, or Unauthorized; RateLimited while the client's
        address has failed too often (``services/auth_throttle.py``). ``address`` gives
        the client's address; it is only asked for when the account has an allow-list,
        when an address is being throttled, or when the request fails."""
        throttle = self._throttle
        if throttle is not None and throttle.blocking:
            throttle.check(address())
        try:
            if not isinstance(key, str) or not isinstance(hash_hex, str):
                raise refused("missing key or hash", key, address)
            key = key.strip()
            if not key or len(key) > 64 or not hash_hex:
                raise refused("malformed key or hash", key, address)
            credential = await self._credential(key)
            digest = hashlib.sha256(hash_hex.strip().lower().encode()).digest()
            if credential is None:
                # Same work as a known key, so timing does not tell unknown keys apart.
                hmac.compare_digest(digest, digest)
                raise refused("unknown key", key, address)
            assert isinstance(credential, Credential)
            if not hmac.compare_digest(digest, credential.digest):
                raise _of(credential, refused("wrong hash", key, address))
            if not credential.api_access:
                raise _of(credential, refused("API access off", key, address))
            if credential.networks and not credential.admits(address()):
                raise _of(credential, refused("address outside the allow-list", key, address))
            return credential
        except Unauthorized:
            if throttle is not None:
                await throttle.failed(address())
            raise

    async def identify(self, key: str | None, hash_hex: str | None) -> Credential:
        """The account whose key and hash these are, whatever its API-access switch and
        allow-list say (the sandbox control API); Unauthorized otherwise."""
        if not key or not hash_hex or len(key.strip()) > 64:
            raise Unauthorized("missing or malformed key or hash")
        key = key.strip()
        credential = await self._credential(key)
        digest = hashlib.sha256(hash_hex.strip().lower().encode()).digest()
        if credential is None:
            hmac.compare_digest(digest, digest)
            raise Unauthorized("unknown key")
        assert isinstance(credential, Credential)
        if not hmac.compare_digest(digest, credential.digest):
            raise Unauthorized("wrong hash")
        return credential
