"""The v1 route: ``POST /v1/<action>/json`` (JSON) and ``POST /v1/<action>`` (XML).

A plain ASGI callable, because it is the hot path: parse the path, read the body (at
most ``max_body_bytes``), decode, authenticate, run the action's handler, render.
Order of checks (spec §1.4): unknown action or method 404 -> body 400 -> auth 401 ->
the action's own rules. Every outcome is rendered by ``ileti.wire.encode``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from ileti.api.actions import ACTIONS, Action
from ileti.api.address import client_address
from ileti.api.runtime import Runtime
from ileti.errors import ApiError, BadRequest, Code, NotFound
from ileti.store import StoreUnavailable
from ileti.wire import Format, decode, render_error, render_ok
from ileti.wire.decode import tree as decode_tree
from ileti.wire.orders import get_form

log = logging.getLogger("ileti.api")

PREFIX = "/v1/"


Route = tuple[Action, Format, bool]  # the action, the encoding, request in the query?
_ROUTES: dict[tuple[str, str], Route] = {}


def route(path: str, method: str) -> Route:
    """The action and encoding of a request path; NotFound (carrying the encoding)."""
    found = _ROUTES.get((path, method))
    if found is not None:
        return found
    rest = path[len(PREFIX) - 1 :].strip("/")
    parts = rest.split("/") if rest else []
    fmt = Format.JSON if parts and parts[-1] == "json" else Format.XML
    found = None
    action = None
    # An action's name is one segment (send-sms) or two (consent/create).
    for size in (2, 1):
        action = ACTIONS.get("/".join(parts[:size])) if len(parts) >= size else None
        if action is not None:
            parts = [action.name, *parts[size:]]
            break
    if action is not None:
        as_json = len(parts) == 2 and parts[1] == "json"
        bare = len(parts) == 1 and not action.json_only
        if (as_json or bare) and method == "POST":
            found = (action, fmt, False)
        elif len(parts) == 2 and parts[1] == "get" and action.get_form and method == "GET":
            found = (action, Format.XML, True)
    if found is None:
        raise _NotRouted(fmt)
    if len(_ROUTES) < 1024:  # only real routes get here; the bound is a guard
        _ROUTES[(path, method)] = found
    return found


class _NotRouted(NotFound):
    def __init__(self, fmt: Format) -> None:
        super().__init__("no such action or method")
        self.fmt = fmt


class TooLarge(BadRequest):
    pass


async def read_body(receive: Any, limit: int) -> bytes:
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise TooLarge(f"body over {limit} bytes")
        return body
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise BadRequest("client went away")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"body over {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


_CONTENT_TYPES = {fmt: (b"content-type", fmt.content_type) for fmt in Format}


class V1:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.limit = runtime.settings.max_body_bytes
        self.send_limit = max(self.limit, runtime.settings.max_send_body_bytes)
        self.proxies = runtime.settings.trusted_proxies

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        fmt = Format.JSON
        extra: dict[str, str] | None = None
        action: Action | None = None
        account_id: int | None = None
        try:
            action, fmt, in_query = route(scope["path"], scope["method"])
            if in_query:
                query = parse_qs(scope.get("query_string", b"").decode("utf-8", "strict"))
                form = {name: values[-1] for name, values in query.items()}
                req = decode_tree(get_form(form), action.request_type)
            else:
                limit = self.send_limit if action.large_body else self.limit
                body = await read_body(receive, limit)
                req = decode(body, action.request_type, fmt)
            auth = req.authentication
            who = await self.rt.auth.authenticate(
                auth.key if auth is not None else None,
                auth.hash if auth is not None else None,
                lambda: client_address(scope, self.proxies),
            )
            account_id = who.account_id
            # Sandbox fault rules (services/faults.py): an injected error or latency,
            # after authentication and before the action changes anything.
            await self.rt.faults.strike(who.account_id, action.name)
            payload = await action.handler(self.rt, who, req)
            status, out = render_ok(payload, fmt)
        except UnicodeDecodeError:
            status, out = render_error(Code.BAD_REQUEST, fmt)
        except _NotRouted as exc:
            fmt = exc.fmt
            status, out = render_error(Code.NOT_FOUND, fmt)
        except ApiError as exc:
            status, out = render_error(exc.code, fmt)
            extra = exc.headers
            refused = exc.account_id if account_id is None else account_id
            if refused is not None and action is not None:
                # For the account's panel (services/refusals.py).
                self.rt.refusals.record(
                    refused,
                    action.name,
                    int(exc.code),
                    exc.detail,
                    client_address(scope, self.proxies),
                )
        except StoreUnavailable as exc:
            log.error("database unavailable: %s", exc)
            status, out = render_error(Code.UNAVAILABLE, fmt)
        except Exception:
            log.exception("unexpected error on %s", scope.get("path"))
            status, out = render_error(Code.UNAVAILABLE, fmt)
        headers = [_CONTENT_TYPES[fmt], (b"content-length", b"%d" % len(out))]
        if extra:
            headers.extend((k.encode(), v.encode()) for k, v in extra.items())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
