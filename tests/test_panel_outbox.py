"""The sandbox outbox in a real browser: messages sent through the API appear in the
open page without a reload (from this server and from another process on the same
database), the search by recipient, sender and text, and a message's part breakdown."""

from __future__ import annotations

import contextlib
import re
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.support.panel import PHONE, SERVER_ENV, Account, PanelSite, login, screenshot
from tests.support.processes import serving

LIVE = "#outbox-rows tr"


def send(
    site: PanelSite,
    account: Account,
    text: str,
    *numbers: str,
    sender: str = "ILETI",
    url: str | None = None,
) -> str:
    body = {
        "sender": sender,
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": text, "receipents": {"number": list(numbers)}},
    }
    if url is None:
        answer = site.v1("send-sms", account, order=body)
    else:
        request = {"request": {"authentication": account.auth(), "order": body}}
        answer = site.http.post(f"{url}/v1/send-sms/json", json=request)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["order"]["id"])


def open_outbox(page: Any, site: PanelSite, query: str = "") -> None:
    page.goto(f"{site.url}/panel/outbox{query}")
    # The live stream is open once its status says so (a locator: the page's CSP
    # refuses the eval a string predicate would need).
    expect(page.locator("#outbox-live")).to_have_text(re.compile(r"^Canlı"))


def test_a_message_sent_through_the_api_appears_without_reload(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(account))
    open_outbox(page, panel_site)
    assert page.get_by_role("heading", level=1).inner_text() == "Sandbox giden kutusu"
    assert page.get_by_text("Mesaj yok.").is_visible()
    page.evaluate("window.notReloaded = true")
    text = f"Kodunuz {secrets.randbelow(10**6):06d}"
    send(panel_site, account, text, "05320000001")
    row = page.locator(LIVE).filter(has_text=text)
    row.wait_for(timeout=2000)  # within 2 s, no reload
    assert page.evaluate("window.notReloaded") is True
    assert "+905320000001" in row.inner_text() and "ILETI" in row.inner_text()
    assert not page.get_by_text("Mesaj yok.").is_visible()
    assert "Yeni mesaj: 1" in page.locator("#outbox-live").inner_text()
    screenshot(page, "outbox-tr-desktop")


def test_the_live_page_keeps_to_its_filters(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(account))
    open_outbox(page, panel_site, "?recipient=0532+000+00+02")
    send(panel_site, account, "başka bir alıcıya", "05320000003")
    send(panel_site, account, "bu alıcıya", "05320000002")
    page.locator(LIVE).filter(has_text="bu alıcıya").wait_for(timeout=2000)
    time.sleep(0.3)
    assert page.locator(LIVE).count() == 1


def test_a_message_stored_by_another_process_appears_within_a_second(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    """Another ``ileti serve`` on the same database stores the message: the open page
    shows it within 1 s of the API's answer (the figure is printed)."""
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(account))
    open_outbox(page, panel_site)
    with serving(panel_site.database_url, tmp_path, env=SERVER_ENV) as (other,):
        figures = []
        for n in range(5):
            text = f"öteki süreç {n} {secrets.token_hex(3)}"
            send(panel_site, account, text, f"0532000010{n}", url=other.url)
            stored = time.monotonic()
            page.locator(LIVE).filter(has_text=text).wait_for(timeout=2000)
            figures.append(time.monotonic() - stored)
    print(f"live outbox, another process: {', '.join(f'{f * 1000:.0f} ms' for f in figures)}")
    assert max(figures) < 1.0


def test_search_by_recipient_sender_and_text(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(senders=["ILETI", "DIGER"])
    tag = secrets.token_hex(3)
    send(panel_site, account, f"ilk {tag}", "05320000011")
    send(panel_site, account, f"ikinci {tag}", "05320000012", sender="DIGER")
    send(panel_site, account, f"üçüncü {tag}", "05320000013")
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/outbox")
    assert page.locator(LIVE).count() == 3
    # A recipient in another accepted form finds its message.
    page.get_by_label("Alıcı").fill("+90 532 000 00 13")
    page.get_by_role("button", name="Ara").click()
    assert page.locator(LIVE).count() == 1
    assert "üçüncü" in page.locator(LIVE).inner_text()
    page.goto(f"{panel_site.url}/panel/outbox?sender=DIGER")
    assert page.locator(LIVE).count() == 1 and "ikinci" in page.locator(LIVE).inner_text()
    page.goto(f"{panel_site.url}/panel/outbox")
    page.get_by_label("Metin").fill("ilk ")
    page.get_by_role("button", name="Ara").click()
    assert page.locator(LIVE).count() == 1 and "ilk" in page.locator(LIVE).inner_text()
    page.get_by_label("Metin").fill("yok-böyle-bir-metin")
    page.get_by_role("button", name="Ara").click()
    assert page.locator(LIVE).count() == 0
    assert page.get_by_text("Mesaj yok.").is_visible()


def test_a_search_with_a_bad_value_shows_the_error_next_to_the_field(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/outbox")
    page.get_by_label("Metin").fill("a\x00b")
    response = page.request.get(f"{panel_site.url}/panel/outbox?text=a%00b")
    assert response.status == 422
    page.goto(f"{panel_site.url}/panel/outbox?text=a%00b")
    assert page.locator("#f-text-error").inner_text() == "Bu metin aranamıyor."
    assert page.get_by_role("alert").is_visible()


def test_the_message_page_shows_the_part_breakdown(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(unit_price="0.25")
    turkish = "Çağrınız için teşekkürler, ığdır " * 6  # about 200 characters: 2 parts
    emoji = "Siparişiniz yolda 🚚"
    send(panel_site, account, turkish, "05320000021")
    send(panel_site, account, emoji, "05320000022")
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/outbox")
    page.locator(LIVE).filter(has_text="Çağrınız").get_by_role("link").first.click()
    assert page.locator("#encoding").inner_text() == "GSM-7, Türkçe tek kaydırma tablosu"
    assert page.locator("#part-count").inner_text() == "2"
    forcing = page.locator("#forcing").inner_text()
    for letter in ("ğ", "ı", "ş"):
        assert letter in forcing
    assert "U+011F" in forcing
    assert page.locator("#parts tbody tr").count() == 2
    parts = page.locator("#parts tbody tr .part-text").all_inner_texts()
    assert "".join(parts) == turkish
    assert page.locator("#price").inner_text() == "2 kredi"
    assert "2 parça × 1 kredi = 2 kredi." in page.locator("#price-line").inner_text()
    assert "0.500 TL" in page.locator("#price-line").inner_text()
    screenshot(page, "outbox-message-tr-desktop")
    page.goto(f"{panel_site.url}/panel/outbox")
    page.locator(LIVE).filter(has_text="yolda").get_by_role("link").first.click()
    assert page.locator("#encoding").inner_text() == "UCS-2"
    forcing = page.locator("#forcing").inner_text()
    assert "🚚" in forcing and "U+1F69A" in forcing and "ş" not in forcing
    assert page.locator("#part-count").inner_text() == "1"
    page.set_viewport_size(PHONE)
    screenshot(page, "outbox-message-tr-phone")
    page.get_by_role("link", name="English").click()
    assert page.locator("#encoding").inner_text() == "UCS-2"
    assert page.get_by_role("heading", name="Part breakdown").is_visible()
    screenshot(page, "outbox-message-en-phone")


def test_another_accounts_message_is_not_found(page: Any, panel_site: PanelSite) -> None:
    mine, theirs = panel_site.new_account(), panel_site.new_account()
    send(panel_site, theirs, "başkasının mesajı", "05320000031")
    login(page, panel_site, panel_site.new_user(theirs))
    page.goto(f"{panel_site.url}/panel/outbox")
    href = page.locator(LIVE).first.get_by_role("link").first.get_attribute("href")
    assert href is not None and re.fullmatch(r"/panel/outbox/\d+", href)
    page.context.clear_cookies()
    login(page, panel_site, panel_site.new_user(mine))
    for path in (
        href,
        href.replace("/outbox/", "/outbox/row/"),
        "/panel/outbox/999999999",
        "/panel/outbox/x",
    ):
        answer = page.goto(f"{panel_site.url}{path}")
        assert answer is not None and answer.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Sayfa bulunamadı"
    page.goto(f"{panel_site.url}/panel/outbox")
    assert page.get_by_text("Mesaj yok.").is_visible()


def test_the_outbox_works_without_javascript(chromium: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    context = chromium.new_context(java_script_enabled=False, locale="tr-TR")
    try:
        page = context.new_page()
        login(page, panel_site, panel_site.new_user(account))
        page.goto(f"{panel_site.url}/panel/outbox")
        assert (
            page.locator("#outbox-live").inner_text()
            == "Yeni mesajları görmek için sayfayı yenileyin."
        )
        send(panel_site, account, "yenileyince görünür", "05320000041")
        page.reload()
        assert page.locator(LIVE).filter(has_text="yenileyince görünür").count() == 1
    finally:
        context.close()


def browser_session(site: PanelSite, user: Any) -> httpx.Client:
    """An HTTP client logged in through the form (as a browser would)."""
    client = httpx.Client(base_url=site.url, timeout=5)
    form = client.get("/panel/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/panel/login",
        data={"csrf": token.group(1), "email": user.email, "password": user.password},
    )
    assert answer.status_code == 303, answer.text
    return client


def test_a_live_stream_carries_new_ids_and_ends_when_the_server_stops(tmp_path: Path) -> None:
    """The events stream names each new message of the account (not another account's),
    and SIGTERM ends it at once (``event: closing``) instead of holding the shutdown."""
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    with serving(url, tmp_path, env=SERVER_ENV) as (server,):
        site = PanelSite(server, url)
        try:
            account, other = site.new_account(), site.new_account()
            client = browser_session(site, site.new_user(account))
            with client.stream("GET", "/panel/outbox/events") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                assert next(lines) == "retry: 2000"
                send(site, other, "başka hesap", "05350000001")
                order = send(site, account, "bu hesap", "05350000002")
                events = []
                for line in lines:
                    events.append(line)
                    if line.startswith("data: "):
                        break
                message_id = events[-1].removeprefix("data: ")
                assert events[-3:] == [f"id: {message_id}", "event: message", f"data: {message_id}"]
                row = client.get(f"/panel/outbox/row/{message_id}")
                assert row.status_code == 200 and "bu hesap" in row.text
                assert f"/panel/orders/{order}" in row.text
                server.proc.send_signal(signal.SIGTERM)
                stopped = time.monotonic()
                rest = list(lines)
                assert "event: closing" in rest
                assert time.monotonic() - stopped < 2.0
            server.proc.wait(timeout=15)
            client.close()
        finally:
            site.close()


def test_live_streams_are_bounded_per_account_and_per_process(tmp_path: Path) -> None:
    """50 streams per account (the 51st is told ``busy``), 100 per process (one more is
    503), and a closed stream gives its place back."""
    url = f"sqlite:///{tmp_path / 'streams.db'}"
    with serving(url, tmp_path, env=SERVER_ENV) as (server,), contextlib.ExitStack() as open_:
        site = PanelSite(server, url)
        open_.callback(site.close)
        sessions = [browser_session(site, site.new_user(site.new_account())) for _ in range(3)]
        for client in sessions:
            open_.callback(client.close)

        readers: list[Any] = []  # a dropped line iterator would close its connection

        def stream(client: httpx.Client) -> tuple[httpx.Response, Any]:
            response = open_.enter_context(client.stream("GET", "/panel/outbox/events"))
            readers.append(response.iter_lines())
            return response, readers[-1]

        first: list[httpx.Response] = []
        for n in range(50):
            # A connection of its own per stream, as browser tabs have.
            client = httpx.Client(base_url=site.url, cookies=sessions[0].cookies, timeout=5)
            open_.callback(client.close)
            response, lines = stream(client)
            assert response.status_code == 200 and next(lines) == "retry: 2000", n
            first.append(response)
        extra = httpx.Client(base_url=site.url, cookies=sessions[0].cookies, timeout=5)
        open_.callback(extra.close)
        response, lines = stream(extra)
        assert [next(lines) for _ in range(3)] == ["retry: 2000", "", "event: busy"]
        for _ in range(50):
            client = httpx.Client(base_url=site.url, cookies=sessions[1].cookies, timeout=5)
            open_.callback(client.close)
            response, lines = stream(client)
            assert response.status_code == 200 and next(lines) == "retry: 2000"
        assert sessions[2].get("/panel/outbox/events").status_code == 503
        for response in first:
            response.close()
        deadline = time.monotonic() + 5
        while True:
            with sessions[2].stream("GET", "/panel/outbox/events") as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams were not given back"
            time.sleep(0.1)
