"""SMS part counting (spec §7): encodings, the 5-character suffix, the 7-part limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ileti.parts import GSM_DEFAULT, GSM_EXTENSION, MAX_PARTS, Encoding, capacity, count


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
