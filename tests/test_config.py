"""Settings: every ``ILETI_*`` value is checked at start and a bad one is refused with
one line naming its variable; unknown variables are warned about; secrets never show."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from ileti.config import ConfigError, Settings, mask_url, unknown_variables, variables

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
TOKEN = "s3cret-admin-token-0123456789"


def refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_are_the_fields() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///ileti.db"
    assert (settings.max_body_bytes, settings.max_send_body_bytes) == (1 << 20, 8 << 20)
    assert (settings.rate_limit, settings.rate_limit_burst) == (100, 50_000)
    assert (settings.read_pool_size, settings.write_batch_max) == (4, 512)
    assert settings.log_level == "info"
    assert settings.webhook_attempts == 8
    assert settings.undelivered_numbers == ("+905559990001",)
    assert settings.pending_numbers == ("+905559990002",)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "ILETI_LOG_LEVEL",
            "verbose",
            "ILETI_LOG_LEVEL must be one of critical, error, warning, info, debug, trace, "
            "got 'verbose'",
        ),
        (
            "ILETI_REDIS_URL",
            "http://x",
            "ILETI_REDIS_URL must start with redis://, rediss:// or unix://, got 'http://x'",
        ),
        (
            "ILETI_REDIS_URL",
            "redis://127.0.0.1:port/0",
            "ILETI_REDIS_URL has a bad port: 'redis://127.0.0.1:port/0'",
        ),
        (
            "ILETI_REDIS_URL",
            "redis://127.0.0.1/zero",
            "ILETI_REDIS_URL names database 'zero': a number is needed, e.g. /0",
        ),
        (
            "ILETI_MAX_BODY_BYTES",
            "0",
            "ILETI_MAX_BODY_BYTES must be at least 1024 (1 KiB), got 0",
        ),
        (
            "ILETI_MAX_BODY_BYTES",
            "1.5",
            "ILETI_MAX_BODY_BYTES must be a whole number, got '1.5'",
        ),
        (
            "ILETI_MAX_SEND_BODY_BYTES",
            "4096",
            "ILETI_MAX_SEND_BODY_BYTES must be at least ILETI_MAX_BODY_BYTES (1048576), got 4096",
        ),
        ("ILETI_WEBHOOK_ATTEMPTS", "0", "ILETI_WEBHOOK_ATTEMPTS must be at least 1, got 0"),
        ("ILETI_READ_POOL_SIZE", "0", "ILETI_READ_POOL_SIZE must be at least 1, got 0"),
        ("ILETI_WRITE_BATCH_MAX", "0", "ILETI_WRITE_BATCH_MAX must be at least 1, got 0"),
        ("ILETI_RATE_LIMIT_BURST", "0", "ILETI_RATE_LIMIT_BURST must be at least 1, got 0"),
        ("ILETI_RATE_LIMIT", "-1", "ILETI_RATE_LIMIT must be at least 0, got -1"),
        ("ILETI_RATE_LIMIT", "fast", "ILETI_RATE_LIMIT must be a whole number, got 'fast'"),
        (
            "ILETI_AUTH_REFRESH_SECONDS",
            "-0.5",
            "ILETI_AUTH_REFRESH_SECONDS must not be negative, got -0.5",
        ),
        (
            "ILETI_DELIVERY_DELAY",
            "soon",
            "ILETI_DELIVERY_DELAY must be a number of seconds, got 'soon'",
        ),
        (
            "ILETI_DELIVERY_POLL_SECONDS",
            "nan",
            "ILETI_DELIVERY_POLL_SECONDS must be a finite number of seconds, got nan",
        ),
        (
            "ILETI_WEBHOOK_BACKOFF_SECONDS",
            "86401",
            "ILETI_WEBHOOK_BACKOFF_SECONDS must be at most 86400 seconds, got 86401.0",
        ),
        (
            "ILETI_WRITE_LINGER_SECONDS",
            "5",
            "ILETI_WRITE_LINGER_SECONDS must be at most 1 seconds, got 5.0",
        ),
        (
            "ILETI_WEBHOOK_TIMEOUT_SECONDS",
            "0",
            "ILETI_WEBHOOK_TIMEOUT_SECONDS must be more than 0 seconds, got 0.0",
        ),
        ("ILETI_ACCESS_LOG", "maybe", "ILETI_ACCESS_LOG must be on or off, got 'maybe'"),
        (
            "ILETI_DATABASE_URL",
            "mysql://root@localhost/ileti",
            "ILETI_DATABASE_URL must start with sqlite:/// or postgresql:// (or postgres://), "
            "got 'mysql://root@localhost/ileti'",
        ),
        (
            "ILETI_DATABASE_URL",
            "sqlite://ileti.db",
            "ILETI_DATABASE_URL needs a file: sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db, got 'sqlite://ileti.db'",
        ),
        (
            "ILETI_DATABASE_URL",
            "sqlite:///:memory:",
            "ILETI_DATABASE_URL needs a file: sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db, got 'sqlite:///:memory:'",
        ),
        (
            "ILETI_DATABASE_URL",
            "postgresql://root@localhost:54x/ileti",
            "ILETI_DATABASE_URL has a bad port: 'postgresql://root@localhost:54x/ileti'",
        ),
        (
            "ILETI_TRUSTED_PROXIES",
            "10.0.0.0/8, proxy.local",
            "ILETI_TRUSTED_PROXIES: not an IP address or CIDR: 'proxy.local'",
        ),
        (
            "ILETI_UNDELIVERED_NUMBERS",
            "+4915112345678",
            "ILETI_UNDELIVERED_NUMBERS: not a Turkish mobile number: '+4915112345678'",
        ),
        (
            "ILETI_PENDING_NUMBERS",
            "05559990001",
            "ILETI_PENDING_NUMBERS and ILETI_UNDELIVERED_NUMBERS both name +905559990001",
        ),
        (
            "ILETI_REDIS_PREFIX",
            "ileti:",
            "ILETI_REDIS_PREFIX must be a name without spaces, not starting or ending "
            "with ':', got 'ileti:'",
        ),
        (
            "ILETI_ADMIN_TOKEN",
            "short",
            "ILETI_ADMIN_TOKEN must be at least 16 characters, without spaces",
        ),
    ],
)
def test_bad_value_refused(variable: str, value: str, message: str) -> None:
    assert refused({variable: value}) == message


@pytest.mark.parametrize(
    ("variable", "value", "name", "expected"),
    [
        ("ILETI_LOG_LEVEL", "TRACE", "log_level", "trace"),
        ("ILETI_LOG_LEVEL", " Warning ", "log_level", "warning"),
        ("ILETI_REDIS_URL", "rediss://:pw@cache:6380/2", "redis_url", "rediss://:pw@cache:6380/2"),
        (
            "ILETI_REDIS_URL",
            "unix:///run/redis.sock?db=1",
            "redis_url",
            "unix:///run/redis.sock?db=1",
        ),
        ("ILETI_REDIS_URL", "  ", "redis_url", None),
        ("ILETI_DATABASE_URL", "postgres://u@db/ileti", "database_url", "postgres://u@db/ileti"),
        (
            "ILETI_DATABASE_URL",
            "sqlite:////var/lib/x.db",
            "database_url",
            "sqlite:////var/lib/x.db",
        ),
        ("ILETI_DATABASE_URL", "", "database_url", "sqlite:///ileti.db"),
        ("ILETI_MAX_BODY_BYTES", "1024", "max_body_bytes", 1024),
        ("ILETI_MAX_BODY_BYTES", "", "max_body_bytes", 1 << 20),
        ("ILETI_RATE_LIMIT", "0", "rate_limit", 0),
        ("ILETI_AUTH_REFRESH_SECONDS", "0", "auth_refresh_seconds", 0.0),
        ("ILETI_DELIVERY_DELAY", "0.25", "delivery_delay_seconds", 0.25),
        ("ILETI_WRITE_LINGER_SECONDS", "0.001", "write_linger_seconds", 0.001),
        ("ILETI_ACCESS_LOG", "ON", "access_log", True),
        ("ILETI_UNDELIVERED_NUMBERS", "", "undelivered_numbers", ()),
        (
            "ILETI_UNDELIVERED_NUMBERS",
            "0533-000-00-01, 5330000002",
            "undelivered_numbers",
            ("+905330000001", "+905330000002"),
        ),
        (
            "ILETI_TRUSTED_PROXIES",
            "10.0.0.0/8 ::1",
            "trusted_proxies",
            (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")),
        ),
    ],
)
def test_good_value_read(variable: str, value: str, name: str, expected: Any) -> None:
    assert getattr(Settings.from_env({variable: value}), name) == expected


def test_direct_construction_is_checked() -> None:
    # As the tests and embedders build them.
    made = Settings(database_url="sqlite:///x.db", auth_refresh_seconds=0.1)
    assert made.auth_refresh_seconds == 0.1
    cases: list[tuple[dict[str, Any], str]] = [
        ({"read_pool_size": 0}, "ILETI_READ_POOL_SIZE must be at least 1, got 0"),
        ({"log_level": "INFO"}, "ILETI_LOG_LEVEL must be one of critical, error, warning"),
        ({"webhook_attempts": 2.5}, "ILETI_WEBHOOK_ATTEMPTS must be a whole number, got 2.5"),
        ({"pending_numbers": ("05330000001",)}, "ILETI_PENDING_NUMBERS needs Turkish mobiles"),
        ({"trusted_proxies": ("10.0.0.0/8",)}, "ILETI_TRUSTED_PROXIES must be a tuple of"),
    ]
    for values, message in cases:
        with pytest.raises(ConfigError) as caught:
            Settings(**values)
        assert str(caught.value).startswith(message), caught.value


def test_error_names_its_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ILETI_WRITE_BATCH_MAX": "0"})
    assert caught.value.variable == "ILETI_WRITE_BATCH_MAX"


def test_override_wins_and_its_variable_is_not_read() -> None:
    made = Settings.from_env(
        {"ILETI_DATABASE_URL": "mysql://nope", "ILETI_RATE_LIMIT": "7"},
        database_url="sqlite:///other.db",
        redis_url=None,  # None: not an override
    )
    assert (made.database_url, made.rate_limit, made.redis_url) == ("sqlite:///other.db", 7, None)


def test_unknown_variables_warned_with_the_closest_setting() -> None:
    env = {
        "ILETI_RATE_LIMT": "50",
        "ILETI_DELIVERY_DELAY_SECONDS": "1",
        "ILETI_NONSENSE": "1",
        "ILETI_RATE_LIMIT": "50",  # known
        "ILETI_TEST_POSTGRES_URL": "postgresql://x",  # the test suite's own
        "RATE_LIMT": "1",  # not ileti's
    }
    assert unknown_variables(env) == [
        "warning: unknown setting ILETI_DELIVERY_DELAY_SECONDS "
        "(did you mean ILETI_DELIVERY_DELAY?)",
        "warning: unknown setting ILETI_NONSENSE",
        "warning: unknown setting ILETI_RATE_LIMT (did you mean ILETI_RATE_LIMIT?)",
    ]
    assert unknown_variables({name: "" for name in variables()}) == []


def test_secrets_masked_in_repr_and_str() -> None:
    made = Settings(
        database_url="postgresql://ileti:db-pass-1@db.local:5432/ileti",
        redis_url="redis://user:redis-pass-2@cache:6379/0",
        admin_token=TOKEN,
    )
    assert repr(made) == str(made)
    assert "db-pass-1" not in repr(made)
    assert "redis-pass-2" not in repr(made)
    assert TOKEN not in repr(made)
    assert "database_url='postgresql://ileti:***@db.local:5432/ileti'" in repr(made)
    assert "redis_url='redis://user:***@cache:6379/0'" in repr(made)
    assert "admin_token='***'" in repr(made)
    masked = made.masked()
    assert masked["database_url"] == "postgresql://ileti:***@db.local:5432/ileti"
    assert masked["redis_url"] == "redis://user:***@cache:6379/0"
    assert masked["admin_token"] == "***"
    assert masked["rate_limit"] == 100
    assert made.database_url.endswith(":db-pass-1@db.local:5432/ileti")  # still usable


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p@ss/w0rd@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://u@h/db?password=pw&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("unix://:pw@/run/redis.sock", "unix://:***@/run/redis.sock"),
        ("sqlite:///ileti.db", "sqlite:///ileti.db"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_refusal_never_shows_a_password() -> None:
    message = refused({"ILETI_DATABASE_URL": "mysql://root:hunter22@db/ileti"})
    assert "hunter22" not in message and "mysql://root:***@db/ileti" in message
    message = refused({"ILETI_REDIS_URL": "http://:hunter22@cache"})
    assert "hunter22" not in message
    assert "hunter22" not in refused({"ILETI_ADMIN_TOKEN": "hunter22 hunter22"})


def documented_default(value: Any) -> str:
    """How docs/configuration.md writes a default."""
    if value is None:
        return "*(unset)*"
    if value == ():
        return "*(empty)*"
    if isinstance(value, bool):
        return "`on`" if value else "`off`"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def test_docs_list_every_setting_with_its_default() -> None:
    rows = re.findall(r"^\| `(ILETI_\w+)` \| ([^|]+) \|", DOCS.read_text(), re.M)
    documented = dict(rows)
    assert sorted(documented) == sorted(variables())
    defaults = Settings()
    for f in fields(Settings):
        cell = documented[f.metadata["variable"]]
        assert cell.startswith(documented_default(getattr(defaults, f.name))), (f.name, cell)
