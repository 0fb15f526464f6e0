"""Turkish mobile numbers (spec §4): every accepted form -> E.164, everything else None.

The table pins the spec's examples and the edge cases; the property tests hold
``ileti.numbers`` to ``phonenumbers`` (the package the spec names as the judge of
validity) on random input in every accepted form.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ileti import numbers
from ileti.errors import Code, InvalidNumber
from ileti.services.blacklist import parse_number
from tests.support.spec import MESSAGES

VALID = "+905330000099"

TABLE: list[tuple[Any, str | None]] = [
    # The spec's seed examples.
    ("+905330000099", VALID),
    ("+905999000000", None),
    ("+90 533 000 00 99", VALID),
    # Every accepted form of one number.
    ("905330000099", VALID),
    ("5330000099", VALID),
    ("05330000099", VALID),
    ("00905330000099", VALID),
    # Spaces, dashes and parentheses anywhere.
    ("0533 000 00 99", VALID),
    ("0 (533) 000-00-99", VALID),
    ("(0533) 000 0099", VALID),
    ("+90-533-000-00-99", VALID),
    ("+90 (533) 000 00 99", VALID),
    ("+ 90 5330000099", VALID),
    ("00 90 533 000 00 99", VALID),
    ("90 533 000 0099", VALID),
    ("533-000-0099", VALID),
    ("5 3 3 0 0 0 0 0 9 9", VALID),
    ("(5330000099)", VALID),
    ("  05330000099  ", VALID),
    ("--5330000099--", VALID),
    # The trunk 0 written after the country code, as libphonenumber reads it.
    ("+90 (0) 533 000 00 99", VALID),
    ("+90 0533 000 00 99", VALID),
    ("0090 0533 000 00 99", VALID),
    # A JSON integer is taken as its digits.
    (5330000099, VALID),
    (905330000099, VALID),
    (5999000000, None),
    (533000009, None),
    (0, None),
    # Other operators' ranges are mobile too; the output is always E.164.
    ("05050000000", "+905050000000"),
    ("0 542 123 45 67", "+905421234567"),
    ("0555 123 45 67", "+905551234567"),
    # Not mobile: Turkish landlines and unassigned ranges.
    ("+902125550000", None),
    ("02125550000", None),
    ("+908501234567", None),
    ("05999000000", None),
    ("5200000000", None),
    # Wrong lengths.
    ("533000009", None),
    ("53300000999", None),
    ("+9053300000990", None),
    ("+90533000009", None),
    ("0533000009", None),
    ("005330000099", None),
    # Other countries.
    ("+4915112345678", None),
    ("+49 151 12345678", None),
    ("004915112345678", None),
    ("+12025550123", None),
    ("+1 (202) 555-0123", None),
    ("+447911123456", None),
    ("+445330000099", None),
    ("+9905330000099", None),
    # Non-ASCII digits (phonenumbers would read them; the wire must not).
    ("٥٣٣٠٠٠٠٠٩٩", None),  # Arabic-Indic
    ("۵۳۳۰۰۰۰۰۹۹", None),  # Extended Arabic-Indic
    ("５３３０００００９９", None),  # fullwidth
    ("+９０５３３０００００９９", None),
    ("＋905330000099", None),  # fullwidth plus
    ("53300000٩٩", None),
    ("533000009²", None),
    ("+90533000009９", None),
    # Bools, empty and garbage.
    (True, None),
    (False, None),
    ("", None),
    (" ", None),
    ("-() ", None),
    ("+", None),
    ("00", None),
    ("abc", None),
    ("++905330000099", None),
    ("+0905330000099", None),
    ("5330000099x", None),
    ("0x5330000099", None),
    ("5330000099#", None),
    ("+90 533 000 00 99 ext 1", None),
    ("533.000.0099e0", None),
    ("5330000099\x00", None),
    ("+905330000099\n5330000098", None),
]


@pytest.mark.parametrize(("raw", "expected"), TABLE, ids=[repr(r) for r, _ in TABLE])
def test_table(raw: Any, expected: str | None) -> None:
    assert numbers.normalize(raw) == expected
    stored = numbers.parse(raw)
    if expected is None:
        assert stored is None
        assert numbers.national(raw) is None
    else:
        assert stored == int(expected[1:])
        assert numbers.e164(stored) == expected
        assert numbers.national(raw) == expected[3:]


@pytest.mark.parametrize(("raw", "expected"), TABLE, ids=[repr(r) for r, _ in TABLE])
def test_service_parse_number(raw: Any, expected: str | None) -> None:
    """The API's entry point: the stored int, or InvalidNumber with code 466."""
    if expected is None:
        with pytest.raises(InvalidNumber) as caught:
            parse_number(raw)
        assert caught.value.code == Code.INVALID_NUMBER
        assert caught.value.code.message == MESSAGES[466]
    else:
        assert parse_number(raw) == int(expected[1:])


@pytest.mark.parametrize("raw", [None, 5330000099.0, ["05330000099"], {"n": 1}, b"05330000099"])
def test_service_rejects_other_types(raw: Any) -> None:
    with pytest.raises(InvalidNumber):
        parse_number(raw)


# -- properties ----------------------------------------------------------------------


def reference(text: str) -> str | None:
    """What phonenumbers says: E.164 of a valid Turkish mobile, else None."""
    try:
        parsed = phonenumbers.parse(text, "TR")
    except phonenumbers.NumberParseException:
        return None
    if (
        phonenumbers.region_code_for_number(parsed) != "TR"
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE
    ):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# The accepted forms of a national significant number (spec §4), and the trunk-0
# variants libphonenumber also reads.
FORMS = ["{}", "0{}", "90{}", "+90{}", "0090{}", "+900{}", "00900{}"]
SEPARATORS = [" ", "-", "(", ")"]

# A national mobile number: ten ASCII digits starting with 5.
national_5 = st.from_regex(r"5[0-9]{9}", fullmatch=True)
# Any national significant number: ASCII digits, not starting with the trunk 0 (a
# leading 0 is itself the ``0{}`` form), of any length around the valid one.
any_national = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text("0123456789", max_size=13),
)
# Valid ones, drawn from the metadata's own mobile pattern (ASCII digits only).
_MOBILE_PATTERN = re.sub(
    r"\\d",
    "[0-9]",
    phonenumbers.PhoneMetadata.metadata_for_region("TR").mobile.national_number_pattern,  # type: ignore[union-attr]
)
valid_national = st.from_regex(f"(?:{_MOBILE_PATTERN})", fullmatch=True)


@given(national=national_5, form=st.sampled_from(FORMS))
@settings(max_examples=2000)
@example(national="5330000099", form="+90{}")
@example(national="5999000000", form="+90{}")
def test_agrees_with_phonenumbers_on_10_digit_5_numbers(national: str, form: str) -> None:
    text = form.format(national)
    assert numbers.normalize(text) == reference(text)


@given(national=any_national, form=st.sampled_from(FORMS))
@settings(max_examples=3000)
@example(national="905330000099", form="{}")
@example(national="9053300000", form="{}")
@example(national="53300000990", form="90{}")
def test_agrees_with_phonenumbers_on_any_digits(national: str, form: str) -> None:
    text = form.format(national)
    assert numbers.normalize(text) == reference(text)


@given(national=any_national, form=st.sampled_from(["{}", "90{}"]))
@settings(max_examples=1000)
def test_integers_agree_with_phonenumbers(national: str, form: str) -> None:
    text = form.format(national)
    assert numbers.normalize(int(text)) == reference(text)


@given(national=valid_national, form=st.sampled_from(FORMS))
@settings(max_examples=1000)
def test_valid_numbers_round_trip(national: str, form: str) -> None:
    e164 = numbers.normalize(national)
    assert e164 == "+90" + national
    assert e164 == reference(national)
    # E.164 written back in any accepted form comes back the same, and is stable.
    assert numbers.normalize(form.format(e164.removeprefix("+90"))) == e164
    assert numbers.normalize(e164) == e164
    assert numbers.e164(numbers.parse(e164)) == e164  # type: ignore[arg-type]
    assert numbers.normalize(int(e164[1:])) == e164


@st.composite
def noisy(draw: st.DrawFn, text: str) -> str:
    """``text`` with separators inserted at random places (before, between, after)."""
    chars = list(text)
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        at = draw(st.integers(min_value=0, max_value=len(chars)))
        chars.insert(at, draw(st.sampled_from(SEPARATORS)))
    return "".join(chars)


@given(
    data=st.data(), national=st.one_of(valid_national, any_national), form=st.sampled_from(FORMS)
)
@settings(max_examples=2000)
def test_separators_never_change_the_result(data: st.DataObject, national: str, form: str) -> None:
    text = form.format(national)
    with_noise = data.draw(noisy(text))
    assert numbers.normalize(with_noise) == numbers.normalize(text)
