"""The panel's order list walk (services/order_pages.py) on SQLite and PostgreSQL.

Kept apart from the browser tests of tests/test_panel_orders.py: async tests cannot run
once the session's Playwright (sync API) has started its event loop."""

from __future__ import annotations

import pytest

from ileti.api.runtime import Runtime
from ileti.models import OutgoingText, SendCommand
from ileti.services import order_pages


async def test_a_filtered_list_walks_a_bounded_window_and_goes_on(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a sender filter a page reads at most WALK orders; when that runs out it
    says so and the next page goes on below the last order it read."""
    monkeypatch.setattr(order_pages, "WALK", 4)
    issued = await runtime.accounts.create("walk", senders=("ILETI", "DIGER"), balance=100)
    account = issued.account
    ids = []
    for n in range(10):
        sender = "DIGER" if n in (1, 8) else "ILETI"
        command = SendCommand(
            sender, None, "0", None, (OutgoingText(f"m{n}", (f"0537000000{n}",)),)
        )
        ids.append(await runtime.orders.send(account, command))
    pages = order_pages.OrderPages(runtime.store)
    everything = await pages.list(account.id, order_pages.order_filter(), size=4)
    assert [o.id for o in everything.orders] == ids[::-1][:4] and not everything.partial
    found = order_pages.order_filter(sender="DIGER")
    seen, cursor, partials = [], None, 0
    for _ in range(10):
        page = await pages.list(account.id, found, cursor, size=4)
        seen.extend(o.id for o in page.orders)
        partials += page.partial
        if page.next is None:
            break
        cursor = page.next
    assert seen == [ids[8], ids[1]]
    assert partials >= 2  # 10 orders, 4 read a page
    waiting = await pages.list(account.id, order_pages.order_filter(status="waiting"))
    assert waiting.orders == [] or all(not o.dispatched for o in waiting.orders)
    with pytest.raises(order_pages.OrderQueryError) as bad:
        order_pages.order_filter(start="2026-02-30")
    assert bad.value.field == "start"
    with pytest.raises(order_pages.OrderQueryError) as bad:
        await pages.list(account.id, found, "not-a-cursor")
    assert bad.value.field == "cursor"
