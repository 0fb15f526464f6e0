"""SMS part counting (spec §7): encodings, the 5-character suffix, the 7-part limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ileti.parts import (
    GSM_DEFAULT,
    GSM_EXTENSION,
    MAX_PARTS,
    SUFFIX,
    Encoding,
    Segment,
    breakdown,
    capacity,
    count,
)


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 155, Encoding.GSM7, 1),  # the provider's published one-part figure
        ("a" * 156, Encoding.GSM7, 2),
        ("a" * (2 * 153 - 5), Encoding.GSM7, 2),
        ("a" * (2 * 153 - 4), Encoding.GSM7, 3),
        ("{" * 77, Encoding.GSM7, 1),  # extension characters count twice
        ("{" * 78, Encoding.GSM7, 2),
        ("€" * 77 + "a", Encoding.GSM7, 1),
        ("ÇÖÜöü" * 31, Encoding.GSM7, 1),  # these are in the default alphabet
        ("ş" * 150, Encoding.TURKISH, 1),  # 150: the provider's Turkish figure
        ("ş" * 151, Encoding.TURKISH, 2),
        ("Işık " * 30, Encoding.TURKISH, 1),
        ("İ" + "a" * 149, Encoding.TURKISH, 1),
        ("я" * 65, Encoding.UCS2, 1),  # 65: the provider's UCS-2 figure
        ("я" * 66, Encoding.UCS2, 2),
        ("😀" * 32, Encoding.UCS2, 1),  # an emoji is two UTF-16 units
        ("😀" * 33, Encoding.UCS2, 2),
        ("a" * (7 * 153 - 5), Encoding.GSM7, 7),
        ("a" * (7 * 153 - 4), Encoding.GSM7, 8),  # over the limit: 453
        ("ş" * (7 * 149 - 5), Encoding.TURKISH, 7),
        ("я" * (7 * 67 - 5), Encoding.UCS2, 7),
        ("я" * (7 * 67 - 4), Encoding.UCS2, 8),
    ],
)
def test_parts_table(text: str, encoding: Encoding, parts: int) -> None:
    result = count(text)
    assert (result.encoding, result.count) == (encoding, parts)


GSM_TEXT = st.text(alphabet=sorted(GSM_DEFAULT | GSM_EXTENSION), max_size=1200)


@given(GSM_TEXT)
def test_gsm_text_fits_its_parts(text: str) -> None:
    result = count(text)
    assert result.encoding is Encoding.GSM7
    if result.count <= MAX_PARTS:
        assert result.length <= capacity(result.encoding, result.count)
        if result.count > 1:
            assert result.length > capacity(result.encoding, result.count - 1)


@given(st.text(max_size=600))
def test_any_text_never_shrinks_when_extended(text: str) -> None:
    assert count(text + "x").count >= count(text).count


# -- the breakdown (the panel's message page) ----------------------------------------------


def test_breakdown_of_plain_text_is_one_gsm_part() -> None:
    found = breakdown("Merhaba dunya")
    assert found.encoding is Encoding.GSM7 and found.count == 1
    assert found.forcing == () and found.doubled == ()
    assert found.segments == (Segment("Merhaba dunya", 13, SUFFIX),)


def test_breakdown_names_the_turkish_letters_that_forced_the_table() -> None:
    found = breakdown("Çağrı için teşekkürler ğğ")
    assert found.encoding is Encoding.TURKISH
    assert found.forcing == ("ğ", "ı", "ç", "ş")  # Ç and ü are in the default alphabet
    assert (found.single, found.multi) == (155, 149)


def test_breakdown_names_the_emoji_that_forced_ucs2() -> None:
    found = breakdown("Kodunuz 1234 ğ 😀")
    assert found.encoding is Encoding.UCS2
    assert found.forcing == ("😀",)  # ğ alone would have kept the Turkish table
    assert found.length == 17  # the emoji is two UTF-16 units
    assert found.segments[0].length == 17


def test_breakdown_counts_extension_characters_twice() -> None:
    found = breakdown("50€ {ok}")
    assert found.encoding is Encoding.GSM7
    assert found.doubled == ("€", "{", "}")
    assert found.length == 11


def test_breakdown_splits_long_text_into_the_charged_parts() -> None:
    text = "a" * 153 + "b" * 153 + "c" * 10
    found = breakdown(text)
    assert found.count == count(text).count == 3
    assert [s.text for s in found.segments] == ["a" * 153, "b" * 153, "c" * 10]
    assert [s.suffix for s in found.segments] == [0, 0, SUFFIX]
    assert "".join(s.text for s in found.segments) == text


def test_breakdown_puts_the_carrier_code_across_the_last_parts() -> None:
    text = "a" * (2 * 153 - 2)  # 304 units: 2 parts hold 301 with the code
    found = breakdown(text)
    assert found.count == 3
    assert [s.suffix for s in found.segments] == [0, 2, 3]
    assert found.segments[2].text == ""


@given(st.text(max_size=600))
def test_breakdown_agrees_with_count(text: str) -> None:
    found = breakdown(text)
    counted = count(text)
    assert (found.encoding, found.length, found.count) == (
        counted.encoding,
        counted.length,
        counted.count,
    )
    assert len(found.segments) == found.count
    assert "".join(s.text for s in found.segments) == text
    assert sum(s.length for s in found.segments) == found.length
    assert sum(s.suffix for s in found.segments) == SUFFIX
