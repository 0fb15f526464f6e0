"""Background work read from a clock the test advances: the carrier, the webhook sender
and the database rate limiter are stepped by hand (no poll loop runs), so what did not
happen yet is proven by the clock, not by a sleep."""

from __future__ import annotations

import socket

import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL, from_us
from ileti.config import Settings
from ileti.errors import RateLimited
from ileti.models import OutgoingText, SendCommand
from tests.support.clock import FakeClock
from tests.support.stored import is_dispatched, message_rows, webhook_attempts

DELIVERED_TO = "+905330000099"
UNDELIVERED_TO = "+905559990001"  # the documented always-undelivered test number
PENDING_TO = "+905559990002"  # the documented always-pending test number


@pytest.fixture
def settings(database_url: str) -> Settings:
    """For conftest's ``stepped`` instance (no background loop; the test steps it)."""
    return Settings(
        database_url=database_url,
        delivery_delay_seconds=2.0,
        delivery_poll_seconds=0,
        webhook_backoff_seconds=10.0,
        webhook_attempts=3,
        rate_limit=2,
        rate_limit_burst=4,
    )


def command(*numbers: str, text: str = "saat") -> SendCommand:
    return SendCommand("ILETI", None, "0", None, (OutgoingText(text, numbers),))


async def test_the_carrier_finalises_exactly_when_the_delay_has_passed(
    stepped: Runtime, clock: FakeClock
) -> None:
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=10)
    order_id = await stepped.orders.send(
        issued.account, command(DELIVERED_TO, UNDELIVERED_TO, PENDING_TO)
    )
    sending = [(DELIVERED_TO, 110, None), (UNDELIVERED_TO, 110, None), (PENDING_TO, 110, None)]
    assert await message_rows(stepped, order_id) == sending
    await stepped.carrier.step()  # dispatched now, final in 2 s
    clock.advance(1.999)
    await stepped.carrier.step()
    assert await message_rows(stepped, order_id) == sending
    clock.advance(0.001)
    await stepped.carrier.step()
    assert await message_rows(stepped, order_id) == [
        (DELIVERED_TO, 111, None),
        (UNDELIVERED_TO, 112, "undelivered"),
        (PENDING_TO, 110, None),
    ]
    clock.advance(3600)  # the pending one is never finalised
    assert await stepped.carrier.step() is False
    assert (await message_rows(stepped, order_id))[2] == (PENDING_TO, 110, None)


async def test_a_scheduled_order_waits_for_its_minute(stepped: Runtime, clock: FakeClock) -> None:
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=10)
    at = clock.now_us() + 3 * 3600 * 1_000_000
    when = from_us(at).astimezone(ISTANBUL).strftime("%d/%m/%Y %H:%M")
    schedule = SendCommand("ILETI", when, "0", None, (OutgoingText("sonra", (DELIVERED_TO,)),))
    order_id = await stepped.orders.send(issued.account, schedule)

    clock.advance(2 * 3600)
    await stepped.carrier.step()
    assert not await is_dispatched(stepped, order_id)
    clock.advance(3600 + 60)
    await stepped.carrier.step()
    assert await is_dispatched(stepped, order_id)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_failed_webhook_is_retried_only_after_its_backoff(
    stepped: Runtime, clock: FakeClock
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=10, webhook_url=url)
    await stepped.orders.send(issued.account, command(DELIVERED_TO))
    await stepped.carrier.step()  # queues "accepted"

    await stepped.webhooks.step()
    ((made, error),) = await webhook_attempts(stepped)
    assert made == 1 and error is not None and "Connect" in error
    clock.advance(9.9)  # the first retry is due 10 s later
    await stepped.webhooks.step()
    assert [a for a, _ in await webhook_attempts(stepped)] == [1]
    clock.advance(0.2)
    await stepped.webhooks.step()
    assert [a for a, _ in await webhook_attempts(stepped)] == [2]
    clock.advance(20.1)  # then 20 s; the third attempt is the last
    await stepped.webhooks.step()
    clock.advance(3600)
    assert await stepped.webhooks.step() is False
    assert [a for a, _ in await webhook_attempts(stepped)] == [3]


async def test_the_database_rate_limit_refills_with_the_clock(
    stepped: Runtime, clock: FakeClock
) -> None:
    """2 recipients/s, a burst of 4: four pass, the fifth waits exactly half a second."""
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=100)
    for i in range(4):
        await stepped.orders.send(issued.account, command(f"+90533000001{i}", text=f"t{i}"))
    with pytest.raises(RateLimited) as refused:
        await stepped.orders.send(issued.account, command("+905330000020", text="t4"))
    assert refused.value.headers == {"retry-after": "1"}
    clock.advance(0.499)
    with pytest.raises(RateLimited):
        await stepped.orders.send(issued.account, command("+905330000020", text="t4"))
    clock.advance(0.001)
    assert await stepped.orders.send(issued.account, command("+905330000020", text="t4")) > 0
