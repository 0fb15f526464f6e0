"""One small valid request for every v1 action, for the tests that run over the whole
action table (``ileti.api.actions.ACTIONS``): the envelope contract and the one 401.

A new action needs a row here; the guards in ``test_envelope.py`` and ``test_auth.py``
fail until it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx

from ileti.services.accounts import Issued
from tests.support.http import ENCODINGS, auth, call, control_headers
from tests.support.sms import istanbul, order_of, sent

LISTED = "+905330000099"
#: The İYS brand code an account is given for the consent actions, and a recipient
#: with a consent record under it.
BRAND = "696422"
CONSENTED = "+905330000104"


@dataclass(frozen=True)
class Prepared:
    """What an account holds before a request: a listed number, an order sent now and
    one scheduled for tomorrow (the defaults: what the account need not hold)."""

    listed: str = LISTED
    order_id: int = 1
    scheduled_id: int = 1


@dataclass(frozen=True)
class ActionCase:
    #: The request without ``authentication``, for what the account holds.
    request: Callable[[Prepared], dict[str, Any]]
    #: The members of a JSON success beside ``status``.
    payload: tuple[str, ...]
    #: A success changes what is stored.
    writes: bool
    #: What the account must hold for a success: "listed", "order", "scheduled",
    #: "brand" (an İYS brand code), "consent" (a record for ``CONSENTED``).
    needs: frozenset[str] = frozenset()


def today() -> dict[str, str]:
    """A get-reports filter from today to today (Istanbul)."""
    day = istanbul(timedelta(0), "%Y-%m-%d")
    return {"start": day, "end": day}


CASES: dict[str, ActionCase] = {
    "add-blacklist": ActionCase(
        lambda p: {"blacklist": {"number": "+905330000100"}}, payload=(), writes=True
    ),
    "delete-blacklist": ActionCase(
        lambda p: {"blacklist": {"number": p.listed}},
        payload=(),
        writes=True,
        needs=frozenset({"listed"}),
    ),
    "get-blacklist": ActionCase(lambda p: {}, payload=("blacklist",), writes=False),
    "get-balance": ActionCase(lambda p: {}, payload=("balance",), writes=False),
    "get-sender": ActionCase(lambda p: {}, payload=("senders",), writes=False),
    "send-sms": ActionCase(
        lambda p: {"order": order_of(["+905330000101"], text="Sözleşme testi")},
        payload=("order",),
        writes=True,
    ),
    "get-report": ActionCase(
        lambda p: {"order": {"id": p.order_id}},
        payload=("order",),
        writes=False,
        needs=frozenset({"order"}),
    ),
    "get-reports": ActionCase(
        lambda p: {"filter": today()},
        payload=("count", "orders"),
        writes=False,
        needs=frozenset({"order"}),  # so that "orders" is not empty (XML: absent)
    ),
    "get-report-summary": ActionCase(
        lambda p: {"filter": today()},
        payload=("count", "orders"),
        writes=False,
        needs=frozenset({"order"}),
    ),
    "cancel-order": ActionCase(
        lambda p: {"order": {"id": p.scheduled_id}},
        payload=(),
        writes=True,
        needs=frozenset({"scheduled"}),
    ),
    "consent/create": ActionCase(
        lambda p: {"consent": {"brandCode": BRAND, "list": [consent_record("+905330000105")]}},
        payload=(),
        writes=True,
        needs=frozenset({"brand"}),
    ),
    "consent/show": ActionCase(
        lambda p: {
            "consent": {
                "brandCode": int(BRAND),
                "recipient": CONSENTED,
                "recipientType": "BIREYSEL",
                "type": "MESAJ",
            }
        },
        payload=("consent",),
        writes=False,
        needs=frozenset({"brand", "consent"}),
    ),
}


def encodings_of(action: str) -> tuple[str, ...]:
    """The encodings an action is served in: JSON only for the İYS consent actions."""
    return ("json",) if action.startswith("consent/") else ENCODINGS


def consent_record(recipient: str = CONSENTED, **fields: Any) -> dict[str, Any]:
    """A valid BIREYSEL MESAJ ONAY record dated a minute ago (Istanbul)."""
    return {
        "recipient": recipient,
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
        "status": "ONAY",
        "source": "HS_WEB",
        "consentDate": istanbul(timedelta(minutes=-1), "%Y-%m-%d %H:%M:%S"),
        **fields,
    }


def request_of(action: str, issued: Issued, prepared: Prepared | None = None) -> dict[str, Any]:
    """The action's valid request, authenticated as ``issued``."""
    body = CASES[action].request(prepared or Prepared())
    return {"authentication": auth(issued), **body}


async def prepare(client: httpx.AsyncClient, issued: Issued, *actions: str) -> Prepared:
    """Give the account (which may send from ILETI), through the API, what the
    actions' requests refer to (no actions: every action's)."""
    needs = set().union(*(CASES[a].needs for a in actions or CASES))
    prepared = Prepared()
    if "brand" in needs:
        r = await client.patch(
            f"/_ileti/accounts/{issued.account.key}",
            json={"brand_code": BRAND},
            headers=control_headers(issued),
        )
        assert r.status_code == 200, r.text
    if "consent" in needs:
        request = {
            "authentication": auth(issued),
            "consent": {"brandCode": BRAND, "list": [consent_record()]},
        }
        status, body = await call(client, "consent/create", request)
        assert status == 200, body
    if "listed" in needs:
        request = {"authentication": auth(issued), "blacklist": {"number": LISTED}}
        status, body = await call(client, "add-blacklist", request)
        assert status == 200, body
    if "order" in needs:
        order_id = await sent(client, issued, order_of(["+905330000102"]))
        prepared = replace(prepared, order_id=order_id)
    if "scheduled" in needs:
        tomorrow = istanbul(timedelta(days=1))
        scheduled = await sent(client, issued, order_of(["+905330000103"], sendDateTime=tomorrow))
        prepared = replace(prepared, scheduled_id=scheduled)
    return prepared
