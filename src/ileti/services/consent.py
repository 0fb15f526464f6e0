"""İYS consent (spec §10): consent/create and consent/show, the history the panel and
the CLI read, the registry's own RET (a recipient texting ``RET <BRAND>`` to 3338), and
the refusals the sandbox shows.

consent/create: the brand (403, ``consent_rules.brand``), then every record checked on
its own (``consent_rules.records``), then in ONE transaction of the writer: the latest
record of every key in the list (one query), each record against it
(``consent_rules.against_history``), and, when nothing is wrong, the records appended
and made their keys' latest. Any problem refuses the whole list with 422 and nothing
is stored; the problems (which record broke which rule) are kept for the sandbox's view
(``/_ileti/consent/refusals``): the newest ``KEPT`` refusals of each account, in this
process.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ileti.clock import SYSTEM, Clock
from ileti.errors import ApiError, Unprocessable
from ileti.models import Account, Consent, StoredConsent
from ileti.services import consent_rules as rules
from ileti.services.consent_rules import ConsentRefused, Problem
from ileti.store import Store
from ileti.store import consent as consent_store

#: Refusals kept per account, and accounts kept, for the sandbox's view.
KEPT = 20
MAX_ACCOUNTS = 10_000
#: Records per page of a history or a search: the default and the most.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: How a record came.
API, CLI, IMPORT, INBOUND, PANEL = "api", "cli", "import", "inbound", "panel"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused consent/create: when, how many records it had, what was wrong."""

    at: int
    records: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Shown:
    """consent/show's answer: the latest record of one key under the brand."""

    brand_code: str
    consent: Consent


class ConsentService:
    def __init__(self, store: Store, *, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock
        self._refusals: OrderedDict[int, deque[Refusal]] = OrderedDict()

    # -- consent/create ------------------------------------------------------------------

    async def create(
        self,
        account: Account,
        brand_code: Any,
        raw: Any,
        *,
        origin: str = API,
        most: int | None = rules.MAX_RECORDS,
    ) -> int:
        """Store a consent list whole (how many records), or refuse it whole: 403 for
        the brand, 422 for any record breaking any rule (nothing stored). ``most``: the
        longest list (None: any, for the CLI's import of a file)."""
        now = self._clock.now_us()
        size = len(raw) if isinstance(raw, list) else 0
        try:
            brand = rules.brand(account.brand_code, brand_code)
        except ApiError as exc:
            problem = Problem(None, None, "brandCode", exc.detail or exc.code.message)
            self._remember(account.id, Refusal(now, size, (problem,)))
            raise
        checked, problems = rules.records(raw, now, most=most)
        if problems:
            self._refused(account.id, now, size, problems)
        run = functools.partial(_create, account.id, brand, checked, now, origin)
        try:
            return await self._store.transaction(run)
        except ConsentRefused as exc:
            self._remember(account.id, Refusal(now, size, exc.problems))
            raise

    def _refused(self, account_id: int, now: int, size: int, problems: list[Problem]) -> None:
        refused = ConsentRefused(problems)
        self._remember(account_id, Refusal(now, size, refused.problems))
        raise refused

    def _remember(self, account_id: int, refusal: Refusal) -> None:
        kept = self._refusals.get(account_id)
        if kept is None:
            while len(self._refusals) >= MAX_ACCOUNTS:
                self._refusals.popitem(last=False)
            kept = self._refusals[account_id] = deque(maxlen=KEPT)
        else:
            self._refusals.move_to_end(account_id)
        kept.append(refusal)

    def refusals(self, account_id: int) -> list[Refusal]:
        """The account's refused consent/create calls in this process, newest first."""
        return list(reversed(self._refusals.get(account_id, ())))

    # -- consent/show -------------------------------------------------------------------------

    async def show(
        self, account: Account, brand_code: Any, recipient: Any, recipient_type: Any, type_: Any
    ) -> Shown:
        """The latest record of one key: 403 for the brand; 422 for a value that is not
        one, or a recipient without any record."""
        brand = rules.brand(account.brand_code, brand_code)
        kind = rules.one(type_, "type", rules.TYPES)
        who = rules.one(recipient_type, "recipientType", rules.RECIPIENT_TYPES)
        normalised, why = rules.recipient_of(kind, recipient)
        if normalised is None:
            raise Unprocessable(f"recipient: {why}")
        found = await self._store.read(
            consent_store.latest, account.id, brand, (kind, who, normalised)
        )
        if found is None:
            raise Unprocessable("no consent record for this recipient")
        return Shown(brand, found[0])

    # -- what the panel and the CLI read -------------------------------------------------------

    async def history(
        self,
        account_id: int,
        recipient: str,
        *,
        before: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[StoredConsent]:
        """Every record of one recipient (a phone number in any accepted form, or an
        e-mail address), newest first."""
        _check_limit(limit)
        return await self._store.read(
            functools.partial(consent_store.history, before=before, limit=limit),
            account_id,
            normalise(recipient),
        )

    async def search(
        self,
        account_id: int,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[StoredConsent]:
        """The latest records of the recipients starting with ``prefix`` (a phone number
        is searched in its E.164 form), by recipient."""
        _check_limit(limit)
        return await self._store.read(
            functools.partial(consent_store.search, after=after, limit=limit),
            account_id,
            search_prefix(prefix),
        )

    async def every_latest(self, account_id: int) -> list[StoredConsent]:
        """The latest record of every key the account holds, by recipient (export)."""
        return await self._store.read(
            functools.partial(consent_store.search, after=None, limit=None), account_id, ""
        )


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit: 1 to {MAX_LIMIT}")


def normalise(recipient: str) -> str:
    """A recipient as stored: a Turkish mobile as E.164, anything else as an e-mail
    address (normalised when it is one, else as given)."""
    phone, _ = rules.recipient_of("MESAJ", recipient)
    if phone is not None:
        return phone
    email, _ = rules.recipient_of("EPOSTA", recipient.strip())
    return email if email is not None else recipient.strip()


def search_prefix(prefix: str) -> str:
    """What a search by recipient looks for: digits of a phone number as the E.164
    form's start (``0533``, ``533``, ``90533`` and ``+90533`` alike), else as given."""
    text = prefix.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text and digits and all(ch.isdigit() or ch in "+ -()" for ch in text):
        if digits.startswith("90"):
            return "+" + digits
        return "+90" + digits.removeprefix("0")
    return text


def _create(
    account_id: int, brand: str, checked: list[Consent], now: int, origin: str, conn: Connection
) -> int:
    """consent/create's transaction (in the writer's thread)."""
    latest = consent_store.current(conn, account_id, brand, [c.key for c in checked])
    problems = rules.against_history(checked, latest)
    if problems:
        raise ConsentRefused(problems)
    return consent_store.record(conn, account_id, brand, checked, now=now, origin=origin)


def opt_out(conn: Connection, account: Account, recipient: str, now: int) -> bool:
    """The registry's RET for ``recipient`` (E.164), texted to 3338: recorded for the
    account's brand (type MESAJ, source IYS_KISAMESAJ) as BIREYSEL, and as TACIR when
    the recipient holds a TACIR ONAY; part of the inbound message's transaction. Whether
    anything was recorded (not when already RET)."""
    brand = account.brand_code
    if not brand:
        return False
    keys = [("MESAJ", rules.BIREYSEL, recipient), ("MESAJ", rules.TACIR, recipient)]
    latest = consent_store.current(conn, account.id, brand, keys)
    recorded = []
    for key in keys:
        stored = latest.get(key)
        if key[1] == rules.TACIR and (stored is None or stored[0] != rules.ONAY):
            continue
        if stored is not None and stored[0] == rules.RET:
            continue
        when = now if stored is None else max(now, stored[1] + 1)
        recorded.append(Consent(recipient, key[1], "MESAJ", rules.RET, rules.IYS_KISAMESAJ, when))
    consent_store.record(conn, account.id, brand, recorded, now=now, origin=INBOUND)
    return bool(recorded)
