"""Logging in and out, the language switch, and an admin's choice of account."""

from __future__ import annotations

import hmac
import math
import secrets

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ileti.api.panel.base import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Ctx,
    NotFound,
    is_https,
    page,
    safe_next,
    same_origin,
)
from ileti.api.panel.i18n import language
from ileti.api.runtime import Runtime
from ileti.errors import RateLimited
from ileti.services.users import LoginRefused
from ileti.store import AccountNotFound

YEAR = 365 * 86_400


def _login_form(
    ctx: Ctx, *, status: int = 200, error: str | None = None, **values: object
) -> Response:
    token = ctx.request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = ctx.render(
        "login.html",
        status=status,
        login_csrf=token,
        error=error,
        next=safe_next(ctx.request.query_params.get("next")),
        email=values.get("email", ""),
        errors=values.get("errors", {}),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=f"{PREFIX}/login",
        httponly=True,
        samesite="lax",
        secure=is_https(ctx.request, ctx.rt),
    )
    return response


async def login_page(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        if await ctx.rt.users.session(ctx.request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(PREFIX + "/", status_code=303)
        return _login_form(ctx)
    if not same_origin(ctx.request):
        return ctx.render("error.html", status=403, status_code=403)
    form_token = await ctx.field("csrf")
    cookie_token = ctx.request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(form_token.encode(), cookie_token.encode()):
        return _login_form(ctx, status=403, error=ctx.t("login.expired"))
    email = (await ctx.field("email")).strip()
    password = await ctx.field("password")
    errors = {}
    if not email:
        errors["email"] = "login.required"
    if not password:
        errors["password"] = "login.required"
    if errors:
        return _login_form(ctx, status=422, email=email, errors=errors)
    try:
        session = await ctx.rt.users.login(email, password, ctx.address)
    except LoginRefused:
        return _login_form(ctx, status=401, error=ctx.t("login.refused"), email=email)
    except RateLimited as exc:
        seconds = int((exc.headers or {}).get("retry-after", "60"))
        response = _login_form(
            ctx, status=429, error=ctx.t("login.throttled", seconds=seconds), email=email
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    target = safe_next(ctx.request.query_params.get("next") or await ctx.field("next"))
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=math.ceil(ctx.rt.settings.session_seconds),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=is_https(ctx.request, ctx.rt),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return response


async def logout(ctx: Ctx) -> Response:
    assert ctx.session is not None
    await ctx.rt.users.logout(ctx.session)
    response = ctx.redirect(f"{PREFIX}/login", flash="logout.done")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


async def switch_language(ctx: Ctx) -> Response:
    lang = language(ctx.request.query_params.get("to"))
    response = RedirectResponse(
        safe_next(ctx.request.query_params.get("next")),
        status_code=303,
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, path=PREFIX, samesite="lax")
    return response


async def switch_account(ctx: Ctx) -> Response:
    assert ctx.session is not None
    try:
        await ctx.rt.users.view(ctx.session, (await ctx.field("key")).strip())
    except AccountNotFound:
        raise NotFound() from None
    return ctx.redirect(safe_next(await ctx.field("next")))


def routes(rt: Runtime) -> list[Route]:
    return [
        Route("/login", page(rt, login_page, login=False), methods=["GET", "POST"]),
        Route("/logout", page(rt, logout), methods=["POST"]),
        Route("/lang", page(rt, switch_language, login=False), methods=["GET"]),
        Route("/account", page(rt, switch_account, admin=True), methods=["POST"]),
    ]
