"""``GET /outbox``: the sandbox outbox as JSON, an admin view outside ``/v1``.

Off unless ``ILETI_ADMIN_TOKEN`` is set: then the route does not exist at all (404 like
any unknown path). When on, every request needs ``Authorization: Bearer <token>``
(compared in constant time), else 401.

Query: ``key`` (one account), ``order`` (one order), ``limit`` (1-1000, default 100),
``before`` (a message id: the cursor ``next`` carries). Answer::

    {"messages": [...newest first...], "next": "/outbox?...&before=123" | null}
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ileti.api.address import client_address
from ileti.api.runtime import Runtime
from ileti.errors import RateLimited
from ileti.services.outbox import OutboxQueryError, OutboxService, describe
from ileti.store import AccountNotFound, StoreUnavailable

log = logging.getLogger("ileti.api")

PATH = "/outbox"
_NO_STORE = {"Cache-Control": "no-store"}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def authorized(header: str | None, token_digest: bytes) -> bool:
    """Whether an Authorization header carries the token (constant time in its value)."""
    scheme, _, given = (header or "").strip().partition(" ")
    ok = scheme.lower() == "bearer"
    return hmac.compare_digest(_digest(given.strip()), token_digest) and ok


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_NO_STORE | headers)


def routes(rt: Runtime) -> list[Route]:
    """The outbox route when an admin token is configured; none otherwise."""
    token = rt.settings.admin_token
    if not token:
        return []
    token_digest = _digest(token)
    service = OutboxService(rt.store)

    async def outbox(request: Request) -> JSONResponse:
        address = client_address(request.scope, rt.settings.trusted_proxies)
        try:
            if rt.auth_throttle.blocking:
                rt.auth_throttle.check(address)
            if not authorized(request.headers.get("authorization"), token_digest):
                log.info("401 on %s from %s: no or wrong admin token", PATH, _peer(request))
                await rt.auth_throttle.failed(address)
                return _error(401, "unauthorized", **{"WWW-Authenticate": 'Bearer realm="ileti"'})
        except RateLimited as exc:
            return _error(429, "too many authentication failures", **(exc.headers or {}))
        query = request.query_params
        try:
            page = await service.page(
                key=query.get("key"),
                order=query.get("order"),
                before=query.get("before"),
                limit=query.get("limit"),
            )
        except OutboxQueryError as exc:
            return _error(400, str(exc))
        except AccountNotFound:
            return _error(404, "no account with this key")
        except StoreUnavailable as exc:
            log.warning("outbox: store unavailable: %s", exc)
            return _error(503, "database unavailable")
        following = None
        if page.next_before is not None:
            kept = [(name, query[name]) for name in ("key", "order", "limit") if query.get(name)]
            following = f"{PATH}?{urlencode([*kept, ('before', str(page.next_before))])}"
        body = {"messages": [describe(m) for m in page.messages], "next": following}
        return JSONResponse(body, headers=_NO_STORE)

    return [Route(PATH, outbox, methods=["GET"])]
