"""The one schema, for SQLite and PostgreSQL alike. Migrations create it; code reads it.

Times are integers: microseconds since the Unix epoch, UTC. Numbers are stored as the
integer ``905XXXXXXXXX`` (compact, and ordered like their E.164 text).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy import false as sa_false

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
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Sending settings (migration 0002).
    # Micro-TRY per SMS credit: get-balance's amount = balance * unit_price.
    Column("unit_price", BigInteger, nullable=False, server_default="0"),
    # İYS brand code; iys=1 needs one.
    Column("brand_code", String(64), nullable=True),
    # The only number sender APITEST may send to (905XXXXXXXXX).
    Column("test_number", BigInteger, nullable=True),
    # Where delivery reports are POSTed.
    Column("webhook_url", Text, nullable=True),
    # Enforce the documented rules the live service relaxes (468, 457 with seconds).
    Column("strict", Boolean, nullable=False, server_default=sa_false()),
    # Recipients per second for send-sms; NULL: the server's default.
    Column("rate_limit", Integer, nullable=True),
    # The sandbox's steering (migration 0007): the short code inbound opt-outs are sent
    # to; how messages progress: delay | polls | manual, and after how many seconds or
    # polls (NULL: the server's ILETI_DELIVERY_DELAY).
    Column("short_code", String(16), nullable=True),
    Column("delivery", String(16), nullable=True),
    Column("delivery_after", Float, nullable=True),
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

# An account's blacklist count and version (migration 0005), striped: each writer
# process adds to its own row, so writers in several processes do not queue on one row.
# The count is the sum of the account's rows; so is the version, bumped by every change
# to the account's list (deep get-blacklist pages use bookmarks cached per version).
blacklist_counters = Table(
    "blacklist_counters",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("stripe", Integer, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
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

# -- sending (migration 0002) ---------------------------------------------------------

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sender", String(16), nullable=False),
    Column("iys", Boolean, nullable=False),
    Column("iys_list", String(16), nullable=True),
    Column("submit_at", BigInteger, nullable=False),
    # When the order goes to the carrier: submit_at, or the scheduled time.
    Column("send_at", BigInteger, nullable=False),
    Column("scheduled", Boolean, nullable=False),
    Column("dispatched", Boolean, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("total", Integer, nullable=False),
    # Credits charged (refunded on cancel).
    Column("price", BigInteger, nullable=False),
    # SHA-256 over sender, texts and the recipient set: the 451 duplicate check.
    Column("fingerprint", String(64), nullable=False),
    # get-report polls of this order (delivery mode "polls", migration 0007).
    Column("polls", Integer, nullable=False, server_default="0"),
    # Forwarded to the account's upstream instead of the simulated carrier (migration
    # 0013); why the upstream refused it (its code and message), when it did.
    Column("relay", Boolean, nullable=False, server_default=sa_false()),
    Column("relay_error", Text, nullable=True),
    Index("ix_orders_account_submit", "account_id", "submit_at"),
    Index("ix_orders_account_fingerprint", "account_id", "fingerprint", "submit_at"),
    Index("ix_orders_due", "dispatched", "cancelled", "send_at"),
)

order_texts = Table(
    "order_texts",
    metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("parts", Integer, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("text_idx", Integer, nullable=False),
    # E.164 for a valid number; the recipient as given for an invalid one.
    Column("recipient", String(64), nullable=False),
    Column("status", Integer, nullable=False),  # 110, 111, 112
    # Why a message was not sent: blacklisted, invalid, cancelled, undelivered.
    Column("reason", String(16), nullable=True),
    Column("charged", Boolean, nullable=False),
    # When the simulated carrier acts on it next; NULL once final.
    Column("due_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_messages_order_status", "order_id", "status"),
    Index("ix_messages_order_id", "order_id", "id"),
    Index("ix_messages_due", "due_at"),
    Index("ix_messages_account", "account_id", "id"),
    # Outbox search by recipient, newest first (migration 0006).
    Index("ix_messages_recipient", "recipient", "id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    # NULL once delivered or given up.
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_webhooks_next", "next_attempt_at"),
    Index("ix_webhooks_message", "message_id"),
    Index("ix_webhooks_account", "account_id", "id"),
)

# One row per attempt to POST a webhook, written as the attempt completes: when, its
# error (NULL: delivered), the receiver's HTTP status (NULL: no answer) and the start
# of a non-2xx answer's body (at most a few KiB, as text).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "webhook_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhooks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", BigInteger, nullable=False),
    Column("error", Text, nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("reply", Text, nullable=True),
    Index("ix_webhook_attempts_webhook", "webhook_id", "id"),
)

# -- rate limits (migration 0003) -----------------------------------------------------

# One row per account that has sent: the send-sms rate limit as GCRA (a token bucket
# kept as one time). ``tat`` is the theoretical arrival time in microseconds: the
# account may send ``cost`` recipients now if ``max(tat, now) + cost * interval -
# burst * interval <= now``, and ``tat`` then moves on by ``cost * interval``.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tat", BigInteger, nullable=False),
)

# -- the sandbox's steering (migration 0007) -------------------------------------------

# Rules that make ileti misbehave on purpose (see the migration's docstring): per account,
# or global when account_id is NULL.
faults = Table(
    "faults",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(16), nullable=False),  # api | recipient | webhook
    Column("action", String(32), nullable=True),  # api: a v1 action; NULL: every one
    Column("code", Integer, nullable=True),  # api: a documented code; recipient: 112 | 110;
    # webhook: the HTTP status the receiver "answers"
    Column("pattern", String(64), nullable=True),  # recipient: which recipients
    Column("remaining", Integer, nullable=True),  # the next N matches; NULL: all
    Column("probability", Float, nullable=True),  # NULL: always
    Column("latency_ms", Integer, nullable=True),  # api: added before answering
    Column("timeout", Boolean, nullable=False, server_default=sa_false()),  # webhook
    Column("expires_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_faults_account_id", "account_id"),
)

# Inbound messages to an account's short code (an opt-out keyword blacklists the sender).
inbound = Table(
    "inbound",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("sender", String(64), nullable=False),  # E.164, or as written when invalid
    Column("recipient", String(16), nullable=False),  # the short code written
    Column("text", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("action", String(16), nullable=True),  # blacklisted | NULL
    Index("ix_inbound_account_id", "account_id", "id"),
)

# -- the readiness check's write probe (migration 0009) ---------------------------------

# Each instance's last probe: one row per instance, replaced by every probe. The padding
# is larger than a database page, so a probe needs fresh space as real writes do (a full
# disk or database fails it, not only an unreachable one).
health_probes = Table(
    "health_probes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("instance", String(32), nullable=False),
    Column("probed_at", BigInteger, nullable=False),
    Column("padding", LargeBinary, nullable=False),
)

# -- the panel's users and sessions (migration 0011) -------------------------------------

# A person who logs in to the panel: an admin sees every account; a user only theirs.
# The password is kept as its argon2id hash (the encoded form, with its parameters).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Lowercase; compared as stored.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    Column("admin", Boolean, nullable=False, server_default=sa_false()),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_users_account_id", "account_id"),
)

# A logged-in browser. The cookie carries a random token; only its SHA-256 is kept, so a
# copy of the database opens no session. Logout, a password change and the user's
# deletion end it. ``account_id`` is the account an admin is looking at.
panel_sessions = Table(
    "panel_sessions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("token_sha256", LargeBinary(32), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_panel_sessions_user_id", "user_id"),
)

# -- İYS consent (migration 0012) ----------------------------------------------------------

# Every consent record of an account, as uploaded (consent/create, the CLI) or recorded
# by the registry (a RET texted to 3338): the history of each (brand, recipient,
# recipient type, type). Phone recipients are E.164 text, e-mail addresses as
# normalised. ``consent_date`` is microseconds (UTC); ``origin`` says how it came: api,
# cli, import, inbound.
consent_records = Table(
    "consent_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("brand_code", String(64), nullable=False),
    Column("recipient", String(265), nullable=False),
    Column("recipient_type", String(8), nullable=False),  # BIREYSEL | TACIR
    Column("type", String(8), nullable=False),  # MESAJ | ARAMA | EPOSTA
    Column("status", String(4), nullable=False),  # ONAY | RET
    # HS_* (uploaded) or IYS_KISAMESAJ (texted to 3338); NULL: a TACIR record without one.
    Column("source", String(32), nullable=True),
    # A TACIR record without a consentDate is dated when it was recorded.
    Column("consent_date", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("origin", String(16), nullable=False),
    # One recipient's history, newest first; search by recipient (the panel).
    Index("ix_consent_records_account_recipient", "account_id", "recipient", "id"),
)

# The latest record of each (account, brand, type, recipient type, recipient): what
# consent/show answers and send-sms with iys=1 looks up (one query for a whole order).
consents = Table(
    "consents",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("brand_code", String(64), primary_key=True),
    Column("type", String(8), primary_key=True),
    Column("recipient_type", String(8), primary_key=True),
    Column("recipient", String(265), primary_key=True),
    Column("status", String(4), nullable=False),
    Column("source", String(32), nullable=True),
    Column("consent_date", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    # A phone recipient as the integer 905XXXXXXXXX (NULL for an e-mail address): send-sms
    # looks 50,000 of them up by this index, integers compared, not text.
    Column("number", BigInteger, nullable=True),
    Index(
        "ix_consents_number",
        "account_id",
        "number",
        "brand_code",
        "type",
        "recipient_type",
        "status",
    ),
    sqlite_with_rowid=False,
)

# -- the relay (migration 0013) --------------------------------------------------------------

# An account's upstream: the real iletiMerkezi account its orders are forwarded to (mode
# "relay") or released to by hand (mode "sandbox"). The upstream hash is kept sealed
# (ileti/vault.py, ILETI_SECRET_KEY), never in plain form. ``release_numbers``: JSON
# array of E.164 numbers a released sandbox order may reach. ``checked_at`` /
# ``last_error``: the last test call (get-balance) and the last failure of the relay
# (NULL: none), shown in the panel.
upstreams = Table(
    "upstreams",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("base_url", Text, nullable=False),
    Column("key", String(64), nullable=False),
    Column("hash_sealed", Text, nullable=False),
    Column("mode", String(8), nullable=False),  # sandbox | relay
    Column("blacklist_sync", Boolean, nullable=False, server_default=sa_false()),
    Column("release_numbers", Text, nullable=False, server_default="[]"),
    Column("checked_at", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", BigInteger, nullable=True),
    # The upstream blacklist was last imported up to this time (blacklist sync).
    Column("blacklist_synced_at", BigInteger, nullable=True),
    # Blacklist sync: the instance that claimed the account's changes and import holds
    # it until then; after a failure, nothing is tried before then.
    Column("blacklist_lease_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# One upstream send-sms request: the recipients of one text of an order (relayed, or
# released from the sandbox), at most ILETI_RELAY_BATCH_SIZE of them. Written in the
# order's own transaction (relay) or the release's; the relay worker claims it, records
# the intent (``state`` "sending", ``intent_at``) durably before calling, then the
# outcome. A batch found "sending" with its lease run out, or ``uncertain`` (a call whose
# answer never came), is reconciled with the upstream's reports before any new call.
relay_batches = Table(
    "relay_batches",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # relay | release
    Column("text_idx", Integer, nullable=False),
    # JSON array of E.164 recipients, in the order sent.
    Column("numbers", Text, nullable=False),
    Column("size", Integer, nullable=False),
    # pending | sending | sent | done | failed | cancelled
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # When the worker acts on it next: send, retry, or poll the upstream's report.
    Column("due_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
    Column("intent_at", BigInteger, nullable=True),
    Column("uncertain", Boolean, nullable=False, server_default=sa_false()),
    # Past it, a batch still refused with 429/503 or unanswered is failed.
    Column("deadline_at", BigInteger, nullable=False),
    Column("upstream_id", String(32), nullable=True),
    Column("upstream_status", Integer, nullable=True),
    # The upstream's (or the transport's) last refusal: its code and message.
    Column("error_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("sent_at", BigInteger, nullable=True),
    Column("polls", Integer, nullable=False, server_default="0"),
    # Released batches: the upstream's counts, last polled.
    Column("delivered", Integer, nullable=False, server_default="0"),
    Column("undelivered", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_relay_batches_state_due", "state", "due_at"),
    Index("ix_relay_batches_order", "order_id", "id"),
    Index("ix_relay_batches_upstream", "upstream_id"),
)

# Blacklist changes of a syncing account still to be mirrored upstream (add / delete),
# written in the same transaction as the local change; deleted once the upstream took it.
# Sent in ``id`` order per number; ``due_at`` 0 for a new change (due at once), later
# after a failed call; ``error``: the upstream's last refusal or failure.
relay_blacklist = Table(
    "relay_blacklist",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("op", String(8), nullable=False),  # add | delete
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", BigInteger, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_relay_blacklist_account", "account_id", "id"),
    Index("ix_relay_blacklist_number", "account_id", "number", "id"),
)
