"""SQL for inbound messages: keeping one, and reading them newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, select

from ileti.store.schema import inbound


@dataclass(frozen=True, slots=True)
class Inbound:
    id: int
    account_id: int
    sender: str  # E.164
    recipient: str  # the short code written
    text: str
    received_at: int  # microseconds, UTC
    action: str | None  # blacklisted | None


_COLUMNS = (
    inbound.c.id,
    inbound.c.account_id,
    inbound.c.sender,
    inbound.c.recipient,
    inbound.c.text,
    inbound.c.received_at,
    inbound.c.action,
)


def add(
    conn: Connection,
    *,
    account_id: int,
    sender: str,
    recipient: str,
    text: str,
    received_at: int,
    action: str | None,
) -> Inbound:
    """Keep one inbound message; the row as stored."""
    values: dict[str, Any] = {
        "account_id": account_id,
        "sender": sender,
        "recipient": recipient,
        "text": text,
        "received_at": received_at,
        "action": action,
    }
    new_id = conn.execute(insert(inbound).values(**values).returning(inbound.c.id)).scalar_one()
    return Inbound(id=int(new_id), **values)


def page(conn: Connection, account_id: int | None, before: int | None, limit: int) -> list[Inbound]:
    """Up to ``limit`` messages (of one account, or of all), newest (highest id) first."""
    conditions: list[ColumnElement[bool]] = []
    if account_id is not None:
        conditions.append(inbound.c.account_id == account_id)
    if before is not None:
        conditions.append(inbound.c.id < before)
    query = select(*_COLUMNS).where(*conditions).order_by(inbound.c.id.desc()).limit(limit)
    return [Inbound(*row) for row in conn.execute(query)]
