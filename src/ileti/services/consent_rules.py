"""The İYS registry's rules (spec §10) as pure functions: no database, no HTTP.

``brand`` decides whether an account may use İYS at all (403) and whether the brand
code given is its own. ``records`` checks a consent/create list record by record
(values, the date rules, the 3-business-day rule, duplicates inside the list) and
``against_history`` each record against its key's latest stored record (the first may
not be RET, the same status twice is refused, dates only move forward). Each returns
every problem found, so that the sandbox can show which record broke which rule; the
service refuses the whole list (422) when there is any.

Business days: Monday to Friday except Turkish public holidays, from the ``holidays``
package (``holidays.country_holidays("TR")``, maintained upstream; no hand-kept list).
A consent dated on day D may be uploaded up to the end of the third business day after
D (Istanbul time): dated on a Friday, it may come until Wednesday 23:59:59.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays
from email_validator import EmailNotValidError, validate_email

from ileti import numbers
from ileti.chars import storable
from ileti.clock import ISTANBUL, from_us, parse_local
from ileti.errors import SubscriptionMissing, Unprocessable
from ileti.models import Consent

MAX_RECORDS = 5_000
RECIPIENT_TYPES = ("BIREYSEL", "TACIR")
TYPES = ("MESAJ", "ARAMA", "EPOSTA")
PHONE_TYPES = ("MESAJ", "ARAMA")
STATUSES = ("ONAY", "RET")
ONAY, RET = STATUSES
BIREYSEL, TACIR = RECIPIENT_TYPES
#: The sources a service provider may upload (the registry's "HS_" sources).
SOURCES = frozenset(
    (
        "HS_2015",
        "HS_KARAR",
        "HS_FIZIKSEL_ORTAM",
        "HS_ISLAK_IMZA",
        "HS_ETKINLIK",
        "HS_ATM",
        "HS_EORTAM",
        "HS_WEB",
        "HS_MOBIL",
        "HS_MESAJ",
        "HS_EPOSTA",
        "HS_CAGRI_MERKEZI",
        "HS_SOSYAL_MEDYA",
    )
)
#: A RET texted by the recipient to the registry's short code: recorded, never uploaded.
IYS_KISAMESAJ = "IYS_KISAMESAJ"
#: The registry's own short code.
IYS_SHORT_CODE = "3338"
#: The earliest consentDate (the law's start): HS_2015 records carry exactly this.
EARLIEST_TEXT = "2015-05-01 00:00:00"
EARLIEST = parse_local(EARLIEST_TEXT)
BUSINESS_DAYS = 3
MIN_EMAIL, MAX_EMAIL = 6, 265
_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
#: How much of a recipient as written a problem shows.
SHOWN = 64
#: At most this many problems are kept for the sandbox's view of one refusal.
MAX_PROBLEMS = 1_000

_TURKEY = holidays.country_holidays("TR")


@dataclass(frozen=True, slots=True)
class Problem:
    """Which record broke which rule: its index in the list (None: the request), the
    recipient as written (cut short), the field, the rule."""

    index: int | None
    recipient: str | None
    field: str
    rule: str


class ConsentRefused(Unprocessable):
    """422 with the problems found (for the sandbox's refusals view)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        where = "request" if first.index is None else f"record {first.index}"
        super().__init__(f"{len(problems)} problem(s); {where}: {first.field}: {first.rule}")
        self.problems = tuple(problems[:MAX_PROBLEMS])


# -- the brand ------------------------------------------------------------------------------


def brand_text(value: Any) -> str | None:
    """A brandCode as sent (string or integer) as text; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return None


def brand(account_brand: str | None, given: Any) -> str:
    """The account's brand code when ``given`` is it: 403 when the account has none or
    ``given`` is another; 422 when ``given`` is missing or not a string or integer."""
    if not account_brand:
        raise SubscriptionMissing("the account has no İYS brand code")
    text = brand_text(given)
    if text is None or text == "":
        raise Unprocessable("brandCode is required: a string or an integer")
    if text != account_brand.strip():
        raise SubscriptionMissing("brandCode is not the account's")
    return account_brand


def brand_shown(code: str) -> int | str:
    """A brand code as consent/show echoes it: an integer when it is one."""
    return int(code) if code.isascii() and code.isdigit() and len(code) < 19 else code


# -- business days ----------------------------------------------------------------------------


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _TURKEY


@lru_cache(maxsize=4096)
def upload_deadline(day: date) -> date:
    """The last day a consent dated ``day`` may be uploaded: the third business day
    after it."""
    found = 0
    while found < BUSINESS_DAYS:
        day += timedelta(days=1)
        if is_business_day(day):
            found += 1
    return day


def local_day(at: int) -> date:
    return from_us(at).astimezone(ISTANBUL).date()


def too_late(consent_date: int, today: date) -> bool:
    """Whether a consent dated ``consent_date`` comes after its upload deadline, on
    ``today`` (Istanbul)."""
    return today > upload_deadline(_day_of(consent_date))


@lru_cache(maxsize=65536)
def _day_of(at: int) -> date:
    return local_day(at)


# -- one record ----------------------------------------------------------------------------------


def shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return storable(text[:SHOWN])


def recipient_of(type_: str, value: Any) -> tuple[str | None, str]:
    """(the recipient normalised, "") or (None, why not)."""
    if type_ in PHONE_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None, "a phone number: a string or an integer"
        parsed = numbers.parse(value)
        if parsed is None:
            return None, "not a Turkish mobile number"
        return numbers.e164(parsed), ""
    if not isinstance(value, str):
        return None, "an e-mail address: a string"
    if not MIN_EMAIL <= len(value) <= MAX_EMAIL:
        return None, f"an e-mail address of {MIN_EMAIL} to {MAX_EMAIL} characters"
    try:
        found = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"not an e-mail address: {exc}"
    return found.normalized.lower(), ""  # looked up whatever the case it is written in


@lru_cache(maxsize=65536)
def _parsed(text: str) -> int | None:
    try:
        return parse_local(text)
    except ValueError:
        return None


def date_of(value: Any, now: int) -> tuple[int | None, str]:
    """(microseconds, "") or (None, why not)."""
    if not isinstance(value, str) or _DATE.fullmatch(value) is None:
        return None, "YYYY-MM-DD HH:MM:SS"
    at = _parsed(value)
    if at is None:
        return None, "YYYY-MM-DD HH:MM:SS: no such date or time"
    if at < EARLIEST:
        return None, f"not before {EARLIEST_TEXT}"
    if at > now:
        return None, "not in the future"
    return at, ""


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def record(
    index: int, raw: Any, now: int, today: date | None = None
) -> tuple[Consent | None, list[Problem]]:
    """One record of a consent/create list, checked on its own (``today``: ``now``'s
    Istanbul day, when the caller has it)."""
    if not isinstance(raw, dict):
        return None, [Problem(index, None, "record", "an object")]
    written = shown(raw.get("recipient"))
    problems: list[Problem] = []

    def refuse(field: str, rule: str) -> None:
        problems.append(Problem(index, written, field, rule))

    unknown = sorted(set(raw) - {"recipient", "recipientType", "type", "status", "source",
                                 "consentDate"})  # fmt: skip
    for name in unknown:
        refuse(name, "not a field of a consent record")
    recipient_type, type_, status = raw.get("recipientType"), raw.get("type"), raw.get("status")
    if recipient_type not in RECIPIENT_TYPES:
        refuse("recipientType", "BIREYSEL or TACIR")
    if type_ not in TYPES:
        refuse("type", "MESAJ, ARAMA or EPOSTA")
    if status not in STATUSES:
        refuse("status", "ONAY or RET")
    recipient: str | None = None
    if type_ in TYPES:
        recipient, why = recipient_of(type_, raw.get("recipient"))
        if recipient is None:
            refuse("recipient", why)
    tacir = recipient_type == TACIR
    source, when = raw.get("source"), raw.get("consentDate")
    if _absent(source) and tacir:
        source = None
    elif not isinstance(source, str) or source not in SOURCES:
        if isinstance(source, str) and source.startswith("IYS_"):
            refuse("source", "IYS_ sources come from the registry, never from an upload")
        else:
            refuse("source", "one of the HS_ sources")
    at: int | None = None
    if _absent(when) and tacir:
        at = now  # a TACIR record without a date is dated when it is recorded
    else:
        at, why = date_of(when, now)
        if at is None:
            refuse("consentDate", why)
    if source == "HS_2015" and at is not None and at != EARLIEST:
        refuse("consentDate", f"HS_2015 only with {EARLIEST_TEXT}")
    if source == "HS_KARAR" and status in STATUSES and status != RET:
        refuse("source", "HS_KARAR only with RET")
    if at is not None and too_late(at, today or local_day(now)):
        refuse("consentDate", f"older than {BUSINESS_DAYS} business days")
    if problems or recipient is None or at is None:
        return None, problems
    return Consent(recipient, str(recipient_type), str(type_), str(status), source, at), []


def records(
    raw: Any, now: int, *, most: int | None = MAX_RECORDS
) -> tuple[list[Consent], list[Problem]]:
    """A consent/create list checked record by record, and for keys repeated in it
    (``most``: the longest list taken; None: any, as the CLI's import)."""
    if not isinstance(raw, list):
        return [], [Problem(None, None, "list", "an array of records")]
    if not raw or (most is not None and len(raw) > most):
        return [], [Problem(None, None, "list", f"1 to {most} records, not {len(raw)}")]
    found: list[Consent] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], int] = {}
    today = local_day(now)
    for index, item in enumerate(raw):
        consent, wrong = record(index, item, now, today)
        if consent is None:
            problems.extend(wrong)
            continue
        first = seen.setdefault(consent.key, index)
        if first != index:
            problems.append(
                Problem(index, shown(consent.recipient), "recipient", f"same as record {first}")
            )
            continue
        found.append(consent)
    return found, problems


def against_history(
    checked: Sequence[Consent], latest: Mapping[tuple[str, str, str], tuple[str, int]]
) -> list[Problem]:
    """Each record against its key's latest stored (status, date)."""
    problems: list[Problem] = []
    for index, consent in enumerate(checked):
        stored = latest.get(consent.key)
        where = shown(consent.recipient)
        if stored is None:
            if consent.status == RET:
                problems.append(Problem(index, where, "status", "the first record may not be RET"))
            continue
        status, at = stored
        if consent.status == status:
            problems.append(Problem(index, where, "status", f"already {status}"))
        elif consent.consent_date <= at:
            problems.append(
                Problem(index, where, "consentDate", "not later than the latest record's")
            )
    return problems


def one(raw: Any, field: str, allowed: tuple[str, ...]) -> str:
    """An enumerated value of consent/show, or 422."""
    if raw not in allowed:
        raise Unprocessable(f"{field}: one of {', '.join(allowed)}")
    return str(raw)
