"""Fault rules: ileti misbehaving on purpose, so a client's error handling can be tested
(docs/sandbox.md, "Faults"). Rules live in the database (``ileti.store.faults``), so
every instance applies them; one belongs to an account, or to every account (global).

- ``api``: a v1 action (or every one) answers a documented error code, and/or waits
  ``latency_ms`` first. Checked after authentication; a faulted request changes nothing.
- ``recipient``: messages to recipients matching a pattern end 112 (reason ``fault``)
  or stay 110; the carrier consults them when it finalises messages.
- ``webhook``: delivery-report POSTs fail as if the receiver answered ``code``, or
  time out; recorded like a real failed attempt (retried, then given up).

A rule applies to the next ``remaining`` matches (counted atomically in the database,
so across instances) or to all, with ``probability`` or always, until ``expires_at``.

The v1 hot path reads api rules from a per-instance cache: it is dropped at once on a
change made here, and within ``refresh_seconds`` on a change made anywhere else (a
background task polls the ``faults`` change version, as ``services/auth.py`` does for
credentials). The database is written only when a rule with ``remaining`` matched.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ileti import numbers
from ileti.clock import SECOND, SYSTEM, Clock
from ileti.errors import ApiError, Code
from ileti.services.changes import ChangeFollower
from ileti.store import Store
from ileti.store import faults as fault_store
from ileti.store.faults import Fault

#: The largest rule id the store holds (a 32-bit integer on PostgreSQL).
MAX_FAULT_ID = 2**31 - 1

log = logging.getLogger("ileti.faults")

KINDS = ("api", "recipient", "webhook")
#: The v1 actions (the names of ``ileti.api.actions.ACTIONS``; a test keeps them equal:
#: services may not import the API layer).
ACTIONS = frozenset(
    {
        "add-blacklist",
        "delete-blacklist",
        "get-blacklist",
        "get-balance",
        "get-sender",
        "send-sms",
        "consent/create",
        "consent/show",
        "get-report",
        "get-reports",
        "get-report-summary",
        "cancel-order",
    }
)
#: Codes an api rule may answer: every error code of the catalogue.
API_CODES = frozenset(code for code in Code if code >= 400)
#: What a recipient rule makes of a message: undelivered, or waiting for ever.
RECIPIENT_CODES = frozenset({int(Code.UNDELIVERED), int(Code.SENDING)})
#: Why a message a recipient rule ended 112 was not delivered.
FAULT_REASON = "fault"
MAX_LATENCY_MS = 30_000
MAX_TIMES = 1_000_000
MAX_TTL_SECONDS = 365 * 24 * 3600
MAX_PATTERN = 32
#: Rules per account, and global rules.
MAX_RULES = 100
_PATTERN = re.compile(r"[+0-9*?]+")
_SEPARATORS = str.maketrans("", "", " -()")


class FaultError(ValueError):
    """A rule that cannot be stored; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FaultNotFound(LookupError):
    """No such rule the caller may see."""


class FaultForbidden(PermissionError):
    """A global rule, which only the admin removes."""


class InjectedFault(ApiError):
    """The error an api rule answers: its code, with the catalogue's message."""

    def __init__(self, code: Code, rule_id: int) -> None:
        super().__init__(f"fault rule {rule_id}")
        self.code = code
        if code is Code.RATE_LIMITED:
            self.headers = {"retry-after": "1"}


@dataclass(frozen=True)
class FaultSpec:
    """A rule as asked for (the control API's body, the CLI's options)."""

    kind: str
    action: str | None = None
    code: int | None = None
    pattern: str | None = None
    remaining: int | None = None
    probability: float | None = None
    latency_ms: int | None = None
    timeout: bool = False
    ttl_seconds: float | None = None


def check_pattern(text: str) -> str:
    """A recipient pattern: an exact number in any accepted form (-> E.164), or a glob
    of ``+``, digits, ``*`` and ``?`` (``0555*`` and ``90555*`` read as ``+90555*``)."""
    value = text.strip().translate(_SEPARATORS)
    if not value or len(value) > MAX_PATTERN:
        raise FaultError(f"a pattern has 1 to {MAX_PATTERN} characters", "pattern")
    if "*" not in value and "?" not in value:
        exact = numbers.normalize(value)
        if exact is None:
            raise FaultError("not a Turkish mobile number, nor a glob with * or ?", "pattern")
        return exact
    if _PATTERN.fullmatch(value) is None or "+" in value[1:]:
        raise FaultError("a glob has only a leading +, digits, * and ?", "pattern")
    if value.startswith("00"):
        value = "+" + value[2:]
    elif value.startswith("90"):
        value = "+" + value
    elif value.startswith("0"):
        value = "+90" + value[1:]
    elif value.startswith("5"):
        value = "+90" + value
    return value


def _refuse_unless(allowed: bool, field: str, kind: str) -> None:
    if not allowed:
        raise FaultError(f"not for a rule of kind {kind}", field)


def check(spec: FaultSpec, now: int) -> dict[str, Any]:
    """The columns of a valid rule; FaultError naming the field otherwise."""
    kind = spec.kind
    if kind not in KINDS:
        raise FaultError(f"one of {', '.join(KINDS)}", "kind")
    values: dict[str, Any] = {"kind": kind, "timeout": False, "created_at": now}
    _refuse_unless(kind == "api" or spec.action is None, "action", kind)
    _refuse_unless(kind == "api" or spec.latency_ms is None, "latency_ms", kind)
    _refuse_unless(kind == "recipient" or spec.pattern is None, "pattern", kind)
    _refuse_unless(kind == "webhook" or not spec.timeout, "timeout", kind)
    if kind == "api":
        if spec.action is not None and spec.action not in ACTIONS:
            raise FaultError(f"not a v1 action (one of {', '.join(sorted(ACTIONS))})", "action")
        if spec.code is not None and spec.code not in API_CODES:
            raise FaultError("not an error code of the v1 catalogue (400, 401, 402, ...)", "code")
        if spec.latency_ms is not None and not 1 <= spec.latency_ms <= MAX_LATENCY_MS:
            raise FaultError(f"from 1 to {MAX_LATENCY_MS}", "latency_ms")
        if spec.code is None and spec.latency_ms is None:
            raise FaultError("an api rule needs a code, a latency_ms or both", "code")
        values.update(action=spec.action, code=spec.code, latency_ms=spec.latency_ms)
    elif kind == "recipient":
        if spec.pattern is None:
            raise FaultError("a recipient rule needs a pattern", "pattern")
        code = int(Code.UNDELIVERED) if spec.code is None else spec.code
        if code not in RECIPIENT_CODES:
            raise FaultError("112 (undelivered) or 110 (stays waiting)", "code")
        values.update(pattern=check_pattern(spec.pattern), code=code)
    else:
        if spec.timeout == (spec.code is not None):
            raise FaultError("a webhook rule needs either a code or timeout: true", "code")
        if spec.code is not None and not (100 <= spec.code <= 599 and spec.code // 100 != 2):
            raise FaultError("an HTTP status that is not a success (100-199, 300-599)", "code")
        values.update(code=spec.code, timeout=spec.timeout)
    if spec.remaining is not None and not 1 <= spec.remaining <= MAX_TIMES:
        raise FaultError(f"from 1 to {MAX_TIMES}", "remaining")
    if spec.probability is not None and not 0.0 <= spec.probability <= 1.0:
        raise FaultError("from 0 to 1", "probability")
    if spec.ttl_seconds is not None and not 0 < spec.ttl_seconds <= MAX_TTL_SECONDS:
        raise FaultError(f"more than 0, at most {MAX_TTL_SECONDS}", "ttl_seconds")
    expires_at = None if spec.ttl_seconds is None else now + int(spec.ttl_seconds * SECOND)
    values.update(remaining=spec.remaining, probability=spec.probability, expires_at=expires_at)
    return values


def fires(rule: Fault, chance: Callable[[], float]) -> bool:
    """Whether a live rule applies this time, its probability aside from ``remaining``."""
    return rule.probability is None or chance() < rule.probability


@dataclass(frozen=True)
class _Snapshot:
    """The rules in effect when loaded, by kind, by account (None: global)."""

    api: dict[int | None, tuple[Fault, ...]]
    webhook: dict[int | None, tuple[Fault, ...]]

    @classmethod
    def of(cls, rules: Sequence[Fault]) -> _Snapshot:
        grouped: dict[str, dict[int | None, list[Fault]]] = {"api": {}, "webhook": {}}
        for rule in rules:
            if rule.kind in grouped:
                grouped[rule.kind].setdefault(rule.account_id, []).append(rule)
        api, webhook = (
            {owner: tuple(found) for owner, found in grouped[kind].items()}
            for kind in ("api", "webhook")
        )
        return cls(api=api, webhook=webhook)


def _for(rules: dict[int | None, tuple[Fault, ...]], account_id: int) -> tuple[Fault, ...]:
    return rules.get(account_id, ()) + rules.get(None, ())


class RecipientFaults:
    """The recipient rules of the accounts in one carrier transaction: which messages a
    rule ends 112 or keeps at 110. Uses of ``remaining`` are counted in that transaction."""

    def __init__(
        self, conn: Connection, rules: Sequence[Fault], chance: Callable[[], float]
    ) -> None:
        self._conn = conn
        self._rules = rules
        self._chance = chance

    def outcome(self, account_id: int, recipient: str) -> Code | None:
        """112 or 110 when a rule applies to this message, else None."""
        for rule in self._rules:
            if rule.account_id not in (None, account_id) or rule.pattern is None:
                continue
            if not fnmatch.fnmatchcase(recipient, rule.pattern) or not fires(rule, self._chance):
                continue
            if rule.remaining is not None and not fault_store.take(self._conn, rule.id):
                continue
            return Code(rule.code)
        return None


def recipient_faults(
    conn: Connection, account_ids: Sequence[int], now: int, chance: Callable[[], float]
) -> RecipientFaults:
    """The recipient rules of these accounts, read in the carrier's transaction."""
    rules = fault_store.active(conn, now, kind="recipient", account_ids=account_ids)
    return RecipientFaults(conn, rules, chance)


class FaultService:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM,
        refresh_seconds: float = 0.5,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._clock = clock
        self.chance = chance
        self._snapshot: _Snapshot | None = None
        self._generation = 0
        self._changes = ChangeFollower(
            "ileti-faults-refresh",
            lambda: store.read(fault_store.version),
            self.invalidate,
            every=refresh_seconds,
        )

    # -- managing rules ---------------------------------------------------------------

    async def add(self, spec: FaultSpec, account_id: int | None) -> Fault:
        """Store a rule for an account (None: global); FaultError when invalid."""
        values = check(spec, self._clock.now_us())

        def create(conn: Connection) -> Fault:
            if fault_store.count_of(conn, account_id) >= MAX_RULES:
                raise FaultError(f"at most {MAX_RULES} rules each (remove some first)")
            return fault_store.add(conn, account_id=account_id, **values)

        try:
            return await self._store.transaction(create)
        finally:
            self.invalidate()

    async def list(self, account_id: int | None, *, with_global: bool = True) -> list[Fault]:
        """An account's rules and the global ones; every rule when None."""
        return await self._store.read(
            functools.partial(fault_store.listed, with_global=with_global), account_id
        )

    async def remove(self, fault_id: int, account_id: int | None) -> None:
        """Remove a rule: an account's own (``account_id``), or any (None: the admin)."""

        if not 1 <= fault_id <= MAX_FAULT_ID:  # no rule has it (nor could a query ask)
            raise FaultNotFound(fault_id)

        def delete(conn: Connection) -> None:
            rule = fault_store.by_id(conn, fault_id)
            foreign = account_id is not None and rule is not None
            if rule is None or (foreign and rule.account_id not in (None, account_id)):
                raise FaultNotFound(fault_id)
            if account_id is not None and rule.account_id is None:
                raise FaultForbidden(fault_id)
            fault_store.remove(conn, fault_id)

        try:
            await self._store.transaction(delete)
        finally:
            self.invalidate()

    # -- the cache ----------------------------------------------------------------------

    def invalidate(self) -> None:
        self._generation += 1
        self._snapshot = None

    async def _rules(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        generation = self._generation
        rules = await self._store.read(fault_store.active, self._clock.now_us())
        snapshot = _Snapshot.of(rules)
        if generation == self._generation:
            self._snapshot = snapshot
        return snapshot

    async def refresh(self) -> None:
        """Drop the cache if anything changed since the last look."""
        await self._changes.refresh()

    async def start(self) -> None:
        await self._changes.start()

    async def stop(self) -> None:
        await self._changes.stop()

    # -- applying rules -------------------------------------------------------------------

    async def _used(self, rule: Fault) -> bool:
        """Count a use of a rule with ``remaining``; False (and the cache dropped) when
        another request or instance used it up first."""
        if rule.remaining is None:
            return True
        if await self._store.transaction(functools.partial(fault_store.take, fault_id=rule.id)):
            return True
        self.invalidate()
        return False

    async def strike(self, account_id: int, action: str) -> None:
        """Apply the api rules of a v1 request (after authentication): wait the latency
        of every rule that fires, then raise the code of the first with one."""
        snapshot = self._snapshot or await self._rules()
        if not snapshot.api:
            return
        now = self._clock.now_us()
        latency = 0
        code: Code | None = None
        rule_id = 0
        for rule in _for(snapshot.api, account_id):
            if rule.action not in (None, action) or not rule.live(now):
                continue
            if rule.code is not None and code is not None:
                continue
            if not fires(rule, self.chance) or not await self._used(rule):
                continue
            latency += rule.latency_ms or 0
            if rule.code is not None:
                code, rule_id = Code(rule.code), rule.id
        if latency:
            await asyncio.sleep(min(latency, MAX_LATENCY_MS) / 1000)
        if code is not None:
            raise InjectedFault(code, rule_id)

    async def webhook(self, account_id: int) -> Fault | None:
        """The webhook rule that makes this POST fail, if one fires."""
        snapshot = await self._rules()
        if not snapshot.webhook:
            return None
        now = self._clock.now_us()
        for rule in _for(snapshot.webhook, account_id):
            if rule.live(now) and fires(rule, self.chance) and await self._used(rule):
                return rule
        return None
