"""Settings → Relay: the account's upstream (docs/relay.md), over
:class:`ileti.services.relay_settings.RelaySettings`.

The form sets the URL, the key, the hash or the secret (password fields, never filled
in or echoed back: the page says only that a hash is kept), the mode, blacklist sync and
the release list. Saving makes the service's test call (get-balance) when a credential,
the URL or the mode to relay changes: the page then shows the upstream's balance, or the
one-line refusal next to the field at fault, with nothing stored. "Test the connection"
repeats the call with what is stored; "Remove the upstream" (confirmed) forgets it. Only
``ctx.account`` is read or changed: an admin changes another account's by showing it.

Only an admin sets or removes an upstream (docs/relay.md: an application must not
redirect its own messages, nor make ileti call an address of its choosing): a user of
the account sees the page read-only (no form, a sentence saying so) and may still test
the connection; a user's POST to the form or to the removal is the panel's 403, nothing
stored.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ileti.api.panel.base import PREFIX, Ctx, Forbidden, page
from ileti.api.runtime import Runtime
from ileti.services.relay_settings import (
    MAX_RELEASE_NUMBERS,
    MODES,
    RelaySettingError,
    UpstreamView,
)
from ileti.services.upstream import DEFAULT_BASE_URL
from ileti.store.relay import CANCELLED, DONE, FAILED, IN_FLIGHT, PENDING, SENT

RELAY = f"{PREFIX}/settings/relay"
#: The batch states in the order the page counts them.
STATES = (PENDING, IN_FLIGHT, SENT, DONE, FAILED, CANCELLED)
#: The form's fields; a service error naming another field is shown above the form.
FIELDS = ("url", "key", "hash", "secret", "mode", "release_numbers")
#: Release-list entries: one a line, or separated by commas or spaces.
MAX_ENTRY = 64


def release_entries(text: str) -> list[str]:
    return [entry[:MAX_ENTRY] for entry in text.replace(",", " ").split() if entry]


def _shown(view: UpstreamView | None) -> dict[str, Any]:
    """The form's values for what is stored (never the hash)."""
    if view is None:
        return {
            "url": DEFAULT_BASE_URL,
            "key": "",
            "mode": "sandbox",
            "blacklist_sync": False,
            "release_numbers": "",
        }
    return {
        "url": view.base_url,
        "key": view.key,
        "mode": view.mode,
        "blacklist_sync": view.blacklist_sync,
        "release_numbers": "\n".join(view.release_numbers),
    }


def _amount(ctx: Ctx, amount: float) -> str:
    shown = f"{amount:,.2f}"
    if ctx.lang == "tr":
        shown = shown.replace(",", " ").replace(".", ",").replace(" ", ".")
    return shown


async def _relay_page(
    ctx: Ctx,
    *,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    balance: tuple[float, int] | None = None,
    notice: str | None = None,
    check_error: str | None = None,
) -> Response:
    view = await ctx.rt.relay_settings.show(ctx.account.id)
    return ctx.render(
        "settings_relay.html",
        status=status,
        errors=errors or {},
        view=view,
        values=values or _shown(view),
        modes=MODES,
        states=STATES,
        max_numbers=MAX_RELEASE_NUMBERS,
        balance=(
            {"sms": balance[1], "amount": _amount(ctx, balance[0])} if balance is not None else None
        ),
        notice=notice,
        check_error=check_error,
        editable=ctx.admin,
    )


def _error(exc: RelaySettingError, given: dict[str, str]) -> dict[str, Any]:
    """The service's refusal next to its field (the secret's when the hash was made from
    it), with its own one line as the detail."""
    field = exc.field or ""
    if field == "hash" and not given["hash"] and given["secret"]:
        field = "secret"
    if field not in FIELDS:
        return {"_form": ("relay.bad_setting", {}, str(exc))}
    if field == "mode":
        return {"mode": "relay.bad_mode"}
    return {field: (f"relay.bad_{field}", {}, str(exc))}


async def settings_page(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        return await _relay_page(ctx)
    if not ctx.admin:
        raise Forbidden()
    account = ctx.account
    view = await ctx.rt.relay_settings.show(account.id)
    given = {name: (await ctx.field(name)).strip() for name in FIELDS}
    blacklist_sync = (await ctx.field("blacklist_sync")) == "1"
    changes: dict[str, Any] = {
        "mode": given["mode"],
        "blacklist_sync": blacklist_sync,
        "release_numbers": release_entries(given["release_numbers"]),
    }
    # What is unchanged is left out, so only a real change makes a test call.
    if view is None or given["url"] != view.base_url:
        changes["base_url"] = given["url"]
    if view is None or given["key"] != view.key:
        changes["key"] = given["key"]
    if given["hash"]:
        changes["hash"] = given["hash"]
    if given["secret"]:
        changes["secret"] = given["secret"]
    try:
        _, balance = await ctx.rt.relay_settings.set(account.id, **changes)
    except RelaySettingError as exc:
        values = {
            "url": given["url"],
            "key": given["key"],
            "mode": given["mode"] if given["mode"] in MODES else "sandbox",
            "blacklist_sync": blacklist_sync,
            "release_numbers": given["release_numbers"],
        }
        return await _relay_page(ctx, status=422, errors=_error(exc, given), values=values)
    return await _relay_page(ctx, balance=balance, notice="relay.saved")


async def check(ctx: Ctx) -> Response:
    try:
        balance = await ctx.rt.relay_settings.check(ctx.account.id)
    except RelaySettingError as exc:
        return await _relay_page(ctx, status=422, check_error=str(exc))
    return await _relay_page(ctx, balance=balance)


async def remove(ctx: Ctx) -> Response:
    if not ctx.admin:
        raise Forbidden()
    if await ctx.field("confirm") != "yes":
        return await _relay_page(ctx, status=422, errors={"confirm": "relay.confirm_required"})
    await ctx.rt.relay_settings.clear(ctx.account.id)
    return ctx.redirect(RELAY, flash="relay.removed")


def routes(rt: Runtime) -> list[Route]:
    return [
        Route("/settings/relay", page(rt, settings_page), methods=["GET", "POST"]),
        Route("/settings/relay/check", page(rt, check), methods=["POST"]),
        Route("/settings/relay/remove", page(rt, remove), methods=["POST"]),
    ]
