"""The sandbox control API under ``/_ileti/``: JSON endpoints a test suite uses to set
up, inspect and steer ileti, described by ``/_ileti/openapi.json`` (generated from the
same structs the handlers parse and return).

Who may call: the admin, with ``Authorization: Bearer <ILETI_ADMIN_TOKEN>`` (every
account; creating and deleting accounts), or an account, with its API key and hash in
``X-Ileti-Key`` and ``X-Ileti-Hash`` (only its own data: another account's is 404).
``ILETI_CONTROL_API=off`` removes the whole prefix (404), for production servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ileti.api.address import client_address
from ileti.api.control import (
    accounts,
    consent,
    delivery,
    faults,
    inbound,
    outbox,
    relay,
    state,
    webhooks,
)
from ileti.api.control.base import (
    PREFIX,
    Caller,
    ControlError,
    Endpoint,
    bearer_matches,
    error_response,
    json_response,
    parse_body,
    parse_query,
    token_digest,
)
from ileti.api.control.openapi import document
from ileti.api.runtime import Runtime
from ileti.errors import RateLimited, Unauthorized
from ileti.store import AccountNotFound, StoreUnavailable

log = logging.getLogger("ileti.control")

#: Every endpoint, in the order the OpenAPI document lists them.
ENDPOINTS: tuple[Endpoint, ...] = (
    *accounts.ENDPOINTS,
    *outbox.ENDPOINTS,
    *state.ENDPOINTS,
    *webhooks.ENDPOINTS,
    *inbound.ENDPOINTS,
    *faults.ENDPOINTS,
    *delivery.ENDPOINTS,
    *consent.ENDPOINTS,
    *relay.ENDPOINTS,
)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ileti"'}


async def _caller(rt: Runtime, request: Request, digest: bytes | None) -> Caller:
    """Who calls, or 401; 429 while the client's address has failed too often
    (``services/auth_throttle.py``, shared with v1)."""
    throttle = rt.auth_throttle
    try:
        if throttle.blocking:
            throttle.check(_address(rt, request))
        try:
            return await _identified(rt, request, digest)
        except ControlError:
            await throttle.failed(_address(rt, request))
            raise
    except RateLimited as exc:
        raise ControlError(
            429, "too many authentication failures from this address", headers=exc.headers
        ) from None


def _address(rt: Runtime, request: Request) -> str | None:
    return client_address(request.scope, rt.settings.trusted_proxies)


async def _identified(rt: Runtime, request: Request, digest: bytes | None) -> Caller:
    header = request.headers.get("authorization")
    if header is not None and digest is not None and bearer_matches(header, digest):
        return Caller(admin=True)
    key = request.headers.get("x-ileti-key")
    hash_hex = request.headers.get("x-ileti-hash")
    if key is not None or hash_hex is not None:
        try:
            credential = await rt.auth.identify(key, hash_hex)
        except Unauthorized as exc:
            log.info("control API: 401 for key %r: %s", (key or "")[:32], exc.detail)
        else:
            return Caller(admin=False, account=await rt.accounts.get(credential.key))
    if header is not None:
        log.info("control API: 401 for %s: wrong admin token or scheme", request.url.path)
    raise ControlError(
        401,
        "send Authorization: Bearer <admin token>, or X-Ileti-Key and X-Ileti-Hash",
    )


class _ClientGone(Exception):
    pass


async def _unless_gone(request: Request, call: Coroutine[Any, Any, Any]) -> Any:
    """Run a long-poll; cancel it when the client disconnects (a client that gave up
    must not hold one of its account's wait slots until the timeout)."""
    work = asyncio.ensure_future(call)

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watch = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, watch):
            if not task.done():
                task.cancel()
    if not work.done() or work.cancelled():
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise _ClientGone()
    return work.result()


def _route(rt: Runtime, endpoint: Endpoint, digest: bytes | None) -> Route:
    async def run(request: Request) -> Response:
        try:
            caller = await _caller(rt, request, digest)
            if endpoint.admin_only:
                caller.require_admin()
            kwargs: dict[str, Any] = dict(request.path_params)
            if endpoint.query is not None:
                kwargs["query"] = parse_query(request, endpoint.query)
            if endpoint.body is not None:
                kwargs["body"] = parse_body(await request.body(), endpoint.body)
            call = endpoint.handler(rt, caller, **kwargs)
            if endpoint.long_poll:
                result = await _unless_gone(request, call)
            else:
                result = await call
        except ControlError as exc:
            return error_response(exc, _CHALLENGE if exc.status == 401 else exc.headers)
        except _ClientGone:
            return Response(status_code=499)  # nobody is listening any more
        except AccountNotFound:
            return error_response(ControlError(404, "no account with this key", "key"))
        except StoreUnavailable as exc:
            log.error("control API: database unavailable: %s", exc)
            return error_response(ControlError(503, "database unavailable"))
        except Exception:
            log.exception(
                "control API: unexpected error on %s %s", request.method, request.url.path
            )
            return error_response(ControlError(503, "unexpected error; see the server log"))
        if result is None:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        return json_response(result, endpoint.status)

    return Route(PREFIX + endpoint.path, run, methods=[endpoint.method])


def routes(rt: Runtime) -> list[Route]:
    """The control API's routes; none when ``ILETI_CONTROL_API`` is off."""
    if not rt.settings.control_api:
        return []
    token = rt.settings.admin_token
    digest = token_digest(token) if token else None
    spec: list[Any] = []  # made at the first request, not at start

    async def openapi(_request: Request) -> Response:
        if not spec:
            spec.append(document(ENDPOINTS))
        return json_response(spec[0])

    return [
        Route(PREFIX + "/openapi.json", openapi, methods=["GET"]),
        *(_route(rt, endpoint, digest) for endpoint in ENDPOINTS),
    ]
