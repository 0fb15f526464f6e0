"""The settings pages in a real browser: access permissions (the "API kullanımına izin
ver" switch and the allow-list, with their effect on the v1 API), API keys (rotation:
the secret shown once, the old hash refused at once) and sending settings (senders,
webhook URL and its recent attempts, what a user may not change). Each POST's
validation is also checked without a browser, with the session's cookie."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.panel import ADMIN_TOKEN, Account, PanelSite, User, login, screenshot
from tests.support.processes import serving
from tests.support.sms import DELIVERED_TO

ACCESS = "/panel/settings/security/access"
KEYS = "/panel/settings/keys"
SENDING = "/panel/settings/sending"
#: The propagation a test allows (the site polls every 0.1 s; the brief's bound is 2 s).
PROPAGATION = 2.0


def v1_code(site: PanelSite, account: Account) -> int:
    """get-balance's HTTP status, checked against the body's code."""
    answer = site.v1("get-balance", account)
    assert answer.json()["response"]["status"]["code"] == answer.status_code
    return answer.status_code


def v1_becomes(site: PanelSite, account: Account, code: int) -> None:
    """get-balance answers ``code`` within the propagation bound."""
    deadline = time.monotonic() + PROPAGATION
    while (seen := v1_code(site, account)) != code:
        assert time.monotonic() < deadline, f"get-balance still answers {seen}, not {code}"
        time.sleep(0.05)


def stored(site: PanelSite, account: Account) -> dict[str, Any]:
    """The account as the control API shows it."""
    answer = site.control("GET", f"/accounts/{account.key}")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    return data.get("account", data)


def session_of(page: Any, site: PanelSite) -> httpx.Client:
    """An HTTP client holding the browser's session (and the Origin a browser sends)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "ileti_session")
    client = site.browserless(cookie["value"])
    client.headers["Origin"] = site.url
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def main_of(html: str) -> str:
    """The page's own part (the frame echoes the URL in its language links)."""
    found = re.search(r"<main.*</main>", html, re.S)
    assert found is not None
    return found.group(0)


def logged_in(page: Any, site: PanelSite, account: Account, *, admin: bool = False) -> User:
    user = site.new_user(None if admin else account, admin=admin)
    login(page, site, user)
    if admin:
        page.get_by_label("Hesap").fill(account.key)
        page.get_by_role("button", name="Hesabı göster").click()
    return user


# -- access permissions -------------------------------------------------------------------


def test_the_api_access_switch_turns_the_api_off_and_on(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    assert v1_code(panel_site, account) == 200
    page.goto(panel_site.url + ACCESS)
    assert page.get_by_role("heading", level=1).inner_text() == "Erişim İzinleri"
    switch = page.get_by_label("API kullanımına izin ver", exact=True)
    assert switch.is_checked()
    assert "401" in page.get_by_text("Kapalıyken bu hesabın her API çağrısı").inner_text()
    assert "0,1 saniye" in page.locator("main").inner_text()  # the site's refresh bound
    assert page.locator("#your-address").inner_text() == "127.0.0.1"
    screenshot(page, "settings-access-tr-desktop")

    switch.uncheck()
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    assert not page.get_by_label("API kullanımına izin ver", exact=True).is_checked()
    assert stored(panel_site, account)["api_access"] is False
    v1_becomes(panel_site, account, 401)

    page.get_by_label("API kullanımına izin ver", exact=True).check()
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    v1_becomes(panel_site, account, 200)


def test_a_switch_change_reaches_another_instance_within_the_bound(
    chromium: Any, tmp_path: Path
) -> None:
    """Two servers on one database with the documented default refresh (0.5 s): API
    access switched off in one's panel is refused by the other within the bound (with
    a little slack for the poll and the request)."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    env = {"ILETI_ADMIN_TOKEN": ADMIN_TOKEN, "ILETI_AUTH_FAILURE_LIMIT": "0"}
    with serving(url, tmp_path, count=2, env=env) as (first, second):
        site, other = PanelSite(first, url), PanelSite(second, url)
        context = chromium.new_context(locale="tr-TR")
        try:
            account = site.new_account()
            page = context.new_page()
            login(page, site, site.new_user(account))
            page.goto(site.url + ACCESS)
            assert "0,5 saniye" in page.locator("main").inner_text()
            assert v1_code(other, account) == 200
            page.get_by_label("API kullanımına izin ver", exact=True).uncheck()
            page.get_by_role("button", name="Kaydet").click()
            assert page.get_by_role("status").inner_text() == "Kaydedildi."
            saved = time.monotonic()
            while v1_code(other, account) != 401:
                assert time.monotonic() - saved < 1.5, "the other instance still answers 200"
                time.sleep(0.02)
        finally:
            context.close()
            site.close()
            other.close()


def test_the_allow_list_decides_which_addresses_may_call(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + ACCESS)
    field = page.get_by_label("Sabit IP izin listesi")
    field.fill("10.9.8.7")
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    assert stored(panel_site, account)["allow_ips"] == ["10.9.8.7/32"]
    v1_becomes(panel_site, account, 401)

    page.get_by_label("Sabit IP izin listesi").fill("10.9.8.7\n127.0.0.1/32, 2001:db8::/32")
    page.get_by_role("button", name="Kaydet").click()
    assert stored(panel_site, account)["allow_ips"] == [
        "10.9.8.7/32",
        "127.0.0.1/32",
        "2001:db8::/32",
    ]
    v1_becomes(panel_site, account, 200)

    # Bad entries: named next to the field, the text kept, nothing changed.
    page.get_by_label("Sabit IP izin listesi").fill("300.1.1.1\nabc\n10.0.0.0/8")
    page.get_by_label("API kullanımına izin ver", exact=True).uncheck()
    with page.expect_response(re.compile(".*/settings/security/access$")) as answer:
        page.get_by_role("button", name="Kaydet").click()
    assert answer.value.status == 422
    error = page.locator("#f-allow_ips-error").inner_text()
    assert error == "Geçerli bir IP adresi ya da CIDR değil: 300.1.1.1, abc"
    assert page.get_by_role("alert").inner_text() == "Form kaydedilmedi: 1 hata."
    assert page.get_by_label("Sabit IP izin listesi").get_attribute("aria-invalid") == "true"
    assert "300.1.1.1" in page.get_by_label("Sabit IP izin listesi").input_value()
    screenshot(page, "settings-access-invalid-tr-desktop")
    after = stored(panel_site, account)
    assert after["allow_ips"] == ["10.9.8.7/32", "127.0.0.1/32", "2001:db8::/32"]
    assert after["api_access"] is True
    assert v1_code(panel_site, account) == 200

    # Emptied: any address again.
    page.goto(panel_site.url + ACCESS)
    page.get_by_label("Sabit IP izin listesi").fill("")
    page.get_by_role("button", name="Kaydet").click()
    assert stored(panel_site, account)["allow_ips"] == []
    assert page.locator("#state-allow-ips").inner_text() == "her adres"


def test_access_posts_are_validated_without_a_browser(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(ACCESS).text)
    for text, named in [("abc", "abc"), ("1.2.3.4, ::g", "::g"), ("10.0.0.0/33", "10.0.0.0/33")]:
        answer = client.post(ACCESS, data={"csrf": csrf, "api_access": "1", "allow_ips": text})
        assert answer.status_code == 422
        assert f"Geçerli bir IP adresi ya da CIDR değil: {named}" in answer.text
    assert stored(panel_site, account)["allow_ips"] == []
    # Without the token: 403, nothing changed.
    answer = client.post(ACCESS, data={"allow_ips": "10.0.0.1"})
    assert answer.status_code == 403
    assert stored(panel_site, account)["api_access"] is True
    # Valid: 303 back to the page, stored.
    answer = client.post(ACCESS, data={"csrf": csrf, "api_access": "1", "allow_ips": "::1"})
    assert answer.status_code == 303 and answer.headers["location"] == ACCESS
    assert stored(panel_site, account)["allow_ips"] == ["::1/128"]


# -- API keys -------------------------------------------------------------------------------


def test_rotating_shows_the_new_secret_once_and_the_old_hash_stops(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + KEYS)
    assert page.locator("#api-key").inner_text() == account.key
    screenshot(page, "settings-keys-tr-desktop")

    # Not confirmed: refused next to the box, nothing rotated.
    page.get_by_role("button", name="Yenile").click()
    assert page.locator("#f-confirm-error").inner_text() == "Yenilemek için bu kutuyu işaretleyin."
    assert v1_code(panel_site, account) == 200

    page.get_by_label("Eski hash'in hemen çalışmayı bırakacağını anlıyorum").check()
    page.get_by_role("button", name="Yenile").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Yeni API bilgileri"
    secret = page.locator("#new-secret").inner_text()
    new_hash = page.locator("#new-hash").inner_text()
    curl = page.locator("#curl-line").inner_text()
    screenshot(page, "settings-keys-rotated-tr-desktop")
    assert page.locator("#new-key").inner_text() == account.key
    assert f"{panel_site.url}/v1/get-balance/json" in curl
    assert f'"key":"{account.key}","hash":"{new_hash}"' in curl

    rotated = Account(account.key, secret, new_hash, account.name)
    assert v1_code(panel_site, rotated) == 200
    assert v1_code(panel_site, account) == 401  # the old hash, at once

    # Shown once: reloading (the browser sends the form again) rotates nothing and
    # shows neither the secret nor the hash.
    page.reload()
    assert page.url == panel_site.url + KEYS
    assert secret not in page.content() and new_hash not in page.content()
    assert "zaten yenilenmiş" in page.get_by_role("status").inner_text()
    assert v1_code(panel_site, rotated) == 200
    page.goto(panel_site.url + KEYS)
    assert secret not in page.content() and new_hash not in page.content()


def test_the_curl_line_works(page: Any, panel_site: PanelSite) -> None:
    """The copyable line's URL and body, sent as curl sends them (a form type)."""
    account = panel_site.new_account(balance=77)
    logged_in(page, panel_site, account)
    client = session_of(page, panel_site)
    html = client.get(KEYS).text
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    answer = client.post(
        KEYS, data={"csrf": csrf_of(html), "token": token.group(1), "confirm": "1"}
    )
    assert answer.status_code == 200
    line = re.search(r'<pre id="curl-line">curl -s (\S+) -d (.+)</pre>', answer.text)
    assert line is not None
    url = line.group(1)
    body = line.group(2).replace("&#39;", "'").replace("&#34;", '"').replace("&quot;", '"')
    assert body.startswith("'") and body.endswith("'")
    sent = httpx.post(
        url,
        content=body[1:-1],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert sent.status_code == 200
    assert sent.json()["response"]["balance"]["sms"] == 77


def test_rotate_posts_are_validated_without_a_browser(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    client = session_of(page, panel_site)
    html = client.get(KEYS).text
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token is not None
    csrf = csrf_of(html)
    unconfirmed = client.post(KEYS, data={"csrf": csrf, "token": token.group(1)})
    assert unconfirmed.status_code == 422
    assert "Yenilemek için bu kutuyu işaretleyin." in unconfirmed.text
    stale = client.post(KEYS, data={"csrf": csrf, "token": "0" * 32, "confirm": "1"})
    assert stale.status_code == 303 and stale.headers["location"] == KEYS
    no_csrf = client.post(KEYS, data={"token": token.group(1), "confirm": "1"})
    assert no_csrf.status_code == 403
    assert v1_code(panel_site, account) == 200  # still the first hash: nothing rotated


# -- sending settings -------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    """A webhook receiver answering 200, on a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def send_one(site: PanelSite, account: Account, text: str) -> None:
    order = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": text, "receipents": {"number": [DELIVERED_TO]}},
    }
    answer = site.v1("send-sms", account, order=order)
    assert answer.status_code == 200, answer.text


def attempts_shown(page: Any, site: PanelSite, outcome: str) -> str:
    """The attempts table once a row with ``outcome`` shows (reloading up to 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        page.goto(site.url + SENDING)
        table = page.locator("#attempts")
        if table.count() and outcome in table.inner_text():
            return str(table.inner_text())
        assert time.monotonic() < deadline, f"no {outcome!r} attempt shown"
        time.sleep(0.2)


def test_a_webhook_url_set_in_the_panel_shows_its_attempts(
    page: Any, panel_site: PanelSite, hook_url: str
) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + SENDING)
    assert page.get_by_text("Henüz webhook denemesi yok.").is_visible()
    # An address nothing listens at: a failed attempt, to be retried.
    page.get_by_label("Webhook adresi").fill("http://127.0.0.1:9/nothing-here")
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    assert stored(panel_site, account)["webhook_url"] == "http://127.0.0.1:9/nothing-here"
    send_one(panel_site, account, "Birinci")
    table = attempts_shown(page, panel_site, "başarısız, yeniden denenecek")
    assert "http://127.0.0.1:9/nothing-here" in table
    assert "yanıt yok" in table  # no HTTP status: nothing answered
    # A receiver that answers: delivered, HTTP 200, listed above the failure.
    page.get_by_label("Webhook adresi").fill(hook_url)
    page.get_by_role("button", name="Kaydet").click()
    send_one(panel_site, account, "İkinci")
    table = attempts_shown(page, panel_site, "iletildi")
    rows = page.locator("#attempts tbody tr")
    first = rows.first.inner_text()
    assert "iletildi" in first and "200" in first and hook_url in first
    screenshot(page, "settings-sending-tr-desktop")


def test_senders_are_added_and_removed(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + SENDING)
    page.get_by_label("Yeni gönderici adı").fill("YENIMARKA")
    page.get_by_role("button", name="Ekle").click()
    assert page.get_by_role("status").inner_text() == "Gönderici adı eklendi."
    assert stored(panel_site, account)["senders"] == ["ILETI", "APITEST", "YENIMARKA"]
    # A Turkish letter, and one too long: refused next to the field, nothing added.
    for bad in ("İLETİ", "ABCDEFGHIJKL"):
        page.get_by_label("Yeni gönderici adı").fill(bad)
        page.get_by_role("button", name="Ekle").click()
        assert page.locator("#f-sender-error").inner_text().startswith("Gönderici adı 1 ile 11")
        assert page.get_by_label("Yeni gönderici adı").input_value() == bad
    page.get_by_label("Yeni gönderici adı").fill("ILETI")
    page.get_by_role("button", name="Ekle").click()
    assert page.locator("#f-sender-error").inner_text() == "Bu gönderici adı zaten listede."
    assert stored(panel_site, account)["senders"] == ["ILETI", "APITEST", "YENIMARKA"]
    page.get_by_role("button", name="Kaldır APITEST").click()
    assert page.get_by_role("status").inner_text() == "Gönderici adı kaldırıldı."
    assert stored(panel_site, account)["senders"] == ["ILETI", "YENIMARKA"]


def test_sending_settings_are_validated_field_by_field(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + SENDING)
    page.get_by_label("İYS marka kodu").fill("123456")
    page.get_by_label("Test numarası").fill("0533 000 00 99")
    page.get_by_label("Hız sınırı (alıcı/saniye)").fill("25")
    page.get_by_label("Kısa numara").fill("7889")
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    saved = stored(panel_site, account)
    assert (saved["brand_code"], saved["test_number"]) == ("123456", "+905330000099")
    assert (saved["rate_limit"], saved["short_code"]) == (25, "7889")

    page.get_by_label("Test numarası").fill("12345")
    page.get_by_label("Webhook adresi").fill("ftp://example.com/")
    page.get_by_label("Hız sınırı (alıcı/saniye)").fill("0")
    page.get_by_label("Kısa numara").fill("12")
    page.get_by_label("İYS marka kodu").fill("x" * 65)
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("alert").inner_text() == "Form kaydedilmedi: 5 hata."
    assert page.locator("#f-test_number-error").inner_text() == (
        "Geçerli bir Türkiye cep telefonu numarası değil."
    )
    assert "http://sunucu" in page.locator("#f-webhook_url-error").inner_text()
    assert (
        page.locator("#f-rate_limit-error").inner_text()
        == "1 ile 1000000 arasında bir tam sayı girin."
    )
    assert page.locator("#f-short_code-error").inner_text() == "3 ile 8 rakam arasında olmalı."
    assert page.locator("#f-brand_code-error").inner_text() == "En çok 64 karakter."
    assert page.get_by_label("Test numarası").input_value() == "12345"  # what was typed
    screenshot(page, "settings-sending-invalid-tr-desktop")
    assert stored(panel_site, account) == saved  # nothing changed

    # Emptied: the nullable settings cleared (the server's default rate limit).
    page.goto(panel_site.url + SENDING)
    for label in ("İYS marka kodu", "Test numarası", "Hız sınırı (alıcı/saniye)", "Kısa numara"):
        page.get_by_label(label).fill("")
    page.get_by_role("button", name="Kaydet").click()
    cleared = stored(panel_site, account)
    assert [cleared[k] for k in ("brand_code", "test_number", "rate_limit", "short_code")] == [
        None,
        None,
        None,
        None,
    ]


def test_a_user_sees_the_balance_but_cannot_change_it(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(balance=500)
    logged_in(page, panel_site, account)
    page.goto(panel_site.url + SENDING)
    assert page.locator("#balance").inner_text().startswith("500 kredi")
    assert page.get_by_label("Bakiye (kredi)").count() == 0  # no field to change it
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(SENDING).text)
    form = {
        "csrf": csrf,
        "brand_code": "",
        "test_number": "",
        "webhook_url": "",
        "rate_limit": "",
        "short_code": "999",
        "balance": "999999",
    }
    answer = client.post(SENDING, data=form)
    assert answer.status_code == 403
    after = stored(panel_site, account)
    assert after["balance"] == 500 and after["short_code"] is None  # nothing changed


def test_an_admin_changes_the_balance(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(balance=500)
    logged_in(page, panel_site, account, admin=True)
    page.goto(panel_site.url + SENDING)
    field = page.get_by_label("Bakiye (kredi)")
    assert field.input_value() == "500"
    field.fill("-3")
    page.get_by_role("button", name="Kaydet").click()
    assert "0 ile" in page.locator("#f-balance-error").inner_text()
    assert stored(panel_site, account)["balance"] == 500
    page.get_by_label("Bakiye (kredi)").fill("1234")
    page.get_by_role("button", name="Kaydet").click()
    assert page.get_by_role("status").inner_text() == "Kaydedildi."
    assert stored(panel_site, account)["balance"] == 1234
    assert v1_code(panel_site, account) == 200
    assert panel_site.v1("get-balance", account).json()["response"]["balance"]["sms"] == 1234


def test_sending_posts_are_validated_without_a_browser(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    client = session_of(page, panel_site)
    csrf = csrf_of(client.get(SENDING).text)
    base = {"csrf": csrf, "brand_code": "", "test_number": "", "webhook_url": "", "short_code": ""}
    for rate in ("abc", "1.5", "1000001", "-1", "٣"):
        answer = client.post(SENDING, data=base | {"rate_limit": rate})
        assert answer.status_code == 422, rate
        assert 'id="f-rate_limit-error"' in answer.text
    answer = client.post(SENDING, data=base | {"rate_limit": "", "webhook_url": "not a url"})
    assert answer.status_code == 422 and 'id="f-webhook_url-error"' in answer.text
    # Senders: empty, unknown to remove.
    answer = client.post(SENDING + "/senders", data={"csrf": csrf, "sender": "  "})
    assert answer.status_code == 422 and 'id="f-sender-error"' in answer.text
    answer = client.post(SENDING + "/senders", data={"csrf": csrf, "remove": "NOSUCH"})
    assert answer.status_code == 404
    assert stored(panel_site, account)["senders"] == ["ILETI", "APITEST"]
    assert stored(panel_site, account)["webhook_url"] is None


# -- whose settings ---------------------------------------------------------------------------


def test_another_accounts_settings_are_never_shown(page: Any, panel_site: PanelSite) -> None:
    mine = panel_site.new_account(webhook_url="http://mine.example/hook")
    other = panel_site.new_account(
        webhook_url="http://other.example/hook", senders=["OTHERSNDR"], allow_ips=["192.0.2.9"]
    )
    logged_in(page, panel_site, mine)
    client = session_of(page, panel_site)
    for path in (
        ACCESS,
        KEYS,
        SENDING,
        f"{SENDING}?account={other.key}",
        f"{KEYS}?key={other.key}",
    ):
        html = main_of(client.get(path).text)
        assert mine.key in html or not path.startswith(KEYS)
        for foreign in (other.key, "other.example", "OTHERSNDR", "192.0.2.9"):
            assert foreign not in html, (path, foreign)
    # A user's posts change their own account only, whatever the form carries.
    csrf = csrf_of(client.get(SENDING).text)
    client.post(SENDING + "/senders", data={"csrf": csrf, "sender": "MINE", "key": other.key})
    assert stored(panel_site, other)["senders"] == ["OTHERSNDR"]
    assert "MINE" in stored(panel_site, mine)["senders"]
    answer = client.post(SENDING + "/senders", data={"csrf": csrf, "remove": "OTHERSNDR"})
    assert answer.status_code == 404


# -- English and phone width ----------------------------------------------------------------------


def test_the_settings_pages_in_english_at_phone_width(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    logged_in(page, panel_site, account)
    page.get_by_role("link", name="English").click()
    page.set_viewport_size({"width": 390, "height": 844})
    for path, heading, name in (
        (ACCESS, "Access Permissions", "access"),
        (KEYS, "API keys", "keys"),
        (SENDING, "Sending settings", "sending"),
    ):
        page.goto(panel_site.url + path)
        assert page.get_by_role("heading", level=1).inner_text() == heading
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        screenshot(page, f"settings-{name}-en-phone")
    page.goto(panel_site.url + ACCESS)
    assert page.get_by_label("Allow API access", exact=True).is_checked()


# -- accessibility ---------------------------------------------------------------------


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_the_settings_pages_pass_axe(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(webhook_url="http://127.0.0.1:9/x")
    logged_in(page, panel_site, account)
    for path in (ACCESS, KEYS, SENDING):
        page.goto(panel_site.url + path)
        assert serious_violations(page) == [], path
    # With errors shown next to their fields, and the rotated credentials.
    page.goto(panel_site.url + ACCESS)
    page.get_by_label("Sabit IP izin listesi").fill("abc")
    page.get_by_role("button", name="Kaydet").click()
    assert serious_violations(page) == []
    page.goto(panel_site.url + SENDING)
    page.get_by_label("Kısa numara").fill("1")
    page.get_by_role("button", name="Kaydet").click()
    assert serious_violations(page) == []
    page.goto(panel_site.url + KEYS)
    page.get_by_role("button", name="Yenile").click()
    assert serious_violations(page) == []
    page.get_by_label("Eski hash'in hemen çalışmayı bırakacağını anlıyorum").check()
    page.get_by_role("button", name="Yenile").click()
    assert serious_violations(page) == []
