"""The Consents page in a real browser: a record added by form is what consent/show
answers and lets send-sms with iys=1 through (a number without consent dropped with
112); a bad record refused next to its field with nothing stored; a CSV with bad lines
refused whole with each line listed, then a good one stored; an account without a brand
code; another account's records out of reach; English at phone width."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.panel import PHONE, Account, PanelSite, login, screenshot

ADD = "İzni kaydet"


def branded(site: PanelSite) -> tuple[Account, str]:
    brand = str(700000 + secrets.randbelow(99999))
    return site.new_account(brand_code=brand), brand


def shown(site: PanelSite, account: Account, brand: str, recipient: str) -> Any:
    consent = {
        "brandCode": brand,
        "recipient": recipient,
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
    }
    return site.v1("consent/show", account, consent=consent)


def open_page(page: Any, site: PanelSite, account: Account, query: str = "") -> None:
    login(page, site, site.new_user(account))
    page.goto(f"{site.url}/panel/consents{query}")
    assert page.get_by_role("heading", level=1).inner_text() == "İYS izinleri"


def now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def test_a_consent_added_in_the_panel_is_shown_by_the_api_and_lets_iys_send(
    page: Any, panel_site: PanelSite
) -> None:
    account, brand = branded(panel_site)
    open_page(page, panel_site, account)
    assert page.locator("#brand-code").inner_text() == brand
    assert shown(panel_site, account, brand, "05331112233").status_code == 422
    page.get_by_label("Alıcı", exact=True).fill("0533 111 22 33")
    page.get_by_label("Kaynak").select_option("HS_FIZIKSEL_ORTAM")
    page.get_by_role("button", name=ADD).click()
    page.wait_for_url(re.compile(r".*/panel/consents\?q="))
    assert "İzin kaydedildi." in page.get_by_role("status").first.inner_text()
    history = page.locator("#consents-history tbody tr")
    assert history.count() == 1
    row = history.first.inner_text()
    assert "ONAY" in row and "HS_FIZIKSEL_ORTAM" in row and "Panel" in row
    assert "ONAY" in page.locator("#consents-current tbody tr").first.inner_text()
    screenshot(page, "consents-tr-desktop")
    answer = shown(panel_site, account, brand, "+905331112233")
    assert answer.status_code == 200, answer.text
    consent = answer.json()["response"]["consent"]
    assert consent["status"] == "ONAY" and consent["source"] == "HS_FIZIKSEL_ORTAM"
    assert consent["recipient"] == "+905331112233"
    # send-sms with iys=1: the number with consent is sent, one without is dropped (112).
    order = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "1",
        "iysList": "BIREYSEL",
        "message": {"text": "Kampanya", "receipents": {"number": ["05331112233", "05449998877"]}},
    }
    sent = panel_site.v1("send-sms", account, order=order)
    assert sent.status_code == 200, sent.text
    order_id = sent.json()["response"]["order"]["id"]
    page.goto(f"{panel_site.url}/panel/orders/{order_id}")
    rows = {
        r.locator("th").inner_text(): r.locator("td").all_inner_texts()
        for r in page.locator("#order-messages tbody tr").all()
    }
    assert not rows["+905331112233"][0].startswith("112")
    assert rows["+905449998877"][0].startswith("112")
    assert rows["+905449998877"][1] == "İYS izni yok"


def test_a_bad_record_is_refused_next_to_its_field_and_nothing_is_stored(
    page: Any, panel_site: PanelSite
) -> None:
    account, brand = branded(panel_site)
    open_page(page, panel_site, account)
    page.get_by_label("Alıcı", exact=True).fill("12345")
    page.get_by_label("Durum", exact=True).select_option("RET")
    page.get_by_role("button", name=ADD).click()
    assert page.locator("#f-recipient-error").inner_text() == (
        "Geçerli bir Türk cep telefonu numarası değil."
    )
    assert page.get_by_label("Alıcı", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Alıcı", exact=True).input_value() == "12345"
    # A first record may not be RET: refused against the (empty) history.
    page.get_by_label("Alıcı", exact=True).fill("05331112244")
    page.get_by_role("button", name=ADD).click()
    assert page.locator("#f-status-error").inner_text() == "Bir alıcının ilk kaydı RET olamaz."
    assert page.get_by_label("Durum", exact=True).input_value() == "RET"
    # A date in the future.
    page.get_by_label("Durum", exact=True).select_option("ONAY")
    page.get_by_label("İzin tarihi").fill("2099-01-01 10:00:00")
    page.get_by_role("button", name=ADD).click()
    assert page.locator("#f-consentDate-error").inner_text() == "İzin tarihi gelecekte olamaz."
    assert shown(panel_site, account, brand, "05331112244").status_code == 422
    page.goto(f"{panel_site.url}/panel/consents?q=05331112244")
    assert "için izin kaydı yok" in page.locator("#search-result").inner_text()


def test_a_csv_with_bad_lines_is_refused_whole_then_a_good_one_is_stored(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    account, brand = branded(panel_site)
    open_page(page, panel_site, account)
    now = now_text()
    header = "recipient,recipientType,type,status,source,consentDate\n"
    good = [
        f"05331110001,BIREYSEL,MESAJ,ONAY,HS_WEB,{now}\n",
        f"ali@example.com,BIREYSEL,EPOSTA,ONAY,HS_EPOSTA,{now}\n",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + good[0] + f"05331110002,BIREYSEL,MESAJ,MAYBE,HS_WEB,{now}\n"
        f"12345,BIREYSEL,MESAJ,ONAY,HS_WEB,{now}\n" + good[1],
        encoding="utf-8",
    )
    page.get_by_label("CSV dosyası", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="İçe aktar").click()
    assert page.locator("#f-file-error").inner_text() == (
        "Dosya reddedildi, hiçbir kayıt saklanmadı: 2 sorun (aşağıda)."
    )
    problems = [
        r.locator("td").all_inner_texts() for r in page.locator("#import-problems tbody tr").all()
    ]
    assert problems == [
        ["3", "05331110002", "status", "ONAY ya da RET olmalı."],
        ["4", "12345", "recipient", "Geçerli bir Türk cep telefonu numarası değil."],
    ]
    assert shown(panel_site, account, brand, "05331110001").status_code == 422  # atomic
    good_file = tmp_path / "good.csv"
    good_file.write_text(header + "".join(good), encoding="utf-8")
    page.get_by_label("CSV dosyası", exact=True).set_input_files(str(good_file))
    page.get_by_role("button", name="İçe aktar").click()
    assert page.locator("#import-result").inner_text() == "2 izin kaydı içe aktarıldı."
    assert (
        shown(panel_site, account, brand, "05331110001").json()["response"]["consent"]["status"]
        == "ONAY"
    )
    page.get_by_label("Telefon numarası ya da e-posta").fill("ALI@example.com")
    page.get_by_role("button", name="Ara").click()
    assert "EPOSTA" in page.locator("#consents-history tbody tr").first.inner_text()


def test_without_a_brand_code_the_page_says_so_and_refuses(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    note = page.locator("#no-brand")
    assert "403" in note.inner_text()
    assert note.get_by_role("link").get_attribute("href") == "/panel/settings/sending"
    page.get_by_label("Alıcı", exact=True).fill("05331112255")
    page.get_by_role("button", name=ADD).click()
    assert page.locator("#f-recipient-error").inner_text() == (
        "Önce Gönderim ayarlarından bir İYS marka kodu girin."
    )


def test_another_accounts_consents_are_never_shown(page: Any, panel_site: PanelSite) -> None:
    owner, brand = branded(panel_site)
    record = {
        "recipient": "05331112266",
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
        "status": "ONAY",
        "source": "HS_WEB",
        "consentDate": now_text(),
    }
    made = panel_site.v1("consent/create", owner, consent={"brandCode": brand, "list": [record]})
    assert made.status_code == 200, made.text
    other, _ = branded(panel_site)
    open_page(page, panel_site, other, "?q=05331112266")
    assert "için izin kaydı yok" in page.locator("#search-result").inner_text()
    assert page.locator("#consents-history").count() == 0


def test_the_page_in_english_at_phone_width(page: Any, panel_site: PanelSite) -> None:
    account, brand = branded(panel_site)
    record = {
        "recipient": "05331112277",
        "recipientType": "BIREYSEL",
        "type": "MESAJ",
        "status": "ONAY",
        "source": "HS_WEB",
        "consentDate": now_text(),
    }
    made = panel_site.v1("consent/create", account, consent={"brandCode": brand, "list": [record]})
    assert made.status_code == 200, made.text
    page.context.add_cookies([{"name": "ileti_lang", "value": "en", "url": panel_site.url}])
    page.set_viewport_size(PHONE)
    login(page, panel_site, panel_site.new_user(account))
    page.goto(f"{panel_site.url}/panel/consents?q=%2B90%20533%20111%2022%2077")
    assert page.get_by_role("heading", level=1).inner_text() == "İYS consents"
    assert "API" in page.locator("#consents-history tbody tr").first.inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.get_by_label("Recipient", exact=True).fill("05331112277")
    page.get_by_label("Status", exact=True).select_option("ONAY")
    page.get_by_role("button", name="Record the consent").click()
    assert page.locator("#f-status-error").inner_text() == "The status is already ONAY."
    screenshot(page, "consents-en-phone")
