"""Settings, read from ``ILETI_*`` environment variables (see docs/configuration.md).

Every setting has a default that runs ileti on one machine with an SQLite file; the
CLI's ``--database`` overrides ``ILETI_DATABASE_URL``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ileti import numbers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DATABASE_URL = "sqlite:///ileti.db"
DEFAULT_UNDELIVERED_NUMBERS = ("+905559990001",)
DEFAULT_PENDING_NUMBERS = ("+905559990002",)


class ConfigError(ValueError):
    """A setting has a value ileti cannot use."""


def parse_networks(values: list[str] | tuple[str, ...] | str) -> tuple[Network, ...]:
    """CIDRs (or single addresses) -> networks; raises ConfigError on a bad one."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(f"not an IP address or CIDR: {value!r}") from exc
    return tuple(networks)


def _number(env: Mapping[str, str], name: str, default: float, cast: type = float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def parse_test_numbers(name: str, values: str | tuple[str, ...]) -> tuple[str, ...]:
    """Comma- or space-separated Turkish mobiles -> E.164 strings; ConfigError on a bad one."""
    if isinstance(values, str):
        values = tuple(v for v in values.replace(",", " ").split() if v)
    out: list[str] = []
    for value in values:
        e164 = numbers.normalize(value)
        if e164 is None:
            raise ConfigError(f"{name}: not a Turkish mobile number: {value!r}")
        out.append(e164)
    return tuple(out)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def _admin_token(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) < 16 or any(c.isspace() for c in value):
        raise ConfigError("ILETI_ADMIN_TOKEN must be at least 16 characters, without spaces")
    return value


def _redis_prefix(raw: str | None) -> str:
    value = (raw or "").strip() or "ileti"
    if value.startswith(":") or value.endswith(":") or any(c.isspace() for c in value):
        raise ConfigError(f"ILETI_REDIS_PREFIX must not start or end with ':', got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    #: Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the peer address is
    #: the client address.
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    #: Largest request body accepted, in bytes; larger gets 400.
    max_body_bytes: int = 1024 * 1024
    #: Largest send-sms body (up to 50,000 recipients), in bytes.
    max_send_body_bytes: int = 8 * 1024 * 1024
    #: send-sms recipients per second per account, unless the account sets its own
    #: (0: no limit for accounts without their own).
    rate_limit: int = 100
    #: Recipients an idle account may send at once (one maximal request by default).
    rate_limit_burst: int = 50_000
    #: Redis holding the rate limits shared by all instances; None: the database.
    redis_url: str | None = None
    #: Prefix of every Redis key ileti writes.
    redis_prefix: str = "ileti"
    #: How often each instance checks the database for account changes made
    #: elsewhere (another instance, the CLI), in seconds.
    auth_refresh_seconds: float = 0.5
    #: How long the durable writer lingers for more writes before a commit, in
    #: seconds (0: commit whatever arrived while the previous commit ran).
    write_linger_seconds: float = 0.0
    #: Largest number of writes in one transaction.
    write_batch_max: int = 512
    #: Database connections for reads, per instance.
    read_pool_size: int = 4
    access_log: bool = False
    log_level: str = "info"
    #: Bearer token of the admin views (the sandbox outbox); None: they are off. Never
    #: shown in a repr or a log.
    admin_token: str | None = field(default=None, repr=False)
    #: Seconds between dispatch and the simulated carrier's final status.
    delivery_delay_seconds: float = 2.0
    #: How often each instance looks for due orders, messages and webhooks, in seconds.
    delivery_poll_seconds: float = 0.2
    #: Recipients the simulated carrier never delivers (status 112) / never finishes (110).
    undelivered_numbers: tuple[str, ...] = DEFAULT_UNDELIVERED_NUMBERS
    pending_numbers: tuple[str, ...] = DEFAULT_PENDING_NUMBERS
    #: One webhook POST may take this long, in seconds.
    webhook_timeout_seconds: float = 5.0
    #: Attempts per webhook before giving up.
    webhook_attempts: int = 8
    #: Wait before the first retry of a webhook, doubled for each further retry (seconds).
    webhook_backoff_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            database_url=env.get("ILETI_DATABASE_URL") or DEFAULT_DATABASE_URL,
            trusted_proxies=parse_networks(env.get("ILETI_TRUSTED_PROXIES", "")),
            max_body_bytes=int(_number(env, "ILETI_MAX_BODY_BYTES", 1024 * 1024, int)),
            max_send_body_bytes=int(
                _number(env, "ILETI_MAX_SEND_BODY_BYTES", 8 * 1024 * 1024, int)
            ),
            rate_limit=int(_number(env, "ILETI_RATE_LIMIT", 100, int)),
            rate_limit_burst=max(1, int(_number(env, "ILETI_RATE_LIMIT_BURST", 50_000, int))),
            redis_url=(env.get("ILETI_REDIS_URL") or "").strip() or None,
            redis_prefix=_redis_prefix(env.get("ILETI_REDIS_PREFIX")),
            auth_refresh_seconds=_number(env, "ILETI_AUTH_REFRESH_SECONDS", 0.5),
            write_linger_seconds=_number(env, "ILETI_WRITE_LINGER_SECONDS", 0.0),
            write_batch_max=max(1, int(_number(env, "ILETI_WRITE_BATCH_MAX", 512, int))),
            read_pool_size=max(1, int(_number(env, "ILETI_READ_POOL_SIZE", 4, int))),
            access_log=_flag(env, "ILETI_ACCESS_LOG", False),
            log_level=(env.get("ILETI_LOG_LEVEL") or "info").lower(),
            admin_token=_admin_token(env.get("ILETI_ADMIN_TOKEN")),
            delivery_delay_seconds=_number(env, "ILETI_DELIVERY_DELAY", 2.0),
            delivery_poll_seconds=_number(env, "ILETI_DELIVERY_POLL_SECONDS", 0.2),
            undelivered_numbers=parse_test_numbers(
                "ILETI_UNDELIVERED_NUMBERS",
                env.get("ILETI_UNDELIVERED_NUMBERS", ",".join(DEFAULT_UNDELIVERED_NUMBERS)),
            ),
            pending_numbers=parse_test_numbers(
                "ILETI_PENDING_NUMBERS",
                env.get("ILETI_PENDING_NUMBERS", ",".join(DEFAULT_PENDING_NUMBERS)),
            ),
            webhook_timeout_seconds=_number(env, "ILETI_WEBHOOK_TIMEOUT_SECONDS", 5.0),
            webhook_attempts=max(1, int(_number(env, "ILETI_WEBHOOK_ATTEMPTS", 8, int))),
            webhook_backoff_seconds=_number(env, "ILETI_WEBHOOK_BACKOFF_SECONDS", 10.0),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **clean) if clean else settings  # type: ignore[arg-type]
