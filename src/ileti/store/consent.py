"""SQL for İYS consent: the history of records (``consent_records``) and the latest
record of each (brand, type, recipient type, recipient) (``consents``). Primitives
only: which record may be stored and who may be sent to is decided by
``ileti.services.consent`` and ``ileti.services.order_rules``.

Bulk statements take their rows as one parameter (SQLite: a JSON array read with
``json_each``; PostgreSQL: arrays read with ``unnest``), so a list of 5,000 records, or
the 50,000 recipients of an order, is one statement."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ileti.models import Consent, StoredConsent
from ileti.store.schema import consent_records, consents

Key = tuple[str, str, str]  # (type, recipient type, recipient)


def _cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


# -- the latest records, in bulk ---------------------------------------------------------

# SQLite: CROSS JOIN keeps json_each outside, so each key is one primary-key search (a
# plain JOIN lets the planner scan the account's records once per key).
_CURRENT_SQL = {
    "sqlite": (
        "SELECT c.type, c.recipient_type, c.recipient, c.status, c.consent_date "
        "FROM json_each(?) AS j CROSS JOIN consents AS c ON c.account_id = ? AND c.brand_code = ? "
        "AND c.type = j.value ->> 0 AND c.recipient_type = j.value ->> 1 "
        "AND c.recipient = j.value ->> 2"
    ),
    "postgresql": (
        "SELECT c.type, c.recipient_type, c.recipient, c.status, c.consent_date "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) AS j(t, rt, r) "
        "JOIN consents AS c ON c.account_id = %s AND c.brand_code = %s "
        "AND c.type = j.t AND c.recipient_type = j.rt AND c.recipient = j.r"
    ),
}


def current(
    conn: Connection, account_id: int, brand_code: str, keys: Sequence[Key]
) -> dict[Key, tuple[str, int]]:
    """The latest (status, consent date) of each of ``keys`` that has a record (one
    query, any count)."""
    if not keys:
        return {}
    cursor = _cursor(conn)
    try:
        if conn.dialect.name == "sqlite":
            cursor.execute(_CURRENT_SQL["sqlite"], (json.dumps(list(keys)), account_id, brand_code))
        else:
            cursor.execute(
                _CURRENT_SQL["postgresql"],
                (
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [k[2] for k in keys],
                    account_id,
                    brand_code,
                ),
            )
        return {(t, rt, r): (status, int(date)) for t, rt, r, status, date in cursor.fetchall()}
    finally:
        cursor.close()


_STATUSES_SQL = {
    "sqlite": (
        "SELECT number, status FROM consents WHERE account_id = ? "
        "AND number IN (SELECT value FROM json_each(?)) "
        "AND brand_code = ? AND type = ? AND recipient_type = ?"
    ),
    "postgresql": (
        "SELECT number, status FROM consents WHERE account_id = %s AND number = ANY(%s) "
        "AND brand_code = %s AND type = %s AND recipient_type = %s"
    ),
}


def statuses(
    conn: Connection,
    account_id: int,
    brand_code: str,
    type_: str,
    recipient_type: str,
    numbers: Sequence[int],
) -> dict[int, str]:
    """number (905XXXXXXXXX) -> its latest status, for those of ``numbers`` with a
    record (one query by ``ix_consents_number``, any count: send-sms with iys=1)."""
    if not numbers:
        return {}
    cursor = _cursor(conn)
    try:
        argument: Any = json.dumps(list(numbers)) if conn.dialect.name == "sqlite" else numbers
        cursor.execute(
            _STATUSES_SQL[conn.dialect.name],
            (account_id, argument, brand_code, type_, recipient_type),
        )
        return dict(cursor.fetchall())
    finally:
        cursor.close()


def number_of(recipient: str) -> int | None:
    """A phone recipient (E.164) as the integer ``number`` column; None for an e-mail."""
    digits = recipient[1:]
    return int(digits) if recipient[:1] == "+" and digits.isascii() and digits.isdigit() else None


# -- recording -----------------------------------------------------------------------------

_RECORDS_SQL = {
    "sqlite": (
        "INSERT INTO consent_records (account_id, brand_code, recipient, recipient_type, "
        "type, status, source, consent_date, recorded_at, origin) "
        "SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, "
        "value ->> 5, ?, ? FROM json_each(?) ORDER BY key"
    ),
    "postgresql": (
        "INSERT INTO consent_records (account_id, brand_code, recipient, recipient_type, "
        "type, status, source, consent_date, recorded_at, origin) "
        "SELECT %s, %s, r, rt, t, s, src, d, %s, %s "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::bigint[]) WITH ORDINALITY AS x(r, rt, t, s, src, d, n) ORDER BY n"
    ),
}

_CURRENT_UPSERT_SQL = {
    "sqlite": (
        "INSERT INTO consents (account_id, brand_code, type, recipient_type, recipient, "
        "status, source, consent_date, recorded_at, number) "
        "SELECT ?, ?, value ->> 2, value ->> 1, value ->> 0, value ->> 3, value ->> 4, "
        "value ->> 5, ?, value ->> 6 FROM json_each(?) WHERE true "
        "ON CONFLICT (account_id, brand_code, type, recipient_type, recipient) DO UPDATE SET "
        "status = excluded.status, source = excluded.source, "
        "consent_date = excluded.consent_date, recorded_at = excluded.recorded_at"
    ),
    "postgresql": (
        "INSERT INTO consents (account_id, brand_code, type, recipient_type, recipient, "
        "status, source, consent_date, recorded_at, number) "
        "SELECT %s, %s, t, rt, r, s, src, d, %s, n "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::bigint[], %s::bigint[]) AS x(r, rt, t, s, src, d, n) "
        "ON CONFLICT (account_id, brand_code, type, recipient_type, recipient) DO UPDATE SET "
        "status = excluded.status, source = excluded.source, "
        "consent_date = excluded.consent_date, recorded_at = excluded.recorded_at"
    ),
}


def record(
    conn: Connection,
    account_id: int,
    brand_code: str,
    records: Sequence[Consent],
    *,
    now: int,
    origin: str,
) -> int:
    """Append ``records`` (at most one per key) to the history, in recipient order, and
    make each its key's latest; how many."""
    if not records:
        return 0
    # In key order: neighbouring rows land in the same B-tree pages (a quarter faster
    # than list order for 5,000 records among a million).
    records = sorted(records, key=lambda c: (c.recipient, c.type, c.recipient_type))
    cursor = _cursor(conn)
    try:
        if conn.dialect.name == "sqlite":
            payload = json.dumps(
                [
                    [
                        c.recipient,
                        c.recipient_type,
                        c.type,
                        c.status,
                        c.source,
                        c.consent_date,
                        number_of(c.recipient),
                    ]
                    for c in records
                ]
            )
            cursor.execute(_RECORDS_SQL["sqlite"], (account_id, brand_code, now, origin, payload))
            cursor.execute(_CURRENT_UPSERT_SQL["sqlite"], (account_id, brand_code, now, payload))
        else:
            columns = (
                [c.recipient for c in records],
                [c.recipient_type for c in records],
                [c.type for c in records],
                [c.status for c in records],
                [c.source for c in records],
                [c.consent_date for c in records],
            )
            cursor.execute(
                _RECORDS_SQL["postgresql"], (account_id, brand_code, now, origin, *columns)
            )
            numbers = [number_of(c.recipient) for c in records]
            cursor.execute(
                _CURRENT_UPSERT_SQL["postgresql"], (account_id, brand_code, now, *columns, numbers)
            )
    finally:
        cursor.close()
    return len(records)


# -- reading -------------------------------------------------------------------------------

_RECORD_COLUMNS = (
    consent_records.c.id,
    consent_records.c.account_id,
    consent_records.c.brand_code,
    consent_records.c.recipient,
    consent_records.c.recipient_type,
    consent_records.c.type,
    consent_records.c.status,
    consent_records.c.source,
    consent_records.c.consent_date,
    consent_records.c.recorded_at,
    consent_records.c.origin,
)


def _stored(row: Row[Any]) -> StoredConsent:
    return StoredConsent(
        id=int(row.id),
        account_id=row.account_id,
        brand_code=row.brand_code,
        consent=Consent(
            recipient=row.recipient,
            recipient_type=row.recipient_type,
            type=row.type,
            status=row.status,
            source=row.source,
            consent_date=int(row.consent_date),
        ),
        recorded_at=int(row.recorded_at),
        origin=row.origin,
    )


def latest(
    conn: Connection, account_id: int, brand_code: str, key: Key
) -> tuple[Consent, int] | None:
    """The latest record of one key and when it was recorded, or None."""
    type_, recipient_type, recipient = key
    row = conn.execute(
        select(
            consents.c.status, consents.c.source, consents.c.consent_date, consents.c.recorded_at
        ).where(
            consents.c.account_id == account_id,
            consents.c.brand_code == brand_code,
            consents.c.type == type_,
            consents.c.recipient_type == recipient_type,
            consents.c.recipient == recipient,
        )
    ).first()
    if row is None:
        return None
    found = Consent(recipient, recipient_type, type_, row.status, row.source, row.consent_date)
    return found, int(row.recorded_at)


def history(
    conn: Connection, account_id: int, recipient: str, *, before: int | None, limit: int
) -> list[StoredConsent]:
    """Every record of one recipient (any brand, type and recipient type), newest first."""
    query = select(*_RECORD_COLUMNS).where(
        consent_records.c.account_id == account_id, consent_records.c.recipient == recipient
    )
    if before is not None:
        query = query.where(consent_records.c.id < before)
    query = query.order_by(consent_records.c.id.desc()).limit(limit)
    return [_stored(row) for row in conn.execute(query)]


def search(
    conn: Connection, account_id: int, prefix: str, *, after: str | None, limit: int | None
) -> list[StoredConsent]:
    """The latest record of each (brand, type, recipient type) of the recipients starting
    with ``prefix``, by recipient; ``after``: only recipients after it; ``limit`` None:
    all."""
    query = select(
        consents.c.account_id,
        consents.c.brand_code,
        consents.c.type,
        consents.c.recipient_type,
        consents.c.recipient,
        consents.c.status,
        consents.c.source,
        consents.c.consent_date,
        consents.c.recorded_at,
    ).where(consents.c.account_id == account_id)
    if prefix:
        query = query.where(consents.c.recipient.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(consents.c.recipient > after)
    query = query.order_by(
        consents.c.recipient, consents.c.brand_code, consents.c.type, consents.c.recipient_type
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        StoredConsent(
            id=0,
            account_id=row.account_id,
            brand_code=row.brand_code,
            consent=Consent(
                row.recipient,
                row.recipient_type,
                row.type,
                row.status,
                row.source,
                int(row.consent_date),
            ),
            recorded_at=int(row.recorded_at),
            origin="",
        )
        for row in conn.execute(query)
    ]


def count(conn: Connection, account_id: int) -> int:
    """How many records the account holds (its whole history)."""
    query = select(func.count()).where(consent_records.c.account_id == account_id)
    return int(conn.execute(query).scalar_one())
