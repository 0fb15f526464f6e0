"""Logging in to the panel in a real browser: the form, a wrong password, the brake on
guessing, logging out, cross-site posts and other accounts' pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.panel import ADMIN_TOKEN, PanelSite, User, login, screenshot
from tests.support.processes import serving


def test_login_shows_the_dashboard_of_the_users_account(page: Any, panel_site: PanelSite) -> None:
    account = panel_site.new_account(balance=4321)
    user = panel_site.new_user(account)
    page.goto(f"{panel_site.url}/panel/")
    assert page.url.startswith(f"{panel_site.url}/panel/login")  # not logged in: the form
    screenshot(page, "login-tr-desktop")
    login(page, panel_site, user)
    assert page.get_by_role("heading", level=1).inner_text() == "Özet"
    assert "4321 kredi" in page.locator("dl.cards").inner_text()
    assert account.name in page.locator("header").inner_text()


def test_a_wrong_password_is_refused_with_the_form_again(page: Any, panel_site: PanelSite) -> None:
    user = panel_site.new_user(panel_site.new_account())
    page.goto(f"{panel_site.url}/panel/login")
    page.get_by_label("E-posta").fill(user.email)
    page.get_by_label("Parola").fill(user.password + "x")
    page.get_by_role("button", name="Giriş yap").click()
    assert page.get_by_role("alert").inner_text() == "E-posta veya parola hatalı."
    assert page.get_by_label("E-posta").input_value() == user.email
    assert page.context.cookies() and not any(
        c["name"] == "ileti_session" for c in page.context.cookies()
    )


def test_logging_out_ends_the_session(page: Any, panel_site: PanelSite) -> None:
    user = panel_site.new_user(panel_site.new_account())
    login(page, panel_site, user)
    cookie = next(c for c in page.context.cookies() if c["name"] == "ileti_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Çıkış yap").click()
    page.wait_for_url(re.compile(r".*/panel/login$"))
    assert page.get_by_role("status").inner_text() == "Çıkış yapıldı."
    # The old cookie opens nothing any more, on the server's side.
    answer = panel_site.browserless(cookie["value"]).get("/panel/", follow_redirects=False)
    assert answer.status_code == 303 and "/panel/login" in answer.headers["location"]


def test_a_cross_site_form_post_is_refused(page: Any, panel_site: PanelSite) -> None:
    """A page on another origin posts the logout form with the user's cookie: 403, and
    the session lives on."""
    user = panel_site.new_user(panel_site.new_account())
    login(page, panel_site, user)
    form = (
        f'<form method="post" action="{panel_site.url}/panel/logout">'
        '<input name="csrf" value="guess"><button>go</button></form>'
    )
    # Another site (served by the browser itself: nothing leaves the machine).
    page.route(
        "http://evil.example/**",
        lambda route: route.fulfill(body=form, content_type="text/html"),
    )
    page.goto("http://evil.example/")
    page.get_by_role("button", name="go").click()
    page.wait_for_load_state()
    assert "İzin yok" in page.content()
    page.goto(f"{panel_site.url}/panel/")
    assert page.get_by_role("heading", level=1).inner_text() == "Özet"


def test_a_post_without_the_csrf_token_is_refused(panel_site: PanelSite, page: Any) -> None:
    user = panel_site.new_user(panel_site.new_account())
    login(page, panel_site, user)
    cookie = next(c for c in page.context.cookies() if c["name"] == "ileti_session")
    same = panel_site.browserless(cookie["value"])
    answer = same.post("/panel/logout", data={"csrf": "x" * 64})
    assert answer.status_code == 403
    assert "İzin yok" in answer.text
    assert same.get("/panel/").status_code == 200  # still logged in: nothing was done


def test_a_user_cannot_open_admin_only_pages(panel_site: PanelSite, page: Any) -> None:
    mine = panel_site.new_account()
    other = panel_site.new_account()
    login(page, panel_site, panel_site.new_user(mine))
    # Switching to another account is an admin's form: 404 for a user, and nothing changes.
    cookie = next(c for c in page.context.cookies() if c["name"] == "ileti_session")
    same = panel_site.browserless(cookie["value"])
    csrf = re.search(r'name="csrf" value="([^"]+)"', same.get("/panel/").text)
    assert csrf is not None
    answer = same.post(
        "/panel/account",
        data={"csrf": csrf.group(1), "key": other.key, "next": "/panel/"},
        headers={"Origin": panel_site.url},
    )
    assert answer.status_code == 404
    page.goto(f"{panel_site.url}/panel/")
    assert other.name not in page.locator("header").inner_text()
    assert mine.name in page.locator("header").inner_text()


def test_an_admin_switches_between_accounts(page: Any, panel_site: PanelSite) -> None:
    first = panel_site.new_account(balance=111)
    second = panel_site.new_account(balance=222)
    login(page, panel_site, panel_site.new_user(admin=True))
    page.get_by_label("Hesap").fill(first.key)
    page.get_by_role("button", name="Hesabı göster").click()
    assert "111 kredi" in page.locator("dl.cards").inner_text()
    page.get_by_label("Hesap").fill(second.key)
    page.get_by_role("button", name="Hesabı göster").click()
    assert "222 kredi" in page.locator("dl.cards").inner_text()
    page.get_by_label("Hesap").fill("no-such-key")
    page.get_by_role("button", name="Hesabı göster").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Sayfa bulunamadı"


def test_the_language_switch_shows_every_word_in_english(page: Any, panel_site: PanelSite) -> None:
    user = panel_site.new_user(panel_site.new_account())
    login(page, panel_site, user)
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{panel_site.url}/panel/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Balance" in page.locator("dl.cards").inner_text()


def test_login_guessing_is_braked_per_email(
    chromium: Any, sqlite_dir: Path, tmp_path: Path
) -> None:
    """Past ILETI_LOGIN_FAILURE_LIMIT wrong passwords, even the right one is refused
    (429 with Retry-After) until the window ends; the brake says so on the form."""
    url = f"sqlite:///{tmp_path / 'brake.db'}"
    env = {"ILETI_LOGIN_FAILURE_LIMIT": "3", "ILETI_AUTH_FAILURE_LIMIT": "0"}
    with serving(url, tmp_path, env=env | {"ILETI_ADMIN_TOKEN": ADMIN_TOKEN}) as (server,):
        site = PanelSite(server, url)
        try:
            user = site.new_user(site.new_account())
            context = chromium.new_context()
            page = context.new_page()
            wrong = User(user.email, user.password + "x")
            for _ in range(2):
                page.goto(f"{server.url}/panel/login")
                page.get_by_label("E-posta").fill(wrong.email)
                page.get_by_label("Parola").fill(wrong.password)
                page.get_by_role("button", name="Giriş yap").click()
                assert page.get_by_role("alert").inner_text() == "E-posta veya parola hatalı."
            page.get_by_label("Parola").fill(wrong.password)
            with page.expect_response(re.compile(r".*/panel/login.*")) as third:
                page.get_by_role("button", name="Giriş yap").click()
            assert third.value.status == 401  # the third failure reaches the limit
            page.get_by_label("Parola").fill(user.password)  # now the right one
            with page.expect_response(re.compile(r".*/panel/login.*")) as fourth:
                page.get_by_role("button", name="Giriş yap").click()
            assert fourth.value.status == 429
            assert int(fourth.value.headers["retry-after"]) > 800
            assert "Çok fazla hatalı deneme" in page.get_by_role("alert").inner_text()
            assert "ileti_session" not in {c["name"] for c in context.cookies()}
            context.close()
        finally:
            site.close()


def test_an_admin_picks_an_account_from_the_list(page: Any, panel_site: PanelSite) -> None:
    panel_site.new_account()  # so that the chosen one is not the first, shown at login
    chosen = panel_site.new_account(balance=777)
    login(page, panel_site, panel_site.new_user(admin=True))
    page.get_by_role("link", name="Hesaplar").click()
    row = page.get_by_role("row").filter(has_text=chosen.key)
    assert "777" in row.inner_text()
    row.get_by_role("button", name=f"{chosen.name} hesabını göster").click()
    page.wait_for_url(f"{panel_site.url}/panel/")
    assert "777 kredi" in page.locator("dl.cards").inner_text()


def test_a_user_has_no_list_of_accounts(page: Any, panel_site: PanelSite) -> None:
    login(page, panel_site, panel_site.new_user(panel_site.new_account()))
    assert page.get_by_role("link", name="Hesaplar").count() == 0
    answer = page.goto(f"{panel_site.url}/panel/accounts")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Sayfa bulunamadı"
