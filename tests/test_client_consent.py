"""İYS consent through ``ileti.client`` and the plugin's ``consents`` helper, against
ileti's consent/create and consent/show (spec §10)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from ileti.client import Client, ConsentRecord
from ileti.client import errors as e
from ileti.testing.handle import AccountSpec, Control, Ileti, reset
from ileti.testing.server import Sandbox
from tests.support.sandbox import BRAND, Made, make_account
from tests.support.sms import ISTANBUL
from tests.support.spec import MESSAGES

A = "+905330000001"


def now() -> str:
    return datetime.now(ISTANBUL).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def made(sandbox: Sandbox) -> Made:
    return make_account(sandbox)


@pytest.fixture
def sms(made: Made) -> Iterator[Client]:
    with Client(made.key, made.hash, base_url=made.base_url) as found:
        yield found


def test_create_then_show(sms: Client) -> None:
    sms.create_consents(BRAND, [ConsentRecord(A, "ONAY", source="HS_WEB", consent_date=now())])
    shown = sms.show_consent(BRAND, A)
    assert shown is not None
    assert (shown.brand_code, shown.recipient, shown.status, shown.source) == (
        BRAND,
        A,
        "ONAY",
        "HS_WEB",
    )
    assert (shown.recipient_type, shown.type) == ("BIREYSEL", "MESAJ")


def test_no_record_is_unprocessable(sms: Client) -> None:
    with pytest.raises(e.Unprocessable) as refused:
        sms.show_consent(BRAND, A)
    assert (refused.value.code, refused.value.message) == (422, MESSAGES[422])


def test_another_brand_is_subscription_missing(sms: Client) -> None:
    with pytest.raises(e.SubscriptionMissing) as refused:
        sms.create_consents(
            "111111", [ConsentRecord(A, "ONAY", source="HS_WEB", consent_date=now())]
        )
    assert refused.value.code == 403
    assert refused.value.message == MESSAGES.get(403, e.CATALOGUE[403][0])
    assert refused.value.message == e.CATALOGUE[403][0]


def test_the_fixture_helpers_and_its_reset_clear_consents(sandbox: Sandbox, made: Made) -> None:
    spec = AccountSpec(key=made.key + "-fixture")
    with httpx.Client(base_url=sandbox.url) as http:
        control = Control(http, spec, sandbox.admin_token)
        reset(control, spec)
        ileti = Ileti(spec, sandbox.url, control, sandbox)
        try:
            ileti.consents.add(A)
            shown = ileti.consents.show(A)
            assert shown is not None and shown.status == "ONAY"
            reset(control, spec)
            with pytest.raises(e.Unprocessable):
                ileti.consents.show(A)
        finally:
            ileti.close()
