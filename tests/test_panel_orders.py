"""Orders in a real browser: the list and its filters, one order's report with why a
recipient was skipped, cancelling a scheduled order (refunded), other accounts' orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.panel import PHONE, Account, PanelSite, login, screenshot

ISTANBUL = ZoneInfo("Europe/Istanbul")


def send(site: PanelSite, account: Account, text: str, *numbers: str, **order: Any) -> str:
    body = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": text, "receipents": {"number": list(numbers)}},
        **order,
    }
    answer = site.v1("send-sms", account, order=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["order"]["id"])


def balance(site: PanelSite, account: Account) -> int:
    answer = site.v1("get-balance", account)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["response"]["balance"]["sms"])


def test_the_report_says_why_each_skipped_recipient_was_not_sent(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    listed = panel_site.v1("add-blacklist", account, blacklist={"number": "05330000002"})
    assert listed.status_code == 200, listed.text
    order = send(panel_site, account, "Merhaba", "05330000001", "05330000002", "12345")
    login(page, panel_site, panel_site.new_user(account))
    page.get_by_role("link", name="Siparişler").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Siparişler"
    page.get_by_role("link", name=order, exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Sipariş {order}"
    rows = {
        row.locator("th").inner_text(): row.inner_text()
        for row in page.locator("#order-messages tbody tr").all()
    }
    assert set(rows) == {"+905330000001", "+905330000002", "12345"}
    assert "Kara listede" in rows["+905330000002"] and "112" in rows["+905330000002"]
    assert "Geçersiz numara" in rows["12345"]
    assert "Kara listede" not in rows["+905330000001"] and "1 kredi" in rows["+905330000001"]
    screenshot(page, "order-tr-desktop")
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Order {order}"
    assert "Blacklisted" in page.locator("#order-messages").inner_text()
    screenshot(page, "order-en-phone")


def test_the_list_filters_by_sender_status_and_day(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(senders=["ILETI", "DIGER"])
    first = send(panel_site, account, "bir", "05330000011")
    other = send(panel_site, account, "iki", "05330000012", sender="DIGER")
    later = (datetime.now(ISTANBUL) + timedelta(days=2)).strftime("%d/%m/%Y %H:%M")
    scheduled = send(panel_site, account, "üç", "05330000013", sendDateTime=later)
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/orders")
    ids = page.locator("tbody th").all_inner_texts()
    assert ids == [scheduled, other, first]  # newest first
    page.get_by_label("Başlık").fill("DIGER")
    page.get_by_role("button", name="Ara").click()
    assert page.locator("tbody th").all_inner_texts() == [other]
    page.goto(f"{panel_site.url}/panel/orders")
    page.get_by_label("Durum").select_option("waiting")
    page.get_by_role("button", name="Ara").click()
    assert page.locator("tbody th").all_inner_texts() == [scheduled]
    assert "Gönderilmeyi bekliyor" in page.locator("tbody").inner_text()
    screenshot(page, "orders-tr-desktop")
    today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
    page.goto(f"{panel_site.url}/panel/orders?start=2020-01-01&end=2020-01-02")
    assert page.get_by_text("Bu süzgece uyan sipariş yok.").is_visible()
    page.goto(f"{panel_site.url}/panel/orders?start={today}&end={today}")
    assert len(page.locator("tbody th").all_inner_texts()) == 3
    answer = page.goto(f"{panel_site.url}/panel/orders?start={today}&end=2020-01-01")
    assert answer is not None and answer.status == 422
    assert page.locator("#f-end-error").is_visible()
    assert page.locator("#f-end").get_attribute("aria-invalid") == "true"
    answer = page.goto(f"{panel_site.url}/panel/orders?start=dün")
    assert answer is not None and answer.status == 422
    assert page.locator("#f-start-error").inner_text() == "Gün YYYY-AA-GG biçiminde olmalı."


def test_cancelling_a_scheduled_order_refunds_it(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(balance=100)
    later = (datetime.now(ISTANBUL) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    order = send(panel_site, account, "yarın", "05330000021", "05330000022", sendDateTime=later)
    assert balance(panel_site, account) == 98
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    assert "2 kredi bakiyenize iade edilir" in page.locator("main").inner_text()
    # Without the confirmation: the form again, the error next to the box, nothing done.
    page.get_by_role("button", name="Siparişi iptal et").click()
    assert page.locator("#f-confirm-error").inner_text() == "İptal için bu kutuyu işaretleyin."
    assert balance(panel_site, account) == 98
    assert page.locator("#order-status").inner_text() == "Gönderilmeyi bekliyor"
    page.get_by_label("Bu siparişi iptal etmek istiyorum").check()
    page.get_by_role("button", name="Siparişi iptal et").click()
    page.wait_for_url(f"{panel_site.url}/panel/orders/{order}")
    assert page.get_by_role("status").inner_text().startswith("Sipariş iptal edildi")
    assert page.locator("#order-status").inner_text() == "İptal edildi"
    assert "Şu anki bakiye: 100 kredi" in page.locator("main").inner_text()
    assert balance(panel_site, account) == 100
    assert page.locator("#order-messages").inner_text().count("Sipariş iptal edildi") == 2
    assert page.get_by_role("button", name="Siparişi iptal et").count() == 0
    screenshot(page, "order-cancelled-tr-desktop")


def test_another_accounts_order_is_not_found(page: Any, panel_site: PanelSite) -> None:
    mine, theirs = panel_site.new_account(), panel_site.new_account(balance=50)
    later = (datetime.now(ISTANBUL) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    order = send(panel_site, theirs, "onların", "05330000031", sendDateTime=later)
    login(page, panel_site, panel_site.new_user(mine))
    for path in (f"/panel/orders/{order}", "/panel/orders/999999999", "/panel/orders/abc"):
        answer = page.goto(f"{panel_site.url}{path}")
        assert answer is not None and answer.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Sayfa bulunamadı"
    # Its cancel form, posted with this user's own session and token: 404, still charged.
    csrf = page.goto(f"{panel_site.url}/panel/orders")
    assert csrf is not None
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{panel_site.url}/panel/orders/{order}/cancel",
        form={"csrf": token or "", "confirm": "yes"},
        headers={"Origin": panel_site.url},
    )
    assert answer.status == 404
    assert balance(panel_site, theirs) == 49
    page.goto(f"{panel_site.url}/panel/orders")
    assert page.get_by_text("Bu süzgece uyan sipariş yok.").is_visible()


def test_a_large_order_and_the_outbox_are_paged(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    numbers = [f"0536{n:07d}" for n in range(120)]
    order = send(panel_site, account, "çok alıcılı", *numbers)
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    first = page.locator("#order-messages tbody th").all_inner_texts()
    assert len(first) == 100 and first[0] == "+905360000000"
    page.get_by_role("link", name="Sonraki alıcılar").click()
    rest = page.locator("#order-messages tbody th").all_inner_texts()
    assert len(rest) == 20 and rest[-1] == "+905360000119"
    assert page.get_by_role("link", name="Sonraki alıcılar").count() == 0
    seen: list[str] = []
    page.goto(f"{panel_site.url}/panel/outbox")
    while True:
        seen.extend(page.locator("#outbox-rows tr td.mono").all_inner_texts())
        older = page.get_by_role("link", name="Daha eski mesajlar")
        if older.count() == 0:
            break
        older.click()
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen[0] == "+905360000119"  # newest first
