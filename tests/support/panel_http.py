"""The panel over HTTP in process (no browser): log in through the form and keep the
session cookie, read a page's CSRF token, post forms as the panel's own pages do."""

from __future__ import annotations

import re

import httpx

ORIGIN = "http://ileti.test"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """The login form, as a browser fills it; the answer (303 to the panel on success)."""
    form = await client.get("/panel/login")
    return await client.post(
        "/panel/login",
        data={"csrf": csrf_of(form.text), "email": email, "password": password},
        headers={"Origin": ORIGIN},
    )


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Post ``data`` to ``action`` with the CSRF token of ``page`` (as its form would)."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={"csrf": token, **data}, headers={"Origin": ORIGIN})
