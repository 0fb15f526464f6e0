"""Every panel page, in one table, with what it needs seeded: the accessibility,
phone-width, keyboard, screenshot (tests/test_panel_pages.py) and text
(tests/test_panel_texts.py) checks run over each row. A new page is covered by adding
one row to :data:`PAGES`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from tests.support.panel import Account, PanelSite, User

#: Turkish-only letters: none may appear in an English page's own words.
TURKISH_ONLY = re.compile("[ğşıİçöüĞŞÇÖÜ]")


@dataclass(frozen=True)
class PanelPage:
    """One page of the panel as a user opens it."""

    #: The screenshots' stem: ``<name>-<lang>-<desktop|phone>.png``.
    name: str
    #: The path; ``{order_id}``, ``{scheduled_id}``, ``{message_id}``, ``{released_id}``,
    #: ``{relayed_id}``, ``{relayed_message_id}``, ``{relayed_scheduled_id}`` are the
    #: seeded ids.
    path: str
    #: Who opens it: "user" (of the seeded account), "admin" (showing the seeded
    #: account), or "anonymous".
    role: str = "user"
    #: The status the page answers with.
    status: int = 200
    #: A form posted instead of a GET (fields besides ``csrf``; ``csrf`` here wins).
    post: dict[str, str] | None = None

    def url_path(self, seeded: Seeded) -> str:
        return self.path.format(**seeded.ids)


PAGES: tuple[PanelPage, ...] = (
    PanelPage("login", "/panel/login", role="anonymous"),
    PanelPage("dashboard", "/panel/"),
    # A user posting the admin's account switch: the panel's 404 page.
    PanelPage("error-404", "/panel/account", status=404, post={"key": "no-such-account"}),
    # A form with a wrong CSRF token: the panel's 403 page.
    PanelPage("error-403", "/panel/logout", status=403, post={"csrf": "wrong-token"}),
    PanelPage("access", "/panel/settings/security/access"),
    PanelPage("keys", "/panel/settings/keys"),
    PanelPage("sending", "/panel/settings/sending"),
    PanelPage("blacklist", "/panel/blacklist"),
    PanelPage("consents", "/panel/consents?q=05321112240"),
    PanelPage("orders", "/panel/orders"),
    PanelPage("order", "/panel/orders/{order_id}"),
    PanelPage("order-scheduled", "/panel/orders/{scheduled_id}"),
    PanelPage("outbox", "/panel/outbox"),
    PanelPage("message", "/panel/outbox/{message_id}"),
    PanelPage("sandbox", "/panel/sandbox"),
    # A user sees the upstream read-only; an admin sets it.
    PanelPage("relay", "/panel/settings/relay"),
    PanelPage("relay-admin", "/panel/settings/relay", role="admin"),
    # A bad upstream URL: the error at its field, nothing stored.
    PanelPage(
        "relay-invalid",
        "/panel/settings/relay",
        role="admin",
        status=422,
        post={"url": "ftp://upstream.invalid/", "mode": "sandbox"},
    ),
    PanelPage("order-released", "/panel/orders/{released_id}"),
    PanelPage("order-relayed", "/panel/orders/{relayed_id}"),
    # A relayed scheduled order: cancellable (upstream first) until its time.
    PanelPage("order-relayed-scheduled", "/panel/orders/{relayed_scheduled_id}"),
    PanelPage("message-relayed", "/panel/outbox/{relayed_message_id}"),
    PanelPage("accounts", "/panel/accounts", role="admin"),
)
LANGS = ("tr", "en")


@dataclass
class Seeded:
    """One account with something on every page, a user of it, and an admin."""

    account: Account
    user: User
    admin: User
    ids: dict[str, int] = field(default_factory=dict)
    #: What was entered as data (message texts): Turkish on any page, in any language.
    entered: list[str] = field(default_factory=list)


def _send(site: PanelSite, account: Account, text: str, numbers: list[str], at: str = "") -> int:
    body = {
        "sender": "ILETI",
        "sendDateTime": at,
        "iys": "0",
        "message": {"text": text, "receipents": {"number": numbers}},
    }
    answer = site.v1("send-sms", account, order=body)
    data = answer.json()["response"]
    assert answer.status_code == 200, data
    return int(data["order"]["id"])


def seed(site: PanelSite) -> Seeded:
    """An account with an İYS brand code and one consent, blacklisted numbers, a sent
    order (one recipient skipped as blacklisted), a scheduled one and their messages,
    an upstream (set by the admin) with an order released to it (by the user), one
    relayed and one relayed for tomorrow; its user; an admin whose pages show it."""
    brand = str(600000 + secrets.randbelow(99999))
    account = site.new_account(
        name="checks-" + secrets.token_hex(3), balance=5000, brand_code=brand
    )
    user = site.new_user(account)
    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    consent = {"recipient": "05321112240", "recipientType": "BIREYSEL", "type": "MESAJ"}
    records = [{**consent, "status": "ONAY", "source": "HS_WEB", "consentDate": now}]
    answer = site.v1("consent/create", account, consent={"brandCode": brand, "list": records})
    assert answer.status_code == 200, answer.text
    listed = ["+905321112233", "+905321112234", "+905321112235"]
    for number in listed:
        answer = site.v1("add-blacklist", account, blacklist={"number": number})
        assert answer.status_code == 200, answer.text
    text = "Doğrulama kodunuz: 482913. Şifrenizi kimseyle paylaşmayın. 🙂"
    later = "Yarın görüşmek üzere"
    order_id = _send(site, account, text, ["+905331234567", "05441234567", listed[0]])
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%d/%m/%Y 10:00")
    scheduled_id = _send(site, account, later, ["05441234567"], tomorrow)
    found = site.control("GET", "/outbox", params={"key": account.key, "order": order_id})
    assert found.status_code == 200, found.text
    message_id = found.json()["messages"][0]["id"]
    # An admin made with the account's key shows it from the login on.
    admin = site.new_user(account, admin=True)
    relay_ids, relay_texts = _relay(site, account, user, admin, tomorrow)
    return Seeded(
        account,
        user,
        admin,
        {
            "order_id": order_id,
            "scheduled_id": scheduled_id,
            "message_id": message_id,
            **relay_ids,
        },
        [text, later, *relay_texts],
    )


def _relay(
    site: PanelSite, account: Account, user: User, admin: User, tomorrow: str
) -> tuple[dict[str, int], list[str]]:
    """The account's upstream set by the admin through the panel's form (another account
    of the same server: a real ileti answering v1), a sandbox order released to it by
    the user, then relay mode, a relayed order and one relayed for ``tomorrow``."""
    upstream = site.new_account(name="checks-upstream-" + secrets.token_hex(3))
    client = login_client(site, admin, "tr")
    users = login_client(site, user, "tr")
    try:
        csrf = session_csrf(client)
        origin = {"Origin": site.url}
        form = {
            "csrf": csrf,
            "url": f"{site.url}/v1/",
            "key": upstream.key,
            "hash": upstream.hash,
            "mode": "sandbox",
            "release_numbers": "+905331234567",
        }
        answer = client.post("/panel/settings/relay", data=form, headers=origin)
        assert answer.status_code == 200 and 'id="relay-notice"' in answer.text, answer.text
        released_text, relayed_text = "Serbest bırakılacak", "Aktarılan sipariş"
        released_id = _send(site, account, released_text, ["+905331234567", "05441234567"])
        answer = users.post(
            f"/panel/orders/{released_id}/release",
            data={"csrf": session_csrf(users), "confirm": "yes"},
            headers=origin,
        )
        assert answer.status_code == 303, answer.text
        form = {**form, "hash": "", "mode": "relay"}
        answer = client.post("/panel/settings/relay", data=form, headers=origin)
        assert answer.status_code == 200 and 'id="relay-notice"' in answer.text, answer.text
    finally:
        client.close()
        users.close()
    relayed_id = _send(site, account, relayed_text, ["+905331234567"])
    scheduled_text = "Yarın aktarılacak"
    relayed_scheduled_id = _send(site, account, scheduled_text, ["+905331234567"], tomorrow)
    found = site.control("GET", "/outbox", params={"key": account.key, "order": relayed_id})
    assert found.status_code == 200, found.text
    ids = {
        "released_id": released_id,
        "relayed_id": relayed_id,
        "relayed_message_id": found.json()["messages"][0]["id"],
        "relayed_scheduled_id": relayed_scheduled_id,
    }
    return ids, [released_text, relayed_text, scheduled_text]


def login_client(site: PanelSite, user: User, lang: str) -> httpx.Client:
    """An HTTP client logged in through the login form (its CSRF cookie and token), with
    the language cookie set."""
    client = httpx.Client(base_url=site.url, timeout=30, cookies={"ileti_lang": lang})
    form = client.get("/panel/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, form.text
    answer = client.post(
        "/panel/login",
        data={"csrf": token.group(1), "email": user.email, "password": user.password},
        headers={"Origin": site.url},
    )
    assert answer.status_code == 303, answer.text
    return client


def session_csrf(client: httpx.Client) -> str:
    """The CSRF token of a logged-in client's session (from the dashboard's forms)."""
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/panel/").text)
    assert token is not None
    return token.group(1)
