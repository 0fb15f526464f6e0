"""Reading a blacklist import file the way people save them: from Excel (Turkish or
not), from a phone book export, or by hand.

- Encoding: UTF-8 (with or without a BOM); UTF-16 with a BOM (Excel's "Unicode text");
  anything that is not valid UTF-8 is read as Windows-1254 (Turkish Excel's "CSV").
- Separator: comma, semicolon or tab, whichever most of the first lines hold.
- A header line is optional; the number is in the first column, or in the column whose
  header names it (number, numara, telefon, gsm, cep, phone, mobile...).
- What cannot be read is refused with a reason (:class:`CsvRefused`): an Excel
  workbook (.xlsx/.xls: save as CSV), a binary file, an empty one.

The file is read as a stream: memory stays bounded whatever its size (one pass to
check the encoding, one to read the rows). Line numbers are the file's own, so that a
user can find a refused line in an editor.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

#: How much of the file's start decides the separator and the header.
SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 50
SEPARATORS = (";", "\t", ",")
#: ``progress`` is called every this many lines (and at the end).
PROGRESS_LINES = 1000
#: A header cell naming the number's column starts with one of these (casefolded).
NUMBER_HEADERS = ("number", "numara", "telefon", "gsm", "cep", "phone", "mobile", "msisdn", "tel")

_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")


class CsvRefused(Exception):
    """The file cannot be read as a list of numbers. ``code``: ``workbook`` (an Excel
    .xlsx/.xls file), ``binary`` (not text), ``empty``, ``too_large`` (an import's
    upload over its limit)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Layout:
    """How a file is read."""

    encoding: str  # "utf-8-sig", "utf-16" or "cp1254"
    delimiter: str
    column: int  # the number's column, from 0
    header: bool  # whether the first non-empty line is a header
    size: int  # bytes
    separated: bool = True  # False: one column, no separator found


class Row(NamedTuple):
    """One non-empty line: its line number, the raw value of the number's column, and
    why it cannot be a number before parsing (``missing``: no such column, ``empty``,
    ``scientific``: Excel's 5,33E+11, ``unreadable``: not a CSV record), or None."""

    line: int
    value: str
    problem: str | None = None


def _is_binary_start(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "workbook"
    return None


def detect_encoding(handle: BinaryIO) -> tuple[str, int]:
    """(encoding, size) of a file, read in chunks from its start; CsvRefused for what
    is not text."""
    handle.seek(0)
    head = handle.read(8)
    kind = _is_binary_start(head)
    if kind:
        raise CsvRefused(kind)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        handle.seek(0, io.SEEK_END)
        return "utf-16", handle.tell()
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = 0
    while chunk := handle.read(256 * 1024):
        size += len(chunk)
        if b"\x00" in chunk:
            raise CsvRefused("binary")
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if size == 0:
        raise CsvRefused("empty")
    return ("utf-8-sig" if utf8 else "cp1254"), size


def _text(handle: BinaryIO, encoding: str) -> io.TextIOWrapper:
    handle.seek(0)
    return io.TextIOWrapper(
        handle,  # type: ignore[arg-type]
        encoding=encoding,
        errors="replace",
        newline="",
    )


def _clean(cell: str) -> str:
    value = cell.strip().lstrip("\ufeff").strip()
    # Excel's way of keeping a leading zero: ="05331234567"
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1].strip()
    return value


def _names_number(cell: str) -> bool:
    name = _clean(cell).casefold().replace("ı", "i")
    return bool(name) and not any(ch.isdigit() for ch in name) and name.startswith(NUMBER_HEADERS)


def inspect(handle: BinaryIO) -> Layout:
    """The layout of a file (see the module's docstring); CsvRefused if unreadable."""
    encoding, size = detect_encoding(handle)
    text = _text(handle, encoding)
    try:
        sample = text.read(SAMPLE_BYTES)
        more = text.read(1) != ""
    finally:
        text.detach()
    lines = sample.splitlines()
    if more and lines:
        lines.pop()  # cut in the middle
    lines = [line for line in lines if line.strip().lstrip("\ufeff")][:SAMPLE_LINES]
    if not lines:
        raise CsvRefused("empty")
    counts = {sep: sum(1 for line in lines if sep in line) for sep in SEPARATORS}
    delimiter = max(SEPARATORS, key=lambda sep: counts[sep])
    separated = counts[delimiter] * 2 >= len(lines)
    if not separated:
        # In a minority of lines: one column (a number written as 5,33E+11 is not split).
        delimiter = next((sep for sep in SEPARATORS if counts[sep] == 0), delimiter)
    first = next(csv.reader([lines[0]], delimiter=delimiter), [])
    for index, cell in enumerate(first):
        if _names_number(cell):
            return Layout(encoding, delimiter, index, True, size, separated)
    header = bool(first) and not any(ch.isdigit() for ch in _clean(first[0]))
    return Layout(encoding, delimiter, 0, header, size, separated)


class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read from it (for progress)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._handle.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def rows(
    handle: BinaryIO, layout: Layout, *, progress: Callable[[int], None] | None = None
) -> Iterator[Row]:
    """Every non-empty line of the file as a :class:`Row` (the header aside);
    ``progress`` is told how many bytes have been read so far."""
    handle.seek(0)
    counting = _Counting(handle)
    text = io.TextIOWrapper(
        io.BufferedReader(counting, buffer_size=64 * 1024),
        encoding=layout.encoding,
        errors="replace",
        newline="",
    )
    reader = csv.reader(text, delimiter=layout.delimiter)
    header_pending = layout.header
    column = layout.column
    reported = 0
    try:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error:  # a field longer than csv's limit, an unclosed quote
                yield Row(reader.line_num, "", "unreadable")
                continue
            if progress is not None and reader.line_num >= reported + PROGRESS_LINES:
                reported = reader.line_num
                progress(counting.count)
            if header_pending:
                if any(cell.strip().lstrip("\ufeff") for cell in record):
                    header_pending = False
                continue
            if column < len(record):
                value = _clean(record[column])
                if value:
                    if ("e" in value or "E" in value) and _SCIENTIFIC.match(value):
                        yield Row(reader.line_num, value, "scientific")
                    else:
                        yield Row(reader.line_num, value)
                    continue
            if not any(cell.strip().lstrip("\ufeff") for cell in record):
                continue  # an empty line
            yield Row(reader.line_num, "", "empty" if column < len(record) else "missing")
        if progress is not None:
            progress(counting.count)
    finally:
        text.detach()


def read_path(path: Path) -> tuple[Layout, list[Row]]:
    """A small file's layout and rows at once (tests, tools)."""
    with path.open("rb") as handle:
        layout = inspect(handle)
        return layout, list(rows(handle, layout))
