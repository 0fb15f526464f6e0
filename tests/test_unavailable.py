"""503 (spec §3): when the database cannot be written, and when a handler fails in a way
nobody foresaw, a v1 request still gets a well-formed envelope in its own encoding,
HTTP 503 with body code 503 and the spec's message, the cause is logged, and nothing
changes. On SQLite and PostgreSQL, with the database itself refusing the writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, NoReturn

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.actions import CASES, encodings_of, prepare, request_of
from tests.support.http import ENCODINGS, body_of, path_of
from tests.support.runtime import client_of
from tests.support.spec import JSON_TYPE, XML_TYPE, json_body, xml_body
from tests.support.stored import STORE_UNAVAILABLE, insert_account_row_raw, snapshot

#: Every action whose success writes (a new one that writes is included at once).
WRITING = sorted(name for name, case in CASES.items() if case.writes)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The simulated carrier off: what is stored changes only by requests."""
    return Settings(database_url=database_url, auth_refresh_seconds=0.1, delivery_poll_seconds=0)


def assert_unavailable(r: httpx.Response, enc: str) -> None:
    """The one 503: status, content type and the exact bytes of the envelope."""
    assert r.status_code == 503, r.content
    if enc == "json":
        assert (r.headers["content-type"], r.content) == (JSON_TYPE, json_body(503))
    else:
        assert (r.headers["content-type"], r.content) == (XML_TYPE, xml_body(503))
    assert r.headers["content-length"] == str(len(r.content))


def test_writing_actions_are_known() -> None:
    assert {"add-blacklist", "delete-blacklist", "send-sms", "cancel-order"} <= set(WRITING)


@pytest.mark.parametrize("enc", ENCODINGS)
async def test_a_database_that_refuses_writes_gives_503(
    settings: Settings,
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    refusing_writes: Callable[[Settings], AbstractAsyncContextManager[Runtime]],
    caplog: pytest.LogCaptureFixture,
    enc: str,
) -> None:
    prepared = await prepare(client, account)
    before = await snapshot(runtime)
    caplog.set_level(logging.ERROR, logger="ileti.api")

    writing = [action for action in WRITING if enc in encodings_of(action)]
    async with refusing_writes(settings) as read_only, client_of(read_only) as c:
        for action in writing:
            body = body_of(request_of(action, account, prepared), enc)
            assert_unavailable(await c.post(path_of(action, enc), content=body), enc)
        # Reading still works: the 503s are the writes'.
        body = body_of(request_of("get-blacklist", account, prepared), enc)
        assert (await c.post(path_of("get-blacklist", enc), content=body)).status_code == 200

    assert await snapshot(runtime) == before
    logged = [r for r in caplog.records if r.name == "ileti.api" and r.levelno == logging.ERROR]
    assert len(logged) == len(writing)
    assert all(r.getMessage().startswith("database unavailable: ") for r in logged)

    # Writable again, the very same requests succeed.
    for action in writing:
        body = body_of(request_of(action, account, prepared), enc)
        r = await client.post(path_of(action, enc), content=body)
        assert r.status_code == 200, (action, r.content)


def _fails(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise RuntimeError("something nobody foresaw")


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize(
    ("action", "method"), [("add-blacklist", "add"), ("get-blacklist", "page")]
)
async def test_an_unexpected_error_gives_503_and_is_logged(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    method: str,
    enc: str,
) -> None:
    before = await snapshot(runtime)
    body = body_of(request_of(action, account), enc)
    caplog.set_level(logging.ERROR, logger="ileti.api")

    with monkeypatch.context() as patched:
        patched.setattr(runtime.blacklist, method, _fails)
        assert_unavailable(await client.post(path_of(action, enc), content=body), enc)

    (record,) = [r for r in caplog.records if r.name == "ileti.api"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"unexpected error on {path_of(action, enc)}"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "something nobody foresaw" in caplog.text  # with its traceback
    assert await snapshot(runtime) == before
    # The instance goes on serving.
    assert (await client.post(path_of(action, enc), content=body)).status_code == 200


async def test_a_database_error_never_shows_the_statements_values(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """What the database refused is reported without the values the statement carried
    (numbers, texts, URLs a tenant sent): neither in the error nor in the log."""
    caplog.set_level(logging.DEBUG, logger="ileti")
    await insert_account_row_raw(runtime, key="same-key", name="first")
    with pytest.raises(STORE_UNAVAILABLE) as refused:
        await insert_account_row_raw(runtime, key="same-key", name="TENANT-VALUE-4711")
    assert "IntegrityError" in str(refused.value)
    assert "TENANT-VALUE-4711" not in str(refused.value)
    assert "TENANT-VALUE-4711" not in caplog.text
