"""The relay in the panel, in a real browser, against a real upstream (a second ileti,
``ileti.testing.server.Sandbox``, with an account made through its control API): the
upstream set in Settings → Relay by an admin (a refused hash shown next to its field
with nothing stored; the right one answered with the upstream's balance; the hash never
shown back), a user's page read-only and a user's crafted posts to set or remove it
refused (403, the stored row unchanged), a relayed order's batch sent with the
upstream's order id and what the upstream received, a refused batch with the upstream's
code and message, a sandbox order released by a user to the numbers on the release
list, a relayed scheduled order cancelled upstream first (and the upstream's refusal
shown with nothing changed), the connection test and removal, cross-site posts refused,
another account's order 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ileti.testing.server import Sandbox
from tests.support.panel import PHONE, Account, PanelSite, User, login, screenshot
from tests.support.panel_upstream import (
    UpstreamAccount,
    start_upstream,
    until,
    upstream_account,
)
from tests.support.stored import batches_by_order, upstream_by_key

RELAY = "/panel/settings/relay"
URL_LABEL = "Üst hesabın adresi (URL)"
KEY_LABEL = "Üst hesabın API anahtarı (key)"
HASH_LABEL = "Üst hesabın API hash'i"
SECRET_LABEL = "ya da üst hesabın gizli anahtarı (secret)"
SAVE = "Kaydet ve bağlantıyı dene"
#: The order page's batch table, column by column.
COLUMNS = ("id", "kind", "size", "state", "attempts", "upstream_id", "error")
ISTANBUL = ZoneInfo("Europe/Istanbul")


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    sandbox = start_upstream()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def send(site: PanelSite, account: Account, text: str, *numbers: str, at: str = "") -> str:
    body = {
        "sender": "ILETI",
        "sendDateTime": at,
        "iys": "0",
        "message": {"text": text, "receipents": {"number": list(numbers)}},
    }
    answer = site.v1("send-sms", account, order=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["order"]["id"])


def session_of(page: Any, site: PanelSite) -> httpx.Client:
    """An HTTP client holding the browser's session (and the Origin a browser sends)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "ileti_session")
    client = site.browserless(cookie["value"])
    client.headers["Origin"] = site.url
    return client


def balance(site: PanelSite, account: Account) -> int:
    answer = site.v1("get-balance", account)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["response"]["balance"]["sms"])


def local_status(site: PanelSite, account: Account, order: str) -> int:
    """get-report here: the order's status, or the refusal's code (456: scheduled)."""
    found = site.v1("get-report", account, order={"id": order, "page": 1}).json()["response"]
    code = int(found["status"]["code"])
    return int(found["order"]["status"]) if code == 200 else code


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def set_upstream(
    page: Any,
    site: PanelSite,
    up: UpstreamAccount,
    *,
    mode: str = "Sandbox",
    release: str = "",
    use_secret: bool = False,
) -> None:
    """Fill in and save the relay form; the page then shows the upstream's balance."""
    page.goto(f"{site.url}{RELAY}")
    page.get_by_label(URL_LABEL, exact=True).fill(up.base_url)
    page.get_by_label(KEY_LABEL, exact=True).fill(up.key)
    if use_secret:
        page.get_by_label(SECRET_LABEL, exact=True).fill(up.secret)
    else:
        page.get_by_label(HASH_LABEL, exact=True).fill(up.hash)
    page.get_by_label("Kip", exact=True).select_option(label=mode)
    page.get_by_label("Bırakma listesi", exact=True).fill(release)
    page.get_by_role("button", name=SAVE).click()
    assert "Üst hesap yanıt verdi" in page.locator("#relay-notice").inner_text()


def show_account(page: Any, account: Account) -> None:
    """An admin's pages show ``account`` from now on (the header's account form)."""
    page.get_by_label("Hesap", exact=True).fill(account.key)
    page.get_by_role("button", name="Hesabı göster").click()


def admin_sets_upstream(
    page: Any, site: PanelSite, account: Account, up: UpstreamAccount, **form: Any
) -> User:
    """An admin shows ``account`` and saves its upstream (``set_upstream``'s form), then
    logs out; a user of the account is logged in instead, and returned."""
    login(page, site, site.new_user(admin=True))
    show_account(page, account)
    set_upstream(page, site, up, **form)
    page.context.clear_cookies()
    user = site.new_user(account)
    login(page, site, user)
    return user


def batch_row(page: Any, site: PanelSite, order: str, *states: str) -> dict[str, str]:
    """The order page's first batch, once its state is one of ``states`` (reloading)."""

    def seen() -> dict[str, str] | None:
        page.goto(f"{site.url}/panel/orders/{order}")
        row = page.locator("#batches tbody tr").first
        if row.count() == 0:
            return None
        cells = row.locator("th, td").all_inner_texts()
        found = dict(zip(COLUMNS, cells, strict=True))
        return found if found["state"] in states else None

    return until(seen, within=20)


def test_a_refused_hash_is_shown_at_its_field_and_nothing_is_stored(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream, balance=777)
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(admin=True))
    show_account(page, account)
    page.get_by_role("link", name="Aktarım", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Aktarım (üst hesap)"
    assert "Bu hesabın üst hesabı yok" in page.locator("#relay-state").inner_text()
    url = page.get_by_label(URL_LABEL, exact=True)
    assert url.input_value() == "https://api.iletimerkezi.com/v1/"
    url.fill(up.base_url)
    page.get_by_label(KEY_LABEL, exact=True).fill(up.key)
    page.get_by_label(HASH_LABEL, exact=True).fill("0" * 64)
    page.get_by_role("button", name=SAVE).click()
    error = page.locator("#f-hash-error")
    refused = "Hash kullanılamıyor: the upstream refused the credentials"
    assert error.inner_text().startswith(refused)
    assert page.get_by_label(HASH_LABEL, exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label(HASH_LABEL, exact=True).input_value() == ""
    assert page.get_by_label(KEY_LABEL, exact=True).input_value() == up.key
    assert "Form kaydedilmedi: 1 hata." in page.get_by_role("alert").first.inner_text()
    assert upstream_by_key(panel_site.database_url, account.key) is None
    screenshot(page, "relay-refused-tr-desktop")

    # A bad URL: its own field, still nothing stored.
    page.get_by_label(URL_LABEL, exact=True).fill("ftp://upstream.example/")
    page.get_by_label(HASH_LABEL, exact=True).fill(up.hash)
    page.get_by_role("button", name=SAVE).click()
    assert page.locator("#f-url-error").inner_text().startswith("Üst hesaba ulaşılamıyor:")
    assert page.locator("#f-hash-error").count() == 0
    assert upstream_by_key(panel_site.database_url, account.key) is None

    # The right hash: the upstream's balance, stored sealed, never shown back.
    page.get_by_label(URL_LABEL, exact=True).fill(up.base_url)
    page.get_by_label(HASH_LABEL, exact=True).fill(up.hash)
    page.get_by_role("button", name=SAVE).click()
    notice = page.locator("#relay-notice").inner_text()
    assert notice.startswith("Kaydedildi. Üst hesap yanıt verdi. Bakiyesi: 777 SMS"), notice
    row = upstream_by_key(panel_site.database_url, account.key)
    assert row is not None
    assert (row["key"], row["mode"], row["base_url"]) == (up.key, "sandbox", up.base_url)
    assert up.hash not in row["hash_sealed"]
    assert up.hash not in page.content()
    assert page.get_by_label(HASH_LABEL, exact=True).input_value() == ""
    assert page.locator("#state-hash").inner_text().startswith("Bir hash saklanıyor")
    assert page.locator("#state-mode").inner_text() == "Sandbox"
    # Saving again without a hash keeps the one stored (no new hash needed).
    page.get_by_label("Bırakma listesi", exact=True).fill("05330000001\n+905330000002")
    page.get_by_role("button", name=SAVE).click()
    assert page.locator("#relay-notice").inner_text() == "Kaydedildi."
    row = upstream_by_key(panel_site.database_url, account.key)
    assert row is not None and row["hash_sealed"]
    assert page.get_by_label("Bırakma listesi", exact=True).input_value() == (
        "+905330000001\n+905330000002"
    )
    # A bad release list: the field named, the stored list kept.
    page.get_by_label("Bırakma listesi", exact=True).fill("05330000001\n12345")
    page.get_by_role("button", name=SAVE).click()
    assert (
        "not a Turkish mobile number: '12345'"
        in page.locator("#f-release_numbers-error").inner_text()
    )
    row = upstream_by_key(panel_site.database_url, account.key)
    assert row is not None and '"+905330000002"' in row["release_numbers"]
    screenshot(page, "relay-tr-desktop")


def test_a_relayed_order_shows_its_batch_sent_with_the_upstream_id(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    account = panel_site.new_account()
    admin_sets_upstream(page, panel_site, account, up, mode="Aktarım", use_secret=True)
    page.goto(f"{panel_site.url}{RELAY}")
    assert page.locator("#state-mode").inner_text() == "Aktarım"
    listed = panel_site.v1("add-blacklist", account, blacklist={"number": "05330000102"})
    assert listed.status_code == 200, listed.text
    order = send(panel_site, account, "Merhaba aktarım", "05330000101", "05330000102")
    batch = batch_row(page, panel_site, order, "Gönderildi", "Tamamlandı")
    assert batch["kind"] == "Aktarım" and batch["size"] == "1" and batch["attempts"] == "1"
    assert batch["upstream_id"].isdigit()
    # What the upstream received: only the recipient the local blacklist let through.
    assert up.received(batch["upstream_id"]) == ["+905330000101"]
    assert page.locator("#relayed-note").inner_text() == "Bu sipariş üst hesaba aktarıldı."
    assert page.locator("#relay-error").count() == 0
    assert page.get_by_role("button", name="Üst hesaba serbest bırak").count() == 0
    screenshot(page, "order-relayed-tr-desktop")
    # The message's page says it was relayed, and by which batch.
    page.locator("#order-messages tr", has_text="+905330000101").get_by_role("link").click()
    relay = page.locator("#message-relay").inner_text()
    assert relay.startswith("Üst hesaba aktarıldı · Parti "), relay
    assert batch["upstream_id"] in relay
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    page.locator("#order-messages tr", has_text="+905330000102").get_by_role("link").click()
    assert "ama üst hesaba gönderilmedi" in page.locator("#message-relay").inner_text()
    # The settings page counts the batch.
    page.goto(f"{panel_site.url}{RELAY}")
    counts = page.locator("#relay-counts")
    sent = int(counts.locator("[data-state=sent]").inner_text())
    done = int(counts.locator("[data-state=done]").inner_text())
    assert sent + done == 1


def test_a_batch_the_upstream_refuses_shows_its_code_and_message(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream, balance=0)  # the upstream answers send-sms 402
    account = panel_site.new_account()
    admin_sets_upstream(page, panel_site, account, up, mode="Aktarım")
    order = send(panel_site, account, "Bakiye yok", "05330000111")
    batch = batch_row(page, panel_site, order, "Başarısız")
    assert batch["error"].startswith("402 "), batch
    assert batch["upstream_id"] == ""
    assert page.locator("#relay-error").inner_text().startswith("Üst hesabın reddi: 402 ")
    rows = page.locator("#order-messages tbody tr").first.inner_text()
    assert "112" in rows and "Üst hesap göndermedi" in rows
    assert up.all_received() == []
    screenshot(page, "order-refused-tr-desktop")


def test_a_sandbox_order_is_released_to_the_numbers_on_the_release_list(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(account))
    order = send(panel_site, account, "Önce yakalandı", "05330000121", "05330000122")
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    assert page.locator("#relay").count() == 0  # no upstream yet: nothing to release to
    page.context.clear_cookies()
    admin_sets_upstream(page, panel_site, account, up, release="05330000121")
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    assert page.locator("#release-plan").inner_text().count("+905330000121") == 2
    assert page.locator("#release-reach").inner_text() == "+905330000121"
    button = page.get_by_role("button", name="Üst hesaba serbest bırak")
    button.click()  # not confirmed: nothing released
    assert page.locator("#f-release-error").inner_text() == "Onay için bu kutuyu işaretleyin."
    assert batches_by_order(panel_site.database_url, int(order)) == []
    page.get_by_label("Bu siparişi üst hesaba serbest bırakmak istiyorum").check()
    page.get_by_role("button", name="Üst hesaba serbest bırak").click()
    assert page.get_by_role("status").inner_text() == (
        "Sipariş üst hesaba serbest bırakıldı; partileri aşağıda."
    )
    batch = batch_row(page, panel_site, order, "Gönderildi", "Tamamlandı")
    assert batch["kind"] == "Serbest bırakma" and batch["size"] == "1"
    assert page.get_by_role("heading", name="Serbest bırakılan partiler").is_visible()
    assert up.received(batch["upstream_id"]) == ["+905330000121"]
    assert page.get_by_role("button", name="Üst hesaba serbest bırak").count() == 0
    screenshot(page, "order-released-tr-desktop")
    page.locator("#order-messages tr", has_text="+905330000121").get_by_role("link").click()
    assert page.locator("#message-relay").inner_text().startswith("Üst hesaba serbest bırakıldı")
    # Released once: the same form posted again is refused with the reason, no new batch.
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(f"/panel/orders/{order}").text)
    again = client.post(f"/panel/orders/{order}/release", data={"csrf": csrf, "confirm": "yes"})
    assert again.status_code == 409
    assert "was released already" in again.text
    assert len(batches_by_order(panel_site.database_url, int(order))) == 1


def test_cross_site_posts_and_other_accounts_orders_are_refused(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    mine, theirs = panel_site.new_account(), panel_site.new_account()
    admin_sets_upstream(page, panel_site, mine, up, release="05330000131")
    order = send(panel_site, mine, "benim", "05330000131")
    other = send(panel_site, theirs, "onların", "05330000131")
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(RELAY).text)
    evil = {"Origin": "https://evil.example"}
    fields = {"csrf": csrf, "url": up.base_url, "key": "x", "hash": "1" * 64, "mode": "relay"}
    for path, data in [
        (RELAY, fields),
        (f"{RELAY}/remove", {"csrf": csrf, "confirm": "yes"}),
        (f"{RELAY}/check", {"csrf": csrf}),
        (f"/panel/orders/{order}/release", {"csrf": csrf, "confirm": "yes"}),
    ]:
        answer = client.post(path, data=data, headers=evil)
        assert answer.status_code == 403, path
        assert "İzin yok" in answer.text
        # Our own origin without the token: refused the same way.
        answer = client.post(path, data={k: v for k, v in data.items() if k != "csrf"})
        assert answer.status_code == 403, path
    row = upstream_by_key(panel_site.database_url, mine.key)
    assert row is not None and (row["key"], row["mode"]) == (up.key, "sandbox")
    assert batches_by_order(panel_site.database_url, int(order)) == []
    # Another account's order: 404 to look at and to release, with this user's token.
    for path in (f"/panel/orders/{other}", "/panel/orders/999999999"):
        answer = page.goto(f"{panel_site.url}{path}")
        assert answer is not None and answer.status == 404, path
    answer = client.post(f"/panel/orders/{other}/release", data={"csrf": csrf, "confirm": "yes"})
    assert answer.status_code == 404
    assert "Sayfa bulunamadı" in answer.text
    assert batches_by_order(panel_site.database_url, int(other)) == []


def test_the_connection_test_removal_and_an_admin_on_another_account(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream, balance=321)
    account = panel_site.new_account()
    admin = panel_site.new_user(admin=True)
    login(page, panel_site, admin)
    show_account(page, account)
    set_upstream(page, panel_site, up)
    row = upstream_by_key(panel_site.database_url, account.key)
    assert row is not None and row["key"] == up.key
    page.get_by_role("button", name="Bağlantıyı dene", exact=True).click()
    assert "Bakiyesi: 321 SMS" in page.locator("#relay-notice").inner_text()
    assert page.locator("#state-checked").inner_text() != "hiç"
    assert page.locator("#state-error").inner_text() == "yok"
    # Removing needs the box ticked.
    page.get_by_role("button", name="Üst hesabı kaldır").click()
    assert page.locator("#f-confirm-error").inner_text() == "Onay için bu kutuyu işaretleyin."
    assert upstream_by_key(panel_site.database_url, account.key) is not None
    page.get_by_label("Bu hesabın üst hesabını kaldırmak istiyorum").check()
    page.get_by_role("button", name="Üst hesabı kaldır").click()
    assert page.get_by_role("status").inner_text() == "Üst hesap kaldırıldı."
    assert "Bu hesabın üst hesabı yok" in page.locator("#relay-state").inner_text()
    assert upstream_by_key(panel_site.database_url, account.key) is None


def test_the_relay_pages_in_english_at_phone_width(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    account = panel_site.new_account()
    admin_sets_upstream(page, panel_site, account, up, release="05330000141")
    order = send(panel_site, account, "Hello", "05330000141", "05330000142")
    page.goto(f"{panel_site.url}{RELAY}")
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Relay (upstream)"
    assert page.locator("#state-hash").inner_text() == "A hash is kept, encrypted (never shown)."
    assert (
        page.locator("#relay-admin-only")
        .inner_text()
        .startswith("Only an admin sets, changes or removes the upstream.")
    )
    screenshot(page, "relay-en-phone")
    page.goto(f"{panel_site.url}/panel/orders/{order}")
    assert page.locator("#release-reach").inner_text() == "+905330000141"
    page.get_by_label("I want to release this order to the upstream").check()
    page.get_by_role("button", name="Release to the upstream").click()
    batch = batch_row(page, panel_site, order, "Sent", "Done")
    assert batch["kind"] == "Release"
    screenshot(page, "order-released-en-phone")


def test_a_user_sees_the_upstream_read_only_and_may_not_change_it(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream, balance=555)
    account = panel_site.new_account()
    # Without an upstream: the user is told so, and that an admin sets it; no form.
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}{RELAY}")
    assert "Bu hesabın üst hesabı yok" in page.locator("#relay-state").inner_text()
    assert (
        page.locator("#relay-admin-only")
        .inner_text()
        .startswith("Üst hesabı yalnızca bir yönetici ayarlar")
    )
    assert page.locator("main input:not([type=hidden]), main select, main textarea").count() == 0
    page.context.clear_cookies()
    admin_sets_upstream(page, panel_site, account, up, release="05330000161\n05330000162")
    page.goto(f"{panel_site.url}{RELAY}")
    state = {
        dt: dd
        for dt, dd in zip(
            page.locator("#relay-state dt").all_inner_texts(),
            page.locator("#relay-state dd").all_inner_texts(),
            strict=True,
        )
    }
    assert state["Üst hesabın adresi (URL)"] == up.base_url
    assert state["Üst hesabın API anahtarı (key)"] == up.key
    assert state["Kip"] == "Sandbox"
    assert state["Kara listeyi üst hesapla eşitle"] == "kapalı"
    assert state["Bırakma listesi"] == "+905330000161, +905330000162"
    assert state["Son başarılı deneme"] != "hiç"
    assert state["Son hata"] == "yok"
    assert up.hash not in page.content()
    assert page.locator("#relay-counts [data-state=pending]").inner_text() == "0"
    # Nothing to change it with: no field, no save, no removal.
    assert page.locator("main input:not([type=hidden]), main select, main textarea").count() == 0
    assert page.get_by_role("button", name=SAVE).count() == 0
    assert page.get_by_role("button", name="Üst hesabı kaldır").count() == 0
    assert page.locator("#relay-admin-only").is_visible()
    screenshot(page, "relay-readonly-tr-desktop")
    # The connection test is harmless: a user may press it.
    page.get_by_role("button", name="Bağlantıyı dene", exact=True).click()
    assert "Bakiyesi: 555 SMS" in page.locator("#relay-notice").inner_text()
    before = upstream_by_key(panel_site.database_url, account.key)
    assert before is not None
    # Crafted posts from our own origin with the session's token: the panel's 403.
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(RELAY).text)
    other = upstream_account(upstream)
    fields = {
        "csrf": csrf,
        "url": other.base_url,
        "key": other.key,
        "hash": other.hash,
        "mode": "relay",
        "blacklist_sync": "1",
        "release_numbers": "05330000169",
    }
    for path, data in [(RELAY, fields), (f"{RELAY}/remove", {"csrf": csrf, "confirm": "yes"})]:
        answer = client.post(path, data=data)
        assert answer.status_code == 403, path
        assert "İzin yok" in answer.text
    after = upstream_by_key(panel_site.database_url, account.key)
    assert after == before
    assert (after["key"], after["mode"], after["base_url"]) == (up.key, "sandbox", up.base_url)


def test_a_relayed_scheduled_order_is_cancelled_upstream_first(
    page: Any, panel_site: PanelSite, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    account = panel_site.new_account(balance=100)
    admin_sets_upstream(page, panel_site, account, up, mode="Aktarım")
    later = (datetime.now(ISTANBUL) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    order = send(panel_site, account, "yarın", "05330000171", "05330000172", at=later)
    kept = send(panel_site, account, "yarın da", "05330000173", at=later)
    assert balance(panel_site, account) == 97
    batch = batch_row(page, panel_site, order, "Gönderildi")
    assert up.order_status(batch["upstream_id"]) == 456  # upstream, scheduled
    assert page.locator("#order-status").inner_text() == "Gönderilmeyi bekliyor"
    assert "önce üst hesapta iptal edilir" in page.locator("main").inner_text()
    page.get_by_label("Bu siparişi iptal etmek istiyorum").check()
    page.get_by_role("button", name="Siparişi iptal et").click()
    page.wait_for_url(f"{panel_site.url}/panel/orders/{order}")
    assert page.get_by_role("status").inner_text().startswith("Sipariş iptal edildi")
    assert page.locator("#order-status").inner_text() == "İptal edildi"
    assert up.order_status(batch["upstream_id"]) == 115
    assert local_status(panel_site, account, order) == 115
    assert balance(panel_site, account) == 99
    assert page.get_by_role("button", name="Siparişi iptal et").count() == 0
    screenshot(page, "order-relayed-cancelled-tr-desktop")

    # The upstream refuses (its order was cancelled there already): 455 shown, nothing
    # changes here.
    refused = batch_row(page, panel_site, kept, "Gönderildi")
    upstream_id = refused["upstream_id"]
    cancelled = up.v1("cancel-order", order={"id": upstream_id})
    assert cancelled["status"]["code"] == 200, cancelled
    page.get_by_label("Bu siparişi iptal etmek istiyorum").check()
    page.get_by_role("button", name="Siparişi iptal et").click()
    error = page.locator("#f-confirm-error").inner_text()
    assert error.startswith("Sipariş iptal edilemedi: the upstream refused the cancel: 455 "), error
    assert page.locator("#order-status").inner_text() == "Gönderilmeyi bekliyor"
    assert local_status(panel_site, account, kept) == 456
    assert balance(panel_site, account) == 99
    states = [b["state"] for b in batches_by_order(panel_site.database_url, int(kept))]
    assert states == ["sent"]
    screenshot(page, "order-relayed-cancel-refused-tr-desktop")
