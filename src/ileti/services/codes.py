"""Codes in message texts (one-time passwords): a caller's regular expression, bounded
so that no pattern can hang the server.

A pattern has at most ``MAX_PATTERN`` characters, is compiled with the ``regex``
package and searched with its ``timeout``: a pattern that backtracks without end, such
as ``(a+)+$`` on a long text, is stopped after ``SEARCH_TIMEOUT`` seconds and refused.
The search runs off the event loop and releases the GIL (``concurrent``), so even
those ``SEARCH_TIMEOUT`` seconds delay no other request.
"""

from __future__ import annotations

import asyncio

import regex

#: Four to eight digits standing alone: most one-time passwords.
DEFAULT_PATTERN = r"\b\d{4,8}\b"
MAX_PATTERN = 200
SEARCH_TIMEOUT = 0.1


class PatternError(ValueError):
    """A pattern that is too long, not a regular expression, or too slow."""


def compile_pattern(text: str | None) -> regex.Pattern[str]:
    """The caller's pattern (None: the default), compiled; PatternError when it is
    empty, too long or not a regular expression."""
    if text is None:
        text = DEFAULT_PATTERN
    if not text:
        raise PatternError("the pattern is empty")
    if len(text) > MAX_PATTERN:
        raise PatternError(f"the pattern has {len(text)} characters; at most {MAX_PATTERN}")
    try:
        return regex.compile(text)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise PatternError(f"not a regular expression: {exc}") from exc


def find_code(pattern: regex.Pattern[str], text: str) -> str | None:
    """The first match in ``text`` (its group 1 if the pattern has a group); None when
    there is none. PatternError when the search runs too long."""
    try:
        found = pattern.search(text, timeout=SEARCH_TIMEOUT, concurrent=True)
    except TimeoutError as exc:
        raise PatternError(
            f"the pattern took longer than {SEARCH_TIMEOUT} s on the message text "
            "(catastrophic backtracking?)"
        ) from exc
    if found is None:
        return None
    code = found.group(1) if pattern.groups else found.group(0)
    return code if code else None


async def find_code_async(pattern: regex.Pattern[str], text: str) -> str | None:
    """``find_code`` on a worker thread."""
    return await asyncio.to_thread(find_code, pattern, text)
