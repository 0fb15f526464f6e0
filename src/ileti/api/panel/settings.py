"""The settings pages of the account on view: access permissions (the "API kullanımına
izin ver" switch and the fixed-IP allow-list), API keys (rotate: the new secret shown
once) and sending settings (senders, İYS brand code, test number, webhook URL with its
recent attempts, rate limit, short code; the balance for an admin).

Every change goes through :class:`AccountService`, so this instance's credential cache
is invalidated at once and other instances see it within ``ILETI_AUTH_REFRESH_SECONDS``.
Only ``ctx.account`` is ever read or changed: no page takes an account from its URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shlex
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ileti import numbers
from ileti.api.panel.base import PREFIX, Ctx, Forbidden, FormInvalid, NotFound, is_https, page
from ileti.api.runtime import Runtime
from ileti.logs import safe_url
from ileti.models import Account
from ileti.services.accounts import (
    MAX_BALANCE,
    MAX_RATE_LIMIT,
    AccountError,
    check_balance,
    check_networks,
    check_senders,
    check_settings,
)
from ileti.services.webhooks import WebhookLog
from ileti.store import AccountNotFound
from ileti.store.webhooks import Webhook

ACCESS = f"{PREFIX}/settings/security/access"
KEYS = f"{PREFIX}/settings/keys"
SENDING = f"{PREFIX}/settings/sending"
#: The webhook attempts the sending page shows at most (of as many webhooks at most).
ATTEMPTS_SHOWN = 20
#: Bad allow-list entries named in the error at most.
BAD_ENTRIES_NAMED = 5


# -- access permissions -----------------------------------------------------------------


def allow_list_entries(text: str) -> list[str]:
    """The entries of the allow-list field: one a line, or separated by commas."""
    return [entry for entry in text.replace(",", " ").split() if entry]


def check_allow_list(text: str) -> tuple[str, ...]:
    """The field's entries, each checked by the service's parser; FormInvalid naming
    the bad ones (the first few)."""
    entries = allow_list_entries(text)
    bad = [entry for entry in entries if not _valid_network(entry)]
    if bad:
        named = ", ".join(bad[:BAD_ENTRIES_NAMED])
        if len(bad) > BAD_ENTRIES_NAMED:
            named += " …"
        raise FormInvalid({"allow_ips": ("access.bad_entry", {"entries": named})})
    return tuple(entries)


def _propagation(ctx: Ctx) -> str:
    seconds = ctx.rt.settings.auth_refresh_seconds
    if seconds <= 0:
        return ctx.t("access.propagation_off")
    shown = f"{seconds:g}"
    return ctx.t(
        "access.propagation", seconds=shown.replace(".", ",") if ctx.lang == "tr" else shown
    )


def _access_page(
    ctx: Ctx,
    account: Account,
    *,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    api_access: bool | None = None,
    allow_ips: str | None = None,
) -> Response:
    return ctx.render(
        "settings_access.html",
        status=status,
        errors=errors or {},
        account=account,
        api_access=account.api_access if api_access is None else api_access,
        allow_ips="\n".join(account.allow_ips) if allow_ips is None else allow_ips,
        propagation=_propagation(ctx),
        address=ctx.address,
    )


async def access(ctx: Ctx) -> Response:
    account = ctx.account
    if ctx.request.method == "GET":
        return _access_page(ctx, account)
    api_access = (await ctx.field("api_access")) == "1"
    text = await ctx.field("allow_ips")
    try:
        entries = check_allow_list(text)
    except FormInvalid as invalid:
        return _access_page(
            ctx, account, status=422, errors=invalid.errors, api_access=api_access, allow_ips=text
        )
    try:
        await ctx.rt.accounts.update(account.key, api_access=api_access, allow_ips=entries)
    except AccountNotFound:
        raise NotFound() from None
    return ctx.redirect(ACCESS, flash="form.saved")


def _valid_network(entry: str) -> bool:
    try:
        check_networks((entry,))
    except AccountError:
        return False
    return True


# -- API keys -----------------------------------------------------------------------------


def rotation_token(ctx: Ctx, account: Account) -> str:
    """What the rotate form carries: the current credentials' fingerprint under the
    session's CSRF token, so a form opened before a rotation (or sent twice, as a
    reload does) rotates nothing. It tells nothing of the hash."""
    assert ctx.session is not None
    return hmac.new(
        ctx.session.csrf.encode() + b"/rotate",
        account.hash_sha256.encode(),
        hashlib.sha256,
    ).hexdigest()[:32]


def base_url(ctx: Ctx) -> str:
    """This server's address as the browser reached it (the scheme a trusted proxy
    reports)."""
    scheme = "https" if is_https(ctx.request, ctx.rt) else "http"
    host = ctx.request.headers.get("host") or ctx.request.url.netloc
    return f"{scheme}://{host}"


def curl_line(base: str, key: str, hash_hex: str) -> str:
    body = {"request": {"authentication": {"key": key, "hash": hash_hex}}}
    data = json.dumps(body, separators=(",", ":"))
    return f"curl -s {shlex.quote(base + '/v1/get-balance/json')} -d {shlex.quote(data)}"


async def keys(ctx: Ctx) -> Response:
    account = ctx.account
    if ctx.request.method == "GET":
        return ctx.render("settings_keys.html", account=account, token=rotation_token(ctx, account))
    given = await ctx.field("token")
    if not hmac.compare_digest(given.encode(), rotation_token(ctx, account).encode()):
        return ctx.redirect(KEYS, flash="keys.stale")
    if await ctx.field("confirm") != "1":
        return ctx.render(
            "settings_keys.html",
            status=422,
            errors={"confirm": "keys.confirm_required"},
            account=account,
            token=rotation_token(ctx, account),
        )
    try:
        issued = await ctx.rt.accounts.rotate(account.key)
    except AccountNotFound:
        raise NotFound() from None
    return ctx.render(
        "settings_rotated.html",
        account=issued.account,
        secret=issued.secret,
        hash=issued.hash,
        curl=curl_line(base_url(ctx), issued.account.key, issued.hash),
    )


# -- sending settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRow:
    at: int | None
    url: str
    http_status: int | None
    error: str | None
    outcome: str  # delivered | failed | given_up | retried


def attempt_rows(hooks: list[Webhook], limit: int = ATTEMPTS_SHOWN) -> list[AttemptRow]:
    """The attempts of the newest webhooks, newest first, ``limit`` at most."""
    rows: list[AttemptRow] = []
    for hook in hooks:  # newest first
        last = len(hook.history) - 1
        for index in range(last, -1, -1):
            tried = hook.history[index]
            if tried.error is None:
                outcome = "delivered"
            elif index < last:
                outcome = "retried"
            else:
                outcome = "given_up" if hook.status == "given_up" else "failed"
            rows.append(
                AttemptRow(tried.at, safe_url(hook.url), tried.http_status, tried.error, outcome)
            )
    rows.sort(key=lambda row: row.at or 0, reverse=True)
    return rows[:limit]


SETTING_FIELDS = ("brand_code", "test_number", "webhook_url", "rate_limit", "short_code")


def _shown_settings(account: Account) -> dict[str, str]:
    return {
        "brand_code": account.brand_code or "",
        "test_number": numbers.e164(account.test_number) if account.test_number else "",
        "webhook_url": account.webhook_url or "",
        "rate_limit": "" if account.rate_limit is None else str(account.rate_limit),
        "short_code": account.short_code or "",
        "balance": str(account.balance),
    }


async def _sending_page(
    ctx: Ctx,
    account: Account,
    *,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    sender: str = "",
) -> Response:
    log = WebhookLog(ctx.rt.store, clock=ctx.rt.clock)
    hooks = (await log.page(account.id, limit=ATTEMPTS_SHOWN)).webhooks
    return ctx.render(
        "settings_sending.html",
        status=status,
        errors=errors or {},
        account=account,
        values=values or _shown_settings(account),
        sender=sender,
        attempts=attempt_rows(hooks),
        attempts_shown=ATTEMPTS_SHOWN,
        max_rate_limit=MAX_RATE_LIMIT,
        max_balance=MAX_BALANCE,
    )


def _whole(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        return None
    return int(text)


def check_sending_form(values: dict[str, str], *, admin: bool) -> dict[str, Any]:
    """The form's values as AccountService.update takes them; FormInvalid naming each
    field at fault (each checked by the service's own rules)."""
    errors: dict[str, Any] = {}
    out: dict[str, Any] = {}
    checks: dict[str, Any] = {
        "brand_code": values["brand_code"],
        "test_number": values["test_number"].strip(),
        "webhook_url": values["webhook_url"].strip(),
        "short_code": values["short_code"],
    }
    for name, value in checks.items():
        try:
            out.update(check_settings({name: value}))
        except (AccountError, ValueError):
            errors[name] = f"sending.bad_{name}"
    rate = values["rate_limit"].strip()
    if rate == "":
        out["rate_limit"] = None
    else:
        try:
            whole = _whole(rate)
            if whole is None:
                raise AccountError("not a whole number", "rate_limit")
            out.update(check_settings({"rate_limit": whole}))
        except AccountError:
            errors["rate_limit"] = ("sending.bad_rate_limit", {"max": MAX_RATE_LIMIT})
    if admin:
        try:
            out["balance"] = check_balance(_whole(values["balance"]))
        except AccountError:
            errors["balance"] = ("sending.bad_balance", {"max": MAX_BALANCE})
    if errors:
        raise FormInvalid(errors)
    return out


async def sending(ctx: Ctx) -> Response:
    account = ctx.account
    if ctx.request.method == "GET":
        return await _sending_page(ctx, account)
    form = await ctx.form()
    if "balance" in form and not ctx.admin:
        raise Forbidden()  # only an admin sets a balance: nothing is changed
    values = {name: await ctx.field(name) for name in (*SETTING_FIELDS, "balance")}
    try:
        changes = check_sending_form(values, admin=ctx.admin)
    except FormInvalid as invalid:
        if not ctx.admin:
            values["balance"] = str(account.balance)
        return await _sending_page(ctx, account, status=422, errors=invalid.errors, values=values)
    try:
        await ctx.rt.accounts.update(account.key, **changes)
    except AccountNotFound:
        raise NotFound() from None
    return ctx.redirect(SENDING, flash="form.saved")


async def senders(ctx: Ctx) -> Response:
    account = ctx.account
    removing = await ctx.field("remove")
    if removing:
        if removing not in account.senders:
            raise NotFound()
        kept = tuple(s for s in account.senders if s != removing)
        flash = "sending.removed"
    else:
        sender = (await ctx.field("sender")).strip()
        error: str | None = None
        try:
            if not sender:
                raise AccountError("empty")
            check_senders((sender,))
        except AccountError:
            error = "sending.bad_sender"
        if error is None and sender in account.senders:
            error = "sending.sender_exists"
        if error is not None:
            return await _sending_page(
                ctx, account, status=422, errors={"sender": error}, sender=sender
            )
        kept = (*account.senders, sender)
        flash = "sending.added"
    try:
        await ctx.rt.accounts.update(account.key, senders=kept)
    except AccountNotFound:
        raise NotFound() from None
    return ctx.redirect(SENDING, flash=flash)


def routes(rt: Runtime) -> list[Route]:
    return [
        Route("/settings/security/access", page(rt, access), methods=["GET", "POST"]),
        Route("/settings/keys", page(rt, keys), methods=["GET", "POST"]),
        Route("/settings/sending", page(rt, sending), methods=["GET", "POST"]),
        Route("/settings/sending/senders", page(rt, senders), methods=["POST"]),
    ]
