"""The panel in a real browser: one ``ileti serve`` process and one headless Chromium
(Debian's, driven by Playwright) for the whole run, a fresh account, user and browser
context per test, and screenshots under ``build/screenshots/`` (README: "Panel
screenshots"; ``ILETI_TEST_SCREENSHOTS`` moves them)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from ileti.clock import SYSTEM
from ileti.config import Settings
from ileti.services.users import UserService
from ileti.store import Store
from tests.support.processes import Server

CHROMIUM = os.environ.get("ILETI_TEST_CHROMIUM", "/usr/bin/chromium")
#: Flags a root, offline, headless Chromium needs here (no sandbox as root; no
#: background connections to hosts this machine cannot reach).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("ILETI_TEST_SCREENSHOTS", ROOT / "build" / "screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ADMIN_TOKEN = "panel-tests-admin-token-" + secrets.token_hex(8)
#: The shared server's settings: no v1 or login brake (tests fail logins on purpose;
#: the brake's own test starts a server of its own), account changes seen at once.
SERVER_ENV = {
    "ILETI_ADMIN_TOKEN": ADMIN_TOKEN,
    "ILETI_AUTH_FAILURE_LIMIT": "0",
    "ILETI_LOGIN_FAILURE_LIMIT": "0",
    "ILETI_AUTH_REFRESH_SECONDS": "0.1",
    "ILETI_DELIVERY_DELAY": "0.5",
    "ILETI_DELIVERY_POLL_SECONDS": "0.1",
    # The relay (tests/test_panel_relay.py): upstream credentials can be sealed, batches
    # are picked up and upstream reports mirrored quickly.
    "ILETI_SECRET_KEY": "panel-tests-secret-key-" + secrets.token_urlsafe(24),
    "ILETI_RELAY_POLL_SECONDS": "0.2",
    "ILETI_RELAY_REPORT_SECONDS": "0.5",
}


def chromium_or_skip() -> str:
    """Debian's Chromium; fails (does not skip) under CI, where .ci/run installs it."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class User:
    email: str
    password: str


@dataclass
class Account:
    key: str
    secret: str
    hash: str
    name: str

    def auth(self) -> dict[str, str]:
        return {"key": self.key, "hash": self.hash}


class PanelSite:
    """The server under test and ways to seed it (control API, store)."""

    def __init__(self, server: Server, database_url: str) -> None:
        self.server = server
        self.url = server.url
        self.database_url = database_url
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self._store = Store(Settings.from_env({}, database_url=database_url))
        self.users = UserService(self._store, self._store.settings, clock=SYSTEM)
        self._clients: list[httpx.Client] = []

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.http.close()
        self._store.close()

    def browserless(self, session_cookie: str) -> httpx.Client:
        """An HTTP client holding a browser's session cookie (closed with the site)."""
        client = httpx.Client(
            base_url=self.url, timeout=30, cookies={"ileti_session": session_cookie}
        )
        self._clients.append(client)
        return client

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return self.http.request(method, f"/_ileti{path}", headers=headers, **kwargs)

    def new_account(self, **settings: Any) -> Account:
        """An account with a unique name (control API); settings as its POST body."""
        name = settings.pop("name", "panel-" + secrets.token_hex(4))
        body = {"name": name, "balance": 1000, "senders": ["ILETI", "APITEST"], **settings}
        answer = self.control("POST", "/accounts", json=body)
        assert answer.status_code == 201, answer.text
        data = answer.json()
        key = data["account"]["key"]
        return Account(key=key, secret=data["secret"], hash=data["hash"], name=name)

    def new_user(self, account: Account | None = None, *, admin: bool = False) -> User:
        email = f"user-{secrets.token_hex(4)}@example.com"
        password = "pw-" + secrets.token_hex(8)
        self.users.create_sync(
            email, password, account_key=account.key if account else None, admin=admin
        )
        return User(email, password)

    def v1(self, action: str, account: Account, **request: Any) -> httpx.Response:
        body = {"request": {"authentication": account.auth(), **request}}
        return self.http.post(f"/v1/{action}/json", json=body)


def login(page: Any, site: PanelSite, user: User) -> None:
    """Log in through the form; ends on the dashboard."""
    page.goto(f"{site.url}/panel/login")
    page.get_by_label(re.compile("E-posta|E-mail")).fill(user.email)
    page.get_by_label(re.compile("Parola|Password")).fill(user.password)
    page.get_by_role("button", name=re.compile("Giriş yap|Log in")).click()
    page.wait_for_url(f"{site.url}/panel/")


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as ``<name>.png`` in the screenshots folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except PlaywrightError:
        # Chromium now and then fails to capture a tall page under load ("Unable to
        # capture screenshot"); the picture is a by-product, so once more.
        page.screenshot(path=str(path), full_page=True)
    return path
