"""The ceiling ileti's throughput is measured against: a bare ASGI callable that reads
the whole request body and answers a constant v1 success envelope — no framework, no
parsing, no storage. The benchmarks run it under the same uvicorn options as ileti
and report ileti's req/s as a ratio to it, measured in the same run."""

from __future__ import annotations

from typing import Any

BODY = '{"response":{"status":{"code":200,"message":"İşlem başarılı"}}}'.encode()
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
