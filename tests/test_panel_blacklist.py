"""The blacklist page in a real browser: add and remove (seen through get-blacklist),
search in any form, paging, the date filter, CSV import with per-row results (UTF-8,
Windows-1254 with semicolons, a workbook refused), the export, and another account's
entries out of reach."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from tests.support.panel import Account, PanelSite, login, screenshot


def listed(site: PanelSite, account: Account) -> list[str]:
    """The account's numbers as get-blacklist answers them."""
    answer = site.v1("get-blacklist", account)
    assert answer.status_code == 200, answer.text
    body = answer.json()["response"]
    return sorted(body["blacklist"].get("number", []))


def v1_add(site: PanelSite, account: Account, number: str) -> None:
    answer = site.v1("add-blacklist", account, blacklist={"number": number})
    assert answer.status_code == 200, answer.text


def open_page(page: Any, site: PanelSite, account: Account) -> None:
    login(page, site, site.new_user(account))
    page.goto(f"{site.url}/panel/blacklist")
    assert page.get_by_role("heading", level=1).inner_text() == "Kara liste"


def test_a_number_added_in_the_panel_is_listed_for_the_api_and_removed(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    assert page.locator("#blacklist-count").inner_text() == "0"
    screenshot(page, "blacklist-tr-desktop")
    page.get_by_label("Numaralar (her satıra bir numara)").fill(
        "0533 123 45 67\n+90 (532) 765-43-21\n"
    )
    page.get_by_role("button", name="Kara listeye ekle").click()
    page.wait_for_url(re.compile(r".*/panel/blacklist$"))
    assert page.get_by_role("status").first.inner_text() == "Numaralar kara listeye eklendi."
    assert listed(panel_site, account) == ["+905327654321", "+905331234567"]
    assert page.locator("#blacklist-count").inner_text() == "2"
    rows = page.locator("#blacklist-table tbody tr")
    assert rows.count() == 2
    assert "panel" in rows.first.inner_text()
    # Remove one with its row's button.
    page.get_by_role("button", name="Kaldır +905331234567").click()
    page.wait_for_url(re.compile(r".*/panel/blacklist$"))
    assert "Numara kara listeden kaldırıldı." in page.get_by_role("status").first.inner_text()
    assert listed(panel_site, account) == ["+905327654321"]
    # And the other by number, written in another form.
    page.get_by_label("Kaldırılacak numara").fill("905327654321")
    page.get_by_role("button", name="Kaldır", exact=True).click()
    page.wait_for_url(re.compile(r".*/panel/blacklist$"))
    assert listed(panel_site, account) == []
    assert page.locator("#blacklist-count").inner_text() == "0"
    assert page.get_by_text("Kara listede numara yok.").is_visible()


def test_an_invalid_line_refuses_the_whole_add_with_the_error_next_to_the_field(
    page: Any, panel_site: PanelSite
) -> None:
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    box = page.get_by_label("Numaralar (her satıra bir numara)")
    box.fill("05331234567\n12345\n05321112233")
    page.get_by_role("button", name="Kara listeye ekle").click()
    error = page.locator("#f-numbers-error")
    assert error.inner_text() == "Geçersiz numara: satır 2 (12345)"
    assert box.get_attribute("aria-invalid") == "true"
    assert box.input_value() == "05331234567\n12345\n05321112233"  # kept for correcting
    assert page.get_by_role("alert").inner_text() == "Form kaydedilmedi: 1 hata."
    assert listed(panel_site, account) == []
    # Removing a number that is not listed: the error next to its field.
    page.get_by_label("Kaldırılacak numara").fill("05331234567")
    page.get_by_role("button", name="Kaldır", exact=True).click()
    assert page.locator("#f-number-error").inner_text() == "Bu numara kara listede değil."
    page.get_by_label("Kaldırılacak numara").fill("hello")
    page.get_by_role("button", name="Kaldır", exact=True).click()
    assert (
        page.locator("#f-number-error").inner_text()
        == "Geçerli bir Türk cep telefonu numarası değil."
    )


def test_search_finds_a_number_written_in_any_form(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    v1_add(panel_site, account, "+905331234567")
    open_page(page, panel_site, account)
    search = page.get_by_label("Numara", exact=True)
    search.fill("0533 123 45 67")
    page.get_by_role("button", name="Ara", exact=True).click()
    result = page.locator(".search-result")
    assert "+905331234567 kara listede." in result.inner_text()
    assert "API" in result.inner_text()
    search = page.get_by_label("Numara", exact=True)
    search.fill("0532-111-22-33")
    page.get_by_role("button", name="Ara", exact=True).click()
    assert "+905321112233 kara listede değil." in page.locator(".search-result").inner_text()
    # Listed from the search result.
    page.get_by_role("button", name="Bu numarayı ekle").click()
    assert "+905321112233 kara listede." in page.locator(".search-result").inner_text()
    assert listed(panel_site, account) == ["+905321112233", "+905331234567"]
    page.get_by_label("Numara", exact=True).fill("123")
    page.get_by_role("button", name="Ara", exact=True).click()
    assert (
        page.locator("#f-q-error").inner_text() == "Geçerli bir Türk cep telefonu numarası değil."
    )


def test_paging_walks_every_entry_once_and_back(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    user = panel_site.new_user(account)
    numbers = [f"+90533{n:07d}" for n in range(1, 121)]
    login(page, panel_site, user)
    page.goto(f"{panel_site.url}/panel/blacklist")
    page.get_by_label("Numaralar (her satıra bir numara)").fill("\n".join(numbers))
    page.get_by_role("button", name="Kara listeye ekle").click()
    page.wait_for_url(re.compile(r".*/panel/blacklist$"))
    assert page.locator("#blacklist-count").inner_text() == "120"
    seen: list[str] = []
    pages = []
    while True:
        cells = page.locator("#blacklist-table tbody th").all_inner_texts()
        pages.append(cells)
        seen.extend(cells)
        following = page.get_by_role("link", name="Sonraki sayfa")
        if following.count() == 0:
            break
        following.click()
    assert [len(p) for p in pages] == [50, 50, 20]
    assert sorted(seen) == sorted(numbers)
    assert "after=" in page.url
    page.get_by_role("link", name="Önceki sayfa").click()
    assert page.locator("#blacklist-table tbody th").all_inner_texts() == pages[1]
    page.get_by_role("link", name="Önceki sayfa").click()
    assert page.locator("#blacklist-table tbody th").all_inner_texts() == pages[0]
    assert page.get_by_role("link", name="Önceki sayfa").count() == 0


def test_the_date_filter_is_validated_next_to_its_fields(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    v1_add(panel_site, account, "05331234567")
    open_page(page, panel_site, account)
    page.goto(f"{panel_site.url}/panel/blacklist?from=2020-01-01&to=2020-12-31")
    assert page.get_by_text("Bu tarihlerde eklenen numara yok.").is_visible()
    page.goto(f"{panel_site.url}/panel/blacklist?from=2099-01-01")
    assert page.get_by_text("Bu tarihlerde eklenen numara yok.").is_visible()
    page.goto(f"{panel_site.url}/panel/blacklist?from=2020-01-01&to=2099-01-01")
    assert page.locator("#blacklist-table tbody th").all_inner_texts() == ["+905331234567"]
    page.goto(f"{panel_site.url}/panel/blacklist?from=2024-05-10&to=2024-05-01")
    assert page.locator("#f-to-error").inner_text() == "Bitiş tarihi başlangıçtan önce olamaz."
    answer = page.goto(f"{panel_site.url}/panel/blacklist?from=yesterday")
    assert answer is not None and answer.status == 422
    assert page.locator("#f-from-error").inner_text() == "Geçerli bir tarih girin."


def _import(page: Any, path: Path) -> None:
    page.get_by_label("CSV dosyası", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="İçe aktar", exact=True).click()
    page.wait_for_url(re.compile(r".*/panel/blacklist/import/[^/]+$"))
    page.get_by_text("İçe aktarma bitti.").wait_for()


def test_a_csv_import_shows_each_bad_line_and_stores_the_good_ones(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    account = panel_site.new_account()
    v1_add(panel_site, account, "05321112233")
    open_page(page, panel_site, account)
    path = tmp_path / "liste.csv"
    path.write_text("05331234567\n5331234568\nhello\n\n05321112233\n05331234567\n")
    _import(page, path)
    screenshot(page, "blacklist-import-tr-desktop")
    counts = {
        name: page.locator(f'[data-count="{name}"]').inner_text()
        for name in ("rows", "added", "already", "repeated", "invalid")
    }
    assert counts == {"rows": "5", "added": "2", "already": "1", "repeated": "1", "invalid": "1"}
    problems = page.locator("#job-problems tbody tr").all_inner_texts()
    assert [re.split(r"\s+", p.strip(), maxsplit=2) for p in problems] == [
        ["3", "hello", "Türk cep telefonu numarası değil"]
    ]
    assert listed(panel_site, account) == ["+905321112233", "+905331234567", "+905331234568"]
    # The per-row results as a download.
    with page.expect_download() as info:
        page.get_by_role("link", name="Satır satır sonuç (CSV)").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    results = list(csv.reader(io.StringIO(text)))
    assert results[0] == ["satır", "değer", "numara", "sonuç", "neden"]
    assert [r[0] + ":" + r[3] for r in results[1:]] == [
        "1:eklendi",
        "2:eklendi",
        "3:geçersiz",
        "5:zaten listede",
        "6:dosyada tekrar",
    ]


def test_a_turkish_excel_file_semicolons_and_windows_1254_is_read(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    path = tmp_path / "müşteriler.csv"
    path.write_bytes(
        "Adı Soyadı;Telefon Numarası;Şehir\r\n"
        "Çağrı Öztürk;0533 123 45 67;İstanbul\r\n"
        "Işıl Güneş;0212 555 44 33;İzmir\r\n"
        "Ümit Şahin;+90 532 765 43 21;Muğla\r\n".encode("cp1254")
    )
    _import(page, path)
    assert "Windows-1254" in page.locator("main").inner_text()
    assert page.locator('[data-count="added"]').inner_text() == "2"
    problems = page.locator("#job-problems tbody tr").all_inner_texts()
    assert len(problems) == 1 and problems[0].split()[:2] == ["3", "0212"]
    assert listed(panel_site, account) == ["+905327654321", "+905331234567"]


def test_a_workbook_is_refused_with_a_hint_and_nothing_stored(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    path = tmp_path / "liste.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    page.get_by_label("CSV dosyası", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="İçe aktar", exact=True).click()
    error = page.locator("#f-file-error")
    error.wait_for()
    assert "Farklı Kaydet" in error.inner_text()
    assert page.url.endswith("/panel/blacklist/import") or page.url.endswith("/panel/blacklist")
    assert listed(panel_site, account) == []


def test_the_import_works_without_javascript(
    chromium: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    context = chromium.new_context(java_script_enabled=False, locale="tr-TR")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        account = panel_site.new_account()
        open_page(page, panel_site, account)
        path = tmp_path / "numbers.csv"
        path.write_text("number\n05331234567\n")
        _import(page, path)
        assert page.locator('[data-count="added"]').inner_text() == "1"
        assert listed(panel_site, account) == ["+905331234567"]
    finally:
        context.close()


def test_the_export_downloads_what_is_listed(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    for number in ("05331234567", "05321112233"):
        v1_add(panel_site, account, number)
    open_page(page, panel_site, account)
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV olarak indir").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
    assert rows[0] == ["number", "blocked_at", "source"]
    assert sorted(r[0] for r in rows[1:]) == ["+905321112233", "+905331234567"]
    assert {r[2] for r in rows[1:]} == {"api"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[1]) for r in rows[1:])


def test_a_user_cannot_see_or_remove_another_accounts_entries(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    mine, theirs = panel_site.new_account(), panel_site.new_account()
    v1_add(panel_site, theirs, "05331234567")
    open_page(page, panel_site, mine)
    assert page.locator("#blacklist-count").inner_text() == "0"
    page.get_by_label("Numara", exact=True).fill("05331234567")
    page.get_by_role("button", name="Ara", exact=True).click()
    assert "kara listede değil" in page.locator(".search-result").inner_text()
    page.get_by_label("Kaldırılacak numara").fill("05331234567")
    page.get_by_role("button", name="Kaldır", exact=True).click()
    assert page.locator("#f-number-error").inner_text() == "Bu numara kara listede değil."
    assert listed(panel_site, theirs) == ["+905331234567"]
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV olarak indir").click()
    assert Path(info.value.path()).read_text() == "number,blocked_at,source\n"
    # Their import's page, progress and results: 404 for this user.
    other = page.context.browser.new_context(locale="tr-TR")
    page_other = other.new_page()
    login(page_other, panel_site, panel_site.new_user(theirs))
    page_other.goto(f"{panel_site.url}/panel/blacklist")
    path = tmp_path / "x.csv"
    path.write_text("05321112233\n")
    _import(page_other, path)
    job_url = page_other.url
    other.close()
    for suffix in ("", "/progress", "/results.csv"):
        answer = page.request.get(job_url + suffix)
        assert answer.status == 404, suffix
    answer = page.goto(f"{panel_site.url}/panel/blacklist/import/unknown-job")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Sayfa bulunamadı"


def test_the_page_in_english_and_at_phone_width(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account()
    v1_add(panel_site, account, "05331234567")
    open_page(page, panel_site, account)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "blacklist-tr-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Blacklist"
    assert page.get_by_role("button", name="Remove +905331234567").is_visible()
    screenshot(page, "blacklist-en-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "blacklist-en-desktop")


def test_a_long_import_shows_its_progress_until_it_ends(
    page: Any, panel_site: PanelSite, tmp_path: Path
) -> None:
    """A file that takes longer than the form waits: the job's page shows a progress
    bar fed by the progress URL, and reloads itself with the result when it ends."""
    account = panel_site.new_account()
    open_page(page, panel_site, account)
    path = tmp_path / "big.csv"
    path.write_text("".join(f"0544{n:07d}\n" for n in range(200_000)))
    page.get_by_label("CSV dosyası", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="İçe aktar", exact=True).click()
    page.wait_for_url(re.compile(r".*/panel/blacklist/import/[^/]+$"))
    # On a fast machine the job may end before its page is shown: then the page shows
    # the result at once; while it runs, the bar is fed by the progress URL.
    if page.locator("#job-state").inner_text() == "İşleniyor…":
        assert page.locator("#job-bar").is_visible()
        with page.expect_response(re.compile(r".*/import/[^/]+/progress$")) as polled:
            pass
        progress = polled.value.json()
        assert progress["state"] in ("running", "done") and 0 <= progress["percent"] <= 100
    screenshot(page, "blacklist-import-running-tr-desktop")
    page.get_by_text("İçe aktarma bitti.").wait_for(timeout=120_000)
    assert page.locator('[data-count="added"]').inner_text() == "200000"
    assert page.locator("#blacklist-count").count() == 0  # still the job's page
    page.goto(f"{panel_site.url}/panel/blacklist")
    assert page.locator("#blacklist-count").inner_text() == "200000"
