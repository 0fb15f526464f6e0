"""Settings, read from ``ILETI_*`` environment variables (see docs/configuration.md).

Each setting is one field of :class:`Settings`, and that field says everything about
it: its default, its variable, how the variable's text is read and which values are
allowed. Every value is checked when Settings are made (from the environment or
directly), so a value ileti cannot use stops it at start with a one-line
:class:`ConfigError` naming the variable. The CLI's ``--database`` overrides
``ILETI_DATABASE_URL``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ileti import networks, numbers
from ileti.networks import Network

#: Logging levels by name (``trace`` is uvicorn's, below ``debug``).
LOG_LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}
#: Schemes of ILETI_DATABASE_URL (``postgres://`` and ``postgresql+psycopg://`` are
#: ``postgresql://``).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
#: Variables with this prefix belong to the test suite, not to ileti.
TEST_PREFIX = "ILETI_TEST_"
#: Variables of ``ileti send`` and ``ileti report`` (the client's credentials), not settings.
CLIENT_VARIABLES = ("ILETI_KEY", "ILETI_HASH", "ILETI_SECRET", "ILETI_BASE_URL")
DAY_SECONDS = 86_400.0
KIB = 1024
MASK = "***"


class ConfigError(ValueError):
    """A setting has a value ileti cannot use. ``str()`` is a one-line message;
    ``variable`` names the setting's variable when the message starts with it."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def _refuse(variable: str, problem: str) -> ConfigError:
    return ConfigError(f"{variable} {problem}", variable)


# -- public parsers (also used for account settings) --------------------------------


def parse_networks(values: list[str] | tuple[str, ...] | str) -> tuple[Network, ...]:
    """CIDRs (or single addresses) -> networks; raises ConfigError on a bad one."""
    try:
        return networks.parse_networks(values)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def parse_test_numbers(name: str, values: str | tuple[str, ...]) -> tuple[str, ...]:
    """Comma- or space-separated Turkish mobiles -> E.164 strings; ConfigError on a bad one."""
    if isinstance(values, str):
        values = tuple(v for v in values.replace(",", " ").split() if v)
    out: list[str] = []
    for value in values:
        e164 = numbers.normalize(value)
        if e164 is None:
            raise ConfigError(f"{name}: not a Turkish mobile number: {value!r}", name)
        out.append(e164)
    return tuple(out)


def mask_url(url: str) -> str:
    """The URL with its password (``user:PASSWORD@``, ``?password=``) replaced by ***.

    The password is taken to run from the user's ``:`` to the last ``@``: a password
    with an unescaped ``@`` or ``/`` is hidden whole (more may be hidden, never less).
    """
    url = re.sub(r"^([^:/?#]+://[^:/@]*:).*@", rf"\g<1>{MASK}@", url)
    return re.sub(r"(?i)([?&]password=)[^&]*", rf"\g<1>{MASK}", url)


# -- reading a variable's text: None means "the default" ---------------------------


def _read_text(_variable: str, raw: str) -> str | None:
    return raw.strip() or None


def _read_lower(_variable: str, raw: str) -> str | None:
    return raw.strip().lower() or None


def _read_whole(variable: str, raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise _refuse(variable, f"must be a whole number, got {raw!r}") from None


def _read_seconds(variable: str, raw: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise _refuse(variable, f"must be a number of seconds, got {raw!r}") from None


def _read_switch(variable: str, raw: str) -> bool | None:
    lowered = raw.strip().lower()
    if not lowered:
        return None
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _refuse(variable, f"must be on or off, got {raw!r}")


def _read_networks(variable: str, raw: str) -> tuple[Network, ...]:
    try:
        return parse_networks(raw)
    except ConfigError as exc:
        raise ConfigError(f"{variable}: {exc}", variable) from None


def _read_numbers(variable: str, raw: str) -> tuple[str, ...]:
    return parse_test_numbers(variable, raw)


# -- checking a value -------------------------------------------------------------


Check = Callable[[str, Any], None]


def _whole(minimum: int, note: str = "") -> Check:
    def check(variable: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _refuse(variable, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise _refuse(variable, f"must be at least {minimum}{note}, got {value}")

    return check


def _seconds(*, positive: bool = False, maximum: float = DAY_SECONDS) -> Check:
    def check(variable: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _refuse(variable, f"must be a number of seconds, got {value!r}")
        if not math.isfinite(value):
            raise _refuse(variable, f"must be a finite number of seconds, got {value}")
        if positive and value <= 0:
            raise _refuse(variable, f"must be more than 0 seconds, got {value}")
        if value < 0:
            raise _refuse(variable, f"must not be negative, got {value}")
        if value > maximum:
            raise _refuse(variable, f"must be at most {maximum:g} seconds, got {value}")

    return check


def _switch(variable: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _refuse(variable, f"must be on or off, got {value!r}")


def _log_level(variable: str, value: Any) -> None:
    if value not in LOG_LEVELS:
        raise _refuse(variable, f"must be one of {', '.join(LOG_LEVELS)}, got {value!r}")


def _database_url(variable: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _refuse(variable, f"must be a URL, got {value!r}")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES:
        raise _refuse(
            variable,
            "must start with sqlite:/// or postgresql:// (or postgres://), "
            f"got {mask_url(value)!r}",
        )
    if scheme == "sqlite":
        path = rest.partition("?")[0]
        if not path.startswith("/") or path[1:] in ("", ":memory:"):
            raise _refuse(
                variable,
                "needs a file: sqlite:///relative/path.db or sqlite:////absolute/path.db, "
                f"got {mask_url(value)!r}",
            )
        return
    _port(variable, value)


def _redis_url(variable: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _refuse(variable, f"must be a URL, got {value!r}")
    scheme, sep, _ = value.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        raise _refuse(
            variable,
            f"must start with redis://, rediss:// or unix://, got {mask_url(value)!r}",
        )
    if scheme == "unix":
        if not urlsplit(value).path:
            raise _refuse(
                variable,
                f"needs a socket path: unix:///path/to/redis.sock, got {mask_url(value)!r}",
            )
        return
    _port(variable, value)
    database = urlsplit(value).path.strip("/")
    if database and not database.isdigit():
        raise _refuse(variable, f"names database {database!r}: a number is needed, e.g. /0")


def _port(variable: str, url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        raise _refuse(variable, f"has a bad port: {mask_url(url)!r}") from None


def _redis_prefix(variable: str, value: Any) -> None:
    if (
        not isinstance(value, str)
        or not value
        or value.startswith(":")
        or value.endswith(":")
        or any(c.isspace() for c in value)
    ):
        raise _refuse(
            variable,
            f"must be a name without spaces, not starting or ending with ':', got {value!r}",
        )


def _admin_token(variable: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) < 16 or any(c.isspace() for c in value):
        # The value itself is never shown.
        raise _refuse(variable, "must be at least 16 characters, without spaces")


def _read_keys(variable: str, raw: str) -> tuple[str, ...] | None:
    keys = tuple(part.strip() for part in raw.split(","))
    return keys if any(keys) else None


def _secret_keys(variable: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise _refuse(variable, "must be secrets separated by commas")
    for key in value:
        # The value itself is never shown.
        if not isinstance(key, str) or len(key) < 32 or any(c.isspace() for c in key):
            raise _refuse(
                variable,
                "must be secrets of at least 32 characters without spaces, separated by "
                "commas (the first seals, every one opens)",
            )


def _batch_size(variable: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 50_000:
        raise _refuse(variable, f"must be a whole number from 1 to 50000, got {value!r}")


def _seed_file(variable: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _refuse(variable, f"must be the path of a file, got {value!r}")
    path = Path(value)
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise _refuse(variable, f"names {value!r}, which {problem}")


def _networks(variable: str, value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(n, Network) for n in value):
        raise _refuse(variable, f"must be a tuple of networks, got {value!r}")


def _test_numbers(variable: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise _refuse(variable, f"must be a tuple of numbers, got {value!r}")
    for number in value:
        if not isinstance(number, str) or numbers.normalize(number) != number:
            raise _refuse(variable, f"needs Turkish mobiles as +905XXXXXXXXX, got {number!r}")


# -- the settings -----------------------------------------------------------------


def _setting(default: Any, variable: str, read: Callable[[str, str], Any], check: Check) -> Any:
    return field(default=default, metadata={"variable": variable, "read": read, "check": check})


@dataclass(frozen=True, repr=False)
class Settings:
    database_url: str = _setting(
        "sqlite:///ileti.db", "ILETI_DATABASE_URL", _read_text, _database_url
    )
    #: Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the peer address is
    #: the client address.
    trusted_proxies: tuple[Network, ...] = _setting(
        (), "ILETI_TRUSTED_PROXIES", _read_networks, _networks
    )
    #: Largest request body accepted, in bytes; larger gets 400.
    max_body_bytes: int = _setting(
        1024 * KIB, "ILETI_MAX_BODY_BYTES", _read_whole, _whole(KIB, " (1 KiB)")
    )
    #: Largest send-sms body (up to 50,000 recipients), in bytes; at least max_body_bytes.
    max_send_body_bytes: int = _setting(
        8 * 1024 * KIB, "ILETI_MAX_SEND_BODY_BYTES", _read_whole, _whole(KIB, " (1 KiB)")
    )
    # -- the HTTP server's bounds (ileti/api/server.py), per worker process --
    #: Largest request line plus headers, in bytes; larger gets 431 and the connection closed.
    max_header_bytes: int = _setting(
        64 * KIB, "ILETI_MAX_HEADER_BYTES", _read_whole, _whole(KIB, " (1 KiB)")
    )
    #: A request's line and headers must arrive within this many seconds of the connection
    #: opening or of the previous answer; else 408 (or a plain close if nothing came).
    header_timeout_seconds: float = _setting(
        10.0, "ILETI_HEADER_TIMEOUT_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: A request's whole body must arrive within this many seconds of its headers; else 408.
    body_timeout_seconds: float = _setting(
        60.0, "ILETI_BODY_TIMEOUT_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: An idle keep-alive connection is closed after this many seconds.
    keepalive_seconds: float = _setting(
        5.0, "ILETI_KEEPALIVE_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: Open connections per worker process; past them a connection is answered 503.
    max_connections: int = _setting(1000, "ILETI_MAX_CONNECTIONS", _read_whole, _whole(1))
    #: On SIGTERM, in-flight requests have this many seconds to finish before they are cut.
    shutdown_seconds: float = _setting(
        10.0, "ILETI_SHUTDOWN_SECONDS", _read_seconds, _seconds(maximum=3600.0)
    )
    #: send-sms recipients per second per account, unless the account sets its own
    #: (0: no limit for accounts without their own).
    rate_limit: int = _setting(100, "ILETI_RATE_LIMIT", _read_whole, _whole(0))
    #: Recipients an idle account may send at once (one maximal request by default).
    rate_limit_burst: int = _setting(50_000, "ILETI_RATE_LIMIT_BURST", _read_whole, _whole(1))
    #: Redis holding the rate limits shared by all instances; None: the database.
    redis_url: str | None = _setting(None, "ILETI_REDIS_URL", _read_text, _redis_url)
    #: Prefix of every Redis key ileti writes.
    redis_prefix: str = _setting("ileti", "ILETI_REDIS_PREFIX", _read_text, _redis_prefix)
    #: How often each instance checks the database for account changes made
    #: elsewhere (another instance, the CLI), in seconds (0: never).
    auth_refresh_seconds: float = _setting(
        0.5, "ILETI_AUTH_REFRESH_SECONDS", _read_seconds, _seconds()
    )
    #: Authentication failures from one client address within the window before its
    #: requests are answered 429 until the window ends (0: never).
    auth_failure_limit: int = _setting(20, "ILETI_AUTH_FAILURE_LIMIT", _read_whole, _whole(0))
    #: The window of ILETI_AUTH_FAILURE_LIMIT, from an address's first failure, in seconds.
    auth_failure_window_seconds: float = _setting(
        60.0, "ILETI_AUTH_FAILURE_WINDOW_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: How long the durable writer lingers for more writes before a commit, in
    #: seconds (0: commit whatever arrived while the previous commit ran).
    write_linger_seconds: float = _setting(
        0.0, "ILETI_WRITE_LINGER_SECONDS", _read_seconds, _seconds(maximum=1.0)
    )
    #: Largest number of writes in one transaction.
    write_batch_max: int = _setting(512, "ILETI_WRITE_BATCH_MAX", _read_whole, _whole(1))
    #: Database connections for reads, per instance.
    read_pool_size: int = _setting(4, "ILETI_READ_POOL_SIZE", _read_whole, _whole(1))
    access_log: bool = _setting(False, "ILETI_ACCESS_LOG", _read_switch, _switch)
    log_level: str = _setting("info", "ILETI_LOG_LEVEL", _read_lower, _log_level)
    #: Bearer token of the admin views (the sandbox outbox); None: they are off. Never
    #: shown in a repr or a log.
    admin_token: str | None = _setting(None, "ILETI_ADMIN_TOKEN", _read_text, _admin_token)
    #: The sandbox control API under /_ileti/ (off: the prefix answers 404).
    control_api: bool = _setting(True, "ILETI_CONTROL_API", _read_switch, _switch)
    #: A state document (docs/sandbox.md) loaded as a seed at every start; None: none.
    seed: str | None = _setting(None, "ILETI_SEED", _read_text, _seed_file)
    #: The web panel under /panel/ (off: the prefix answers 404).
    panel: bool = _setting(True, "ILETI_PANEL", _read_switch, _switch)
    #: Failed panel logins, per e-mail address and per client address, within the
    #: window before further attempts are refused until it ends (0: never).
    login_failure_limit: int = _setting(5, "ILETI_LOGIN_FAILURE_LIMIT", _read_whole, _whole(0))
    #: The window of ILETI_LOGIN_FAILURE_LIMIT, from the first failure, in seconds.
    login_failure_window_seconds: float = _setting(
        900.0, "ILETI_LOGIN_FAILURE_WINDOW_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: How long a panel login lasts, in seconds.
    session_seconds: float = _setting(
        43_200.0,
        "ILETI_SESSION_SECONDS",
        _read_seconds,
        _seconds(positive=True, maximum=30 * DAY_SECONDS),
    )
    #: Seconds between dispatch and the simulated carrier's final status.
    delivery_delay_seconds: float = _setting(2.0, "ILETI_DELIVERY_DELAY", _read_seconds, _seconds())
    #: How often each instance looks for due orders, messages and webhooks, in seconds
    #: (0: this instance does no delivery).
    delivery_poll_seconds: float = _setting(
        0.2, "ILETI_DELIVERY_POLL_SECONDS", _read_seconds, _seconds()
    )
    #: Recipients the simulated carrier never delivers (status 112) / never finishes (110).
    undelivered_numbers: tuple[str, ...] = _setting(
        ("+905559990001",), "ILETI_UNDELIVERED_NUMBERS", _read_numbers, _test_numbers
    )
    pending_numbers: tuple[str, ...] = _setting(
        ("+905559990002",), "ILETI_PENDING_NUMBERS", _read_numbers, _test_numbers
    )
    #: One webhook POST may take this long, in seconds.
    webhook_timeout_seconds: float = _setting(
        5.0, "ILETI_WEBHOOK_TIMEOUT_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: Attempts per webhook before giving up.
    webhook_attempts: int = _setting(8, "ILETI_WEBHOOK_ATTEMPTS", _read_whole, _whole(1))
    #: Wait before the first retry of a webhook, doubled for each further retry (seconds).
    webhook_backoff_seconds: float = _setting(
        10.0, "ILETI_WEBHOOK_BACKOFF_SECONDS", _read_seconds, _seconds()
    )

    # -- the relay (docs/relay.md) --
    #: Secrets that seal the relay's upstream credentials at rest (comma-separated: the
    #: first seals, every one opens, so a key can be rotated). Empty: no account may
    #: have an upstream. Never shown in a repr or a log.
    secret_key: tuple[str, ...] = _setting((), "ILETI_SECRET_KEY", _read_keys, _secret_keys)
    #: How often each instance looks for orders to forward and reports to mirror, in
    #: seconds (0: this instance relays nothing). A send-sms of this instance wakes it.
    relay_poll_seconds: float = _setting(0.5, "ILETI_RELAY_POLL_SECONDS", _read_seconds, _seconds())
    #: One call to the upstream may take this long, in seconds.
    relay_timeout_seconds: float = _setting(
        30.0, "ILETI_RELAY_TIMEOUT_SECONDS", _read_seconds, _seconds(positive=True, maximum=600.0)
    )
    #: An order the upstream keeps answering 429 or 503 (or not at all) is failed (115)
    #: this many seconds after it was accepted.
    relay_deadline_seconds: float = _setting(
        300.0, "ILETI_RELAY_DEADLINE_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: Seconds between two get-report polls of one upstream order (the mirror's rate).
    relay_report_seconds: float = _setting(
        10.0, "ILETI_RELAY_REPORT_SECONDS", _read_seconds, _seconds(positive=True)
    )
    #: Recipients per upstream send-sms request (the provider's limit: 50,000).
    relay_batch_size: int = _setting(50_000, "ILETI_RELAY_BATCH_SIZE", _read_whole, _batch_size)
    #: Seconds between two imports of an account's upstream blacklist (blacklist sync).
    relay_blacklist_seconds: float = _setting(
        300.0, "ILETI_RELAY_BLACKLIST_SECONDS", _read_seconds, _seconds(positive=True)
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            f.metadata["check"](f.metadata["variable"], getattr(self, f.name))
        if self.max_send_body_bytes < self.max_body_bytes:
            raise _refuse(
                "ILETI_MAX_SEND_BODY_BYTES",
                f"must be at least ILETI_MAX_BODY_BYTES ({self.max_body_bytes}), "
                f"got {self.max_send_body_bytes}",
            )
        both = set(self.undelivered_numbers) & set(self.pending_numbers)
        if both:
            raise _refuse(
                "ILETI_PENDING_NUMBERS",
                f"and ILETI_UNDELIVERED_NUMBERS both name {', '.join(sorted(both))}",
            )

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.masked().items())
        return f"Settings({shown})"

    def masked(self) -> dict[str, Any]:
        """Every setting by field name, secrets masked: what may be printed or logged."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["database_url"] = mask_url(self.database_url)
        if self.redis_url is not None:
            values["redis_url"] = mask_url(self.redis_url)
        if self.admin_token is not None:
            values["admin_token"] = MASK
        if self.secret_key:
            values["secret_key"] = MASK
        return values

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``ILETI_*`` variables (default: the process environment); an
        override that is not None wins over its variable, which is then not read."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        for f in fields(cls):
            raw = env.get(f.metadata["variable"])
            if f.name in values or raw is None:
                continue
            value = f.metadata["read"](f.metadata["variable"], raw)
            if value is not None:
                values[f.name] = value
        return cls(**values)


def variables() -> tuple[str, ...]:
    """Every setting's variable, in the order of the fields."""
    return tuple(f.metadata["variable"] for f in fields(Settings))


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """One warning line per ``ILETI_*`` variable that is no setting (the test suite's
    ``ILETI_TEST_*`` and the client's credentials excepted), naming the closest setting
    when one is close."""
    env = os.environ if env is None else env
    known = variables()
    lines = []
    for name in sorted(env):
        if not name.startswith("ILETI_") or name in known or name.startswith(TEST_PREFIX):
            continue
        if name in CLIENT_VARIABLES:
            continue
        close = _closest(name, known)
        hint = f" (did you mean {close}?)" if close else ""
        lines.append(f"warning: unknown setting {name}{hint}")
    return lines


def _closest(name: str, known: tuple[str, ...]) -> str | None:
    """The setting ``name`` was most likely meant to be: of those close enough, one that
    begins ``name`` or that ``name`` begins (``ILETI_DELIVERY_DELAY_SECONDS``:
    ``ILETI_DELIVERY_DELAY``), else the closest."""
    suffixes = {k.removeprefix("ILETI_"): k for k in known}
    wanted = name.removeprefix("ILETI_")
    close = difflib.get_close_matches(wanted, suffixes, n=3, cutoff=0.7)
    related = [c for c in close if wanted.startswith(c) or c.startswith(wanted)]
    best = (related or close or [None])[0]
    return suffixes[best] if best else None
