"""Making what ileti logs safe to log: no credential, no message text, no number; and
what the ``ileti`` command prints safe to print on a terminal.

- :func:`visible`: a text with its control characters (and every other character
  ``str.isprintable`` refuses: C1 controls, bidirectional overrides, ...) and
  backslashes escaped (``\\x1b``, ``\\u202e``, ``\\\\``), so that a tenant's text can
  neither forge a log line nor drive the operator's terminal (clear it, retitle it);
- :func:`visible_json`: JSON whose strings carry those characters as ``\\uXXXX``
  escapes: the same value once decoded, nothing a terminal acts on when printed;
- :func:`printable`: a value from a client (an unknown key), cut short and made
  :func:`visible`, so that it cannot be a whole pasted secret either;
- :func:`safe_url`: a webhook URL without its ``user:password@``, query or fragment;
- :func:`redact_query`: a request target with the values of ``hash``, ``text`` and
  ``receipents`` replaced by ``***`` (the GET form of send-sms carries them);
- :func:`redact_access_log`: puts that redaction on uvicorn's access log;
- :func:`quiet_httpx`: drops httpx's own per-request lines (they print the whole URL,
  password included); the webhook sender logs each attempt itself;
- :func:`with_root_logger`: the logging configuration ``ileti serve`` hands uvicorn,
  so that ileti's own lines are shown by every worker process.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import unquote_plus, urlsplit

MASK = "***"

#: Query parameters whose values never reach a log: the permanent credential, and the
#: personal data (the message and its recipients) of the GET form of send-sms.
REDACTED_PARAMETERS = frozenset({"hash", "text", "receipents"})


def _escaped(char: str) -> str:
    if char.isprintable() and char != "\\":
        return char
    return char.encode("unicode_escape").decode("ascii")


def visible(text: str, *, backslashes: bool = True) -> str:
    """``text`` with each non-printable character escaped (``\\x1b``, ``\\u202e``), and
    each backslash (``\\\\``) unless ``backslashes`` is false (text that already holds
    escapes, such as a ``repr``)."""
    if text.isprintable() and (not backslashes or "\\" not in text):
        return text
    if backslashes:
        return "".join(map(_escaped, text))
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _json_escaped(char: str) -> str:
    return "".join(f"\\u{unit:04x}" for unit in _utf16_units(char))


def _utf16_units(char: str) -> tuple[int, ...]:
    code = ord(char)
    if code < 0x10000:
        return (code,)
    code -= 0x10000
    return (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def visible_json(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON (UTF-8 text kept as it is) in which every character a terminal
    could act on is a ``\\uXXXX`` escape; decoded, the very same value. (Outside its
    strings JSON holds nothing but printable ASCII and the newlines of ``indent``.)"""
    out = json.dumps(value, ensure_ascii=False, indent=indent)
    if out.replace("\n", "").isprintable():
        return out
    return "".join(c if c.isprintable() or c == "\n" else _json_escaped(c) for c in out)


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the full length noted when cut) and made
    :func:`visible`."""
    shown = visible(text[:limit])
    if len(text) > limit:
        shown += f"... ({len(text)} characters)"
    return shown


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no user, no password, no query, no
    fragment; non-printable characters escaped. A password holding an unescaped ``/``,
    ``?`` or ``#`` spills into what would pass for the port or the path: such a URL is
    not shown, nor a path with an ``@`` (more hidden, never less).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- ValueError: the port is not a number
    except ValueError:
        return "(a malformed URL)"
    host = parts.netloc.rpartition("@")[2]
    path = parts.path if "@" not in parts.path else "/..."
    return printable(f"{parts.scheme}://{host}{path}", 300)


def redact_query(target: str) -> str:
    """A request target (``/path?query``) with the value of every ``hash``, ``text`` and
    ``receipents`` parameter replaced by ``***``. Names are compared as the server
    reads them (percent-decoded), in any case."""
    path, question, query = target.partition("?")
    if not question:
        return target
    fields = []
    for field in query.split("&"):
        name, equals, _value = field.partition("=")
        if equals and unquote_plus(name).strip().lower() in REDACTED_PARAMETERS:
            field = f"{name}={MASK}"
        fields.append(field)
    return f"{path}?{'&'.join(fields)}"


class AccessLogRedaction(logging.Filter):
    """On ``uvicorn.access``: redacts the request target among the record's arguments
    (``client, method, target, http version, status``). Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "?" in a for a in args):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in args)
        return True


class DropInfo(logging.Filter):
    """Drops a logger's INFO records (httpx logs only its request lines at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.INFO


_ACCESS_REDACTION = AccessLogRedaction()
_DROP_INFO = DropInfo()


def redact_access_log() -> None:
    """Redact uvicorn's access log in this process (once; idempotent)."""
    logging.getLogger("uvicorn.access").addFilter(_ACCESS_REDACTION)


def quiet_httpx() -> None:
    """Drop httpx's per-request INFO lines in this process (once; idempotent)."""
    logging.getLogger("httpx").addFilter(_DROP_INFO)


#: ileti's log line: ``INFO ileti.auth: 401 for key ...``.
LINE_FORMAT = "%(levelname)s %(name)s: %(message)s"


def with_root_logger(uvicorn_config: dict[str, Any], level: int) -> dict[str, Any]:
    """uvicorn's logging configuration (for ``uvicorn.run(log_config=...)``) plus a
    root handler on standard error at ``level``. uvicorn applies it in every worker
    process, where nothing else configures logging: without it, ileti's own lines
    (``ileti.*``) from ``--workers N`` processes would be lost. Alembic's lines (its
    schema check when a worker starts) only from ``debug`` down."""
    config = copy.deepcopy(uvicorn_config)
    config.setdefault("formatters", {})["ileti"] = {"format": LINE_FORMAT}
    config.setdefault("handlers", {})["ileti"] = {
        "class": "logging.StreamHandler",
        "formatter": "ileti",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["ileti"], "level": level}
    loggers = config.setdefault("loggers", {})
    loggers["alembic"] = {"level": level if level <= logging.DEBUG else logging.WARNING}
    return config
