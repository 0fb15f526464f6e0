"""How many SMS parts a text takes (spec §7), and in which encoding.

- *GSM-7*: every character is in the GSM 03.38 default alphabet or its extension table
  (extension characters count twice: an escape and the character).
- *Turkish*: GSM-7 plus the Turkish national-table letters the default lacks
  (ç ğ Ğ ı İ ş Ş); the national-language header costs room.
- *UCS-2* otherwise, counted in UTF-16 code units (an emoji counts twice).

The carrier appends a mandatory 5-character code to every text, so ``n`` parts hold
``(S if n == 1 else n * M) - 5`` characters, with (S, M) = (160, 153) for GSM-7,
(155, 149) for Turkish and (70, 67) for UCS-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_PARTS = 7
SUFFIX = 5

GSM_DEFAULT = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
TURKISH_EXTRA = frozenset("çğĞıİşŞ")


class Encoding(Enum):
    GSM7 = "gsm7"
    TURKISH = "turkish"
    UCS2 = "ucs2"


_SIZES = {Encoding.GSM7: (160, 153), Encoding.TURKISH: (155, 149), Encoding.UCS2: (70, 67)}


@dataclass(frozen=True, slots=True)
class Parts:
    encoding: Encoding
    length: int  # in the encoding's units (septets, or UTF-16 code units)
    count: int  # parts needed; more than MAX_PARTS means too long


def encoding_of(text: str) -> Encoding:
    turkish = False
    for ch in text:
        if ch in GSM_DEFAULT or ch in GSM_EXTENSION:
            continue
        if ch in TURKISH_EXTRA:
            turkish = True
            continue
        return Encoding.UCS2
    return Encoding.TURKISH if turkish else Encoding.GSM7


def capacity(encoding: Encoding, parts: int) -> int:
    """Characters that ``parts`` parts hold, after the carrier's suffix."""
    single, multi = _SIZES[encoding]
    return (single if parts == 1 else parts * multi) - SUFFIX


def length_of(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.UCS2:
        return len(text.encode("utf-16-le")) // 2
    return len(text) + sum(1 for ch in text if ch in GSM_EXTENSION)


def count(text: str) -> Parts:
    encoding = encoding_of(text)
    length = length_of(text, encoding)
    parts = 1
    while length > capacity(encoding, parts):
        parts += 1
        if parts > MAX_PARTS:
            break
    return Parts(encoding=encoding, length=length, count=parts)


# -- the breakdown the panel shows --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One part as the count splits it: its share of the text and of the carrier's code."""

    text: str
    length: int  # units of the text in this part
    suffix: int  # units of the carrier's code in this part (the last part or two)


@dataclass(frozen=True, slots=True)
class Breakdown:
    encoding: Encoding
    length: int  # the text's units
    count: int  # parts charged (as ``count``)
    #: The characters (each once, in order of appearance) that ruled out a cheaper
    #: encoding: Turkish letters for the Turkish table; for UCS-2, those in no GSM table.
    forcing: tuple[str, ...]
    #: Characters from the GSM extension table (they count twice), each once.
    doubled: tuple[str, ...]
    segments: tuple[Segment, ...]
    #: Units a part holds: one part alone, and each part of a longer message.
    single: int
    multi: int


def _unit(ch: str, encoding: Encoding) -> int:
    if encoding is Encoding.UCS2:
        return 2 if ord(ch) > 0xFFFF else 1
    return 2 if ch in GSM_EXTENSION else 1


def _once(found: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(found))


def breakdown(text: str) -> Breakdown:
    """How ``text`` is sent: its encoding, the characters that forced it, and its parts.

    The parts follow ``count``: the text and then the carrier's ``SUFFIX`` units fill
    one part of S units, or parts of M units each; a character belongs to the part where
    its first unit falls, so the number of parts is always the one charged."""
    counted = count(text)
    encoding = counted.encoding
    if encoding is Encoding.UCS2:
        gsm = GSM_DEFAULT | GSM_EXTENSION | TURKISH_EXTRA
        forcing = _once([ch for ch in text if ch not in gsm])
    elif encoding is Encoding.TURKISH:
        forcing = _once([ch for ch in text if ch in TURKISH_EXTRA])
    else:
        forcing = ()
    doubled = (
        _once([ch for ch in text if ch in GSM_EXTENSION]) if encoding is not Encoding.UCS2 else ()
    )
    single, multi = _SIZES[encoding]
    size = single if counted.count == 1 else multi
    texts: list[list[str]] = [[] for _ in range(counted.count)]
    lengths = [0] * counted.count
    position = 0
    for ch in text:
        units = _unit(ch, encoding)
        index = min(position // size, counted.count - 1)
        texts[index].append(ch)
        lengths[index] += units
        position += units
    suffixes = [0] * counted.count
    for offset in range(position, position + SUFFIX):
        suffixes[min(offset // size, counted.count - 1)] += 1
    segments = tuple(
        Segment("".join(chars), length, suffix)
        for chars, length, suffix in zip(texts, lengths, suffixes, strict=True)
    )
    return Breakdown(
        encoding=encoding,
        length=counted.length,
        count=counted.count,
        forcing=forcing,
        doubled=doubled,
        segments=segments,
        single=single,
        multi=multi,
    )
