"""Inbound messages (simulated MO SMS) and the opt-out keywords they may carry.

Every inbound message is kept. One sent to the account's short code whose whole text
is an opt-out keyword adds the sender to the account's blacklist (source
``keyword``), in the same transaction as the message is kept.

Keywords: ``RET``, ``IPTAL`` and ``STOP``, alone or with the brand before or after
(``ACME RET``, ``RET ACME``), the brand being the account's name. The match is exact
after trimming and collapsing spaces, and insensitive to case, Turkish İ/ı included
(``ret``, ``İPTAL``, ``ıptal``): "RET lütfen" is not an opt-out.

İYS: ``RET <BRAND>`` sent to the registry's short code 3338, the brand being the
account's İYS brand code or its name (matched as above), records a RET with source
``IYS_KISAMESAJ`` for the account's brand (``services/consent.opt_out``), in the same
transaction; consent/show and send-sms with iys=1 then honour it. It does not touch the
account's blacklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ileti import numbers
from ileti.clock import SYSTEM, Clock
from ileti.models import Account, BlacklistEntry
from ileti.services import consent
from ileti.services.blacklist import KEYWORD
from ileti.services.consent_rules import IYS_SHORT_CODE
from ileti.store import Store
from ileti.store import blacklist as blacklist_store
from ileti.store import inbound as inbound_store
from ileti.store.inbound import Inbound

KEYWORDS = ("RET", "IPTAL", "STOP")
BLACKLISTED = "blacklisted"
#: The action of a RET to 3338 recorded in İYS.
IYS_RET = "iys_ret"
#: The longest short code and text kept.
MAX_TO = 16
MAX_TEXT = 1000
#: Messages per page of the list: the default and the most.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_DOTTED = str.maketrans({"İ": "i", "I": "i", "ı": "i"})


class InboundError(ValueError):
    """An inbound message that cannot be taken; ``field`` names the value at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def fold(text: str) -> str:
    """``text`` as keywords are compared: trimmed, spaces collapsed, case folded with
    İ, I and ı all taken as i."""
    return " ".join(text.translate(_DOTTED).casefold().split())


def iys_ret(text: str, account: Account) -> bool:
    """Whether the whole of ``text`` is ``RET <BRAND>`` for the account: its İYS brand
    code or its name (``fold`` applied to both)."""
    if not account.brand_code:
        return False
    said = fold(text)
    return any(
        name and said == f"ret {name}" for name in (fold(account.brand_code), fold(account.name))
    )


def keyword_of(text: str, brand: str) -> str | None:
    """The opt-out keyword the whole of ``text`` is (``KEYWORDS``), or None."""
    said, name = fold(text), fold(brand)
    for keyword in KEYWORDS:
        word = fold(keyword)
        if said == word or (name and said in (f"{name} {word}", f"{word} {name}")):
            return keyword
    return None


@dataclass(frozen=True)
class Received:
    message: Inbound
    keyword: str | None  # the opt-out keyword, when it was one to the short code
    added: bool  # the sender was not listed before


@dataclass(frozen=True)
class InboundPage:
    messages: list[Inbound]
    next_before: int | None  # the cursor of the following page; None: this is the last


class InboundService:
    def __init__(self, store: Store, *, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock

    async def receive(self, account: Account, sender: str, to: str, text: str) -> Received:
        """Keep a message from ``sender`` to ``to``; blacklist the sender if it is an
        opt-out keyword sent to the account's short code. InboundError for a sender
        that is not a Turkish mobile, a ``to`` or text that cannot be kept."""
        number = numbers.parse(sender)
        if number is None:
            raise InboundError(f"not a Turkish mobile number: {sender!r}", "from")
        to = to.strip()
        if not 1 <= len(to) <= MAX_TO:
            raise InboundError(f"the number sent to: 1 to {MAX_TO} characters", "to")
        if len(text) > MAX_TEXT:
            raise InboundError(f"at most {MAX_TEXT} characters", "text")
        to_short_code = account.short_code is not None and to == account.short_code
        keyword = keyword_of(text, account.name) if to_short_code else None
        to_iys = to == IYS_SHORT_CODE and iys_ret(text, account)
        now = self._clock.now_us()

        def run(conn: Any) -> Received:
            added = False
            action = BLACKLISTED if keyword is not None else None
            if to_iys:
                added = consent.opt_out(conn, account, numbers.e164(number), now)
                action = IYS_RET
            if keyword is not None:
                entry = BlacklistEntry(number, now, KEYWORD)
                added = blacklist_store.add_entries(conn, account.id, [entry]) > 0
            kept = inbound_store.add(
                conn,
                account_id=account.id,
                sender=numbers.e164(number),
                recipient=to,
                text=text,
                received_at=now,
                action=action,
            )
            return Received(kept, "RET" if to_iys else keyword, added)

        return await self._store.transaction(run)

    async def page(
        self, account_id: int | None, *, before: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> InboundPage:
        """Newest first; ``account_id`` None: every account's."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InboundError(f"limit: 1 to {MAX_LIMIT}", "limit")
        rows = await self._store.read(inbound_store.page, account_id, before, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return InboundPage(rows, rows[-1].id if more else None)
