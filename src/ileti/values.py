"""Whole numbers from the wire (``page``, ``rowCount``, order ``id``): one parser and
one rule for every action.

The wire hands them over as sent: a JSON integer or a string (XML text, or JSON
``"2"``); ``""`` and absence mean "not given" (the documented request templates send
``""``). A JSON value of another type (a fraction, an array) never gets here: decoding
already answered 400. So a value that is given but not a whole number is a value that
failed validation, checked after authentication (spec §1.4):

- ``page``: not a whole number 422; below 1 464 (``Page değeri 1 den başlamalı.``);
- ``rowCount``: not a whole number or below 1 422; above the action's maximum capped;
- an order ``id``: anything but a whole number from 1 to 2^63 - 1 is "no such order", 455.
"""

from __future__ import annotations

from dataclasses import dataclass

from ileti.errors import OrderNotFound, PageOutOfRange, Unprocessable

#: rowCount's default and cap everywhere (spec §9).
MAX_ROWS = 1000
#: The largest id the store can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1

Raw = str | int | None


def whole(value: Raw) -> int | None:
    """A wire number -> int; None when not given; ValueError when not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    text = value.strip()
    if text == "":
        return None
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(value)
    return int(text)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of ``size`` rows, numbered from 1."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_of(page: Raw, row_count: Raw = None, *, rows_max: int = MAX_ROWS) -> Page:
    """The page asked for: 422 / 464 as the module docstring says."""
    try:
        number = whole(page)
        size = whole(row_count)
    except ValueError as exc:
        raise Unprocessable(f"page {page!r} / rowCount {row_count!r}") from exc
    number = 1 if number is None else number
    size = rows_max if size is None else size
    if number < 1:
        raise PageOutOfRange(f"page {number}")
    if size < 1:
        raise Unprocessable(f"rowCount {size}")
    size = min(size, rows_max)
    if (number - 1) * size > MAX_ID:
        raise PageOutOfRange(f"page {number} is beyond any list")
    return Page(number, size)


def order_id(value: Raw) -> int:
    """An order id, or OrderNotFound (455)."""
    try:
        found = whole(value)
    except ValueError as exc:
        raise OrderNotFound(f"order id {value!r}") from exc
    if found is None or not 1 <= found <= MAX_ID:
        raise OrderNotFound(f"order id {value!r}")
    return found
