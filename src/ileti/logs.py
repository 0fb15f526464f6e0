"""Making what ileti logs safe to log: no credential, no message text, no number.

- :func:`printable`: a value from a client (an unknown key), cut short and with its
  control characters escaped, so that it can neither forge log lines nor be a whole
  pasted secret;
- :func:`safe_url`: a webhook URL without its ``user:password@``, query or fragment;
- :func:`quiet_httpx`: drops httpx's own per-request lines (they print the whole URL,
  password included); the webhook sender logs each attempt itself.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit


def _escaped(char: str) -> str:
    if char.isprintable() and char != "\\":
        return char
    return char.encode("unicode_escape").decode("ascii")


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the full length noted when cut), each
    non-printable character and backslash escaped (``\\x1b``, ``\\u202e``, ``\\\\``)."""
    cut = text[:limit]
    shown = cut if cut.isprintable() and "\\" not in cut else "".join(map(_escaped, cut))
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


class DropInfo(logging.Filter):
    """Drops a logger's INFO records (httpx logs only its request lines at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.INFO


_DROP_INFO = DropInfo()


def quiet_httpx() -> None:
    """Drop httpx's per-request INFO lines in this process (once; idempotent)."""
    logging.getLogger("httpx").addFilter(_DROP_INFO)
