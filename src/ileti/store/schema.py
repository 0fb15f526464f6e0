"""The one schema, for SQLite and PostgreSQL alike. Migrations create it; code reads it.

Times are integers: microseconds since the Unix epoch, UTC. Numbers are stored as the
integer ``905XXXXXXXXX`` (compact, and ordered like their E.164 text).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("key", String(32), nullable=False, unique=True),
    # SHA-256 of the lowercase hex API hash: the hash itself is never stored.
    Column("hash_sha256", String(64), nullable=False),
    Column("api_access", Boolean, nullable=False),
    # JSON array of CIDR strings; empty: any address.
    Column("allow_ips", Text, nullable=False),
    # JSON array of approved sender names.
    Column("senders", Text, nullable=False),
    # SMS credits.
    Column("balance", BigInteger, nullable=False),
    # Kept equal to the account's rows in ``blacklist`` by every write of the store.
    Column("blacklist_count", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

blacklist = Table(
    "blacklist",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("number", BigInteger, primary_key=True),
    Column("blocked_at", BigInteger, nullable=False),
    # Where the entry came from: api, cli, import (later: panel).
    Column("source", String(16), nullable=False),
    Index("ix_blacklist_account_blocked", "account_id", "blocked_at", "number"),
    sqlite_with_rowid=False,
)

# A version per topic, bumped in the same transaction as the change it announces, so
# that every instance can notice (by polling one row) that its caches are stale.
changes = Table(
    "changes",
    metadata,
    Column("topic", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

AUTH_TOPIC = "auth"
