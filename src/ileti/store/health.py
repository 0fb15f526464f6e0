"""The readiness check's write probe (``services/health.py`` decides what it means).

A probe inserts a new row for its instance and deletes the instance's older ones (and
rows of instances gone for an hour). The new row's padding is larger than a page, so
the insert needs space that is not in use: on SQLite the pages its previous probe freed,
or new ones. When real writes have taken every free page and the database or the disk
cannot grow, the probe fails as they do (``SQLITE_FULL``), not only when the database is
unreachable or read-only.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, delete, insert, or_

from ileti.clock import SECOND
from ileti.store.schema import health_probes

#: Bytes of padding: more than a default page (4 KiB), so the row needs a page of its own.
PADDING = 4096
#: Rows of an instance that has not probed for this long are deleted by any probe.
STALE_US = 3600 * SECOND


def probe(conn: Connection, instance: str, now: int) -> None:
    """One durable write that needs fresh space (run in the writer's transaction)."""
    new_id = conn.execute(
        insert(health_probes)
        .values(instance=instance, probed_at=now, padding=os.urandom(PADDING))
        .returning(health_probes.c.id)
    ).scalar_one()
    conn.execute(
        delete(health_probes).where(
            health_probes.c.id != new_id,
            or_(health_probes.c.instance == instance, health_probes.c.probed_at < now - STALE_US),
        )
    )
