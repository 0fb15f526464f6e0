"""What every panel page shares: who is logged in, the language, rendering, forms,
CSRF and the error pages.

A page handler is ``async def handler(ctx: Ctx) -> Response`` wrapped by :func:`page`,
which
- finds the session (cookie ``ileti_session``) or redirects to the login page;
- refuses a POST that comes from another site (an ``Origin`` other than ours) or lacks
  the session's CSRF token (403, nothing done);
- renders what a handler raises: :class:`NotFound` (404: unknown ids and other
  accounts' ids alike), :class:`Forbidden` (403), a store outage (503) and anything
  unexpected (500, logged with its traceback, never shown).

Forms are read once (:meth:`Ctx.form`), with limits on fields and sizes; a form that
fails validation is rendered again with each error next to its field (``errors``) and
nothing changed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ileti.api.address import client_address
from ileti.api.panel.i18n import CATALOGUE, LANGUAGES, Lang, language, translator
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.models import Account
from ileti.services.users import Session
from ileti.store import StoreUnavailable

log = logging.getLogger("ileti.panel")

PREFIX = "/panel"
SESSION_COOKIE = "ileti_session"
LANG_COOKIE = "ileti_lang"
#: The login form's CSRF cookie (double submit: there is no session yet).
LOGIN_CSRF_COOKIE = "ileti_login_csrf"
MAX_FORM_FIELDS = 200
MAX_FIELD_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["local_time"] = lambda us: format_local(us) if us else ""


class NotFound(Exception):
    """404: no such page, or not this account's (the two are not told apart)."""


class Forbidden(Exception):
    """403: an admin-only page, or a form from another site."""


class FormInvalid(Exception):
    """A form that fails validation: ``errors`` maps a field to its catalogue key (or
    ``(key, values)``)."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(", ".join(errors))
        self.errors = dict(errors)


def is_https(request: Request, rt: Runtime) -> bool:
    if request.url.scheme == "https":
        return True
    # A trusted proxy's word on the scheme (the same proxies X-Forwarded-For trusts).
    peer = request.client.host if request.client else None
    from ileti.networks import contains

    proxies = rt.settings.trusted_proxies
    return bool(
        peer
        and proxies
        and contains(proxies, peer)
        and request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def same_origin(request: Request) -> bool:
    """Whether a POST may come from our own pages: its ``Origin`` (or, lacking one, its
    ``Referer``) names this host. Browsers send Origin on every cross-site POST."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser's cross-site form: the CSRF token still decides
    parsed = urlsplit(origin)
    host = request.headers.get("host", "")
    return parsed.netloc == host


@dataclass
class Ctx:
    """One panel request: the runtime, the session, the language."""

    request: Request
    rt: Runtime
    session: Session | None
    lang: Lang
    _form: FormData | None = field(default=None, repr=False)

    @property
    def t(self) -> Callable[..., str]:
        return translator(self.lang)

    @property
    def account(self) -> Account:
        """The account the pages show; NotFound when there is none (an admin before any
        account exists)."""
        if self.session is None or self.session.account is None:
            raise NotFound()
        return self.session.account

    @property
    def admin(self) -> bool:
        return self.session is not None and self.session.user.admin

    @property
    def address(self) -> str | None:
        return client_address(self.request.scope, self.rt.settings.trusted_proxies)

    @property
    def flash(self) -> str | None:
        """A message the previous POST left for this page (a catalogue key)."""
        key = self.request.cookies.get("ileti_flash")
        return key if key in CATALOGUE else None

    async def form(self) -> FormData:
        if self._form is None:
            self._form = await self.request.form(
                max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
            )
        return self._form

    async def field(self, name: str, default: str = "") -> str:
        value = (await self.form()).get(name, default)
        return value if isinstance(value, str) else default

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = _templates.get_template(template).render(
            t=self.t,
            lang=self.lang,
            languages=LANGUAGES,
            ctx=self,
            session=self.session,
            path=self.request.url.path,
            query=self.request.url.query,
            csrf=self.session.csrf if self.session else "",
            catalogue=CATALOGUE,
            errors=values.pop("errors", {}),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def redirect(self, to: str, *, flash: str | None = None) -> RedirectResponse:
        """303 to a panel path; ``flash`` (a catalogue key) is shown once there."""
        response = RedirectResponse(to, status_code=303, headers={"Cache-Control": "no-store"})
        if flash:
            response.set_cookie(
                "ileti_flash", flash, max_age=60, path=PREFIX, httponly=True, samesite="lax"
            )
        return response


Handler = Callable[[Ctx], Awaitable[Response]]


def _lang_of(request: Request) -> Lang:
    return language(request.cookies.get(LANG_COOKIE))


def request_language(request: Request) -> Lang:
    """The language a request's pages are shown in (its cookie; Turkish by default)."""
    return _lang_of(request)


def error_page(ctx: Ctx, status: int) -> HTMLResponse:
    return ctx.render("error.html", status=status, status_code=status)


def page(
    rt: Runtime, handler: Handler, *, admin: bool = False, login: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of a panel page (see the module's docstring)."""

    async def endpoint(request: Request) -> Response:
        ctx = Ctx(request=request, rt=rt, session=None, lang=_lang_of(request))
        try:
            if login:
                ctx.session = await rt.users.session(request.cookies.get(SESSION_COOKIE))
                if ctx.session is None:
                    if request.method != "GET":
                        raise Forbidden()
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(
                        f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303
                    )
                if admin and not ctx.session.user.admin:
                    raise NotFound()
                if request.method == "POST":
                    if not same_origin(request):
                        log.info("panel: cross-site POST to %s refused", request.url.path)
                        raise Forbidden()
                    if not ctx.session.csrf_ok(await ctx.field("csrf")):
                        log.info("panel: POST to %s without its CSRF token", request.url.path)
                        raise Forbidden()
            response = await handler(ctx)
            flash = request.cookies.get("ileti_flash")
            if flash and response.status_code == 200:
                response.delete_cookie("ileti_flash", path=PREFIX)
            return response
        except NotFound:
            return error_page(ctx, 404)
        except Forbidden:
            return error_page(ctx, 403)
        except StoreUnavailable as exc:
            log.warning("panel: %s: store unavailable: %s", request.url.path, exc)
            return error_page(ctx, 503)
        except Exception:
            log.exception("panel: %s %s failed", request.method, request.url.path)
            return error_page(ctx, 500)

    return endpoint


def safe_next(raw: str | None) -> str:
    """A post-login destination: a panel path only (no other host, no scheme)."""
    if raw and raw.startswith(PREFIX + "/") and not raw.startswith("//") and "\\" not in raw:
        parsed = urlsplit(raw)
        if not parsed.scheme and not parsed.netloc:
            return raw
    return PREFIX + "/"
