"""Nothing invisible, nothing leaked: what an operator reads in ileti's logs.

- every 401 names its cause and the key at info, never the hash, while the answer on
  the wire is the same bytes for every cause;
- every failed webhook attempt is a warning naming the account, the message, the URL
  without its password or query, the attempt out of the maximum, the error and what
  happens next; a delivery is a debug line;
- the access log of a real ``ileti serve`` shows the path but no hash, message text,
  number or admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.logs import safe_url, visible, visible_json
from ileti.services.accounts import Issued
from tests.support.processes import free_port
from tests.support.spec import json_body
from tests.support.stored import message_id_of

UNAUTHORIZED_JSON = json_body(401).decode()
PENDING_TO = "+905559990002"  # the documented always-pending number: one report only
PASSWORD = "s3cret-pw"
QUERY_SECRET = "q-secret-token"
START_TIMEOUT = 30.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_poll_seconds=0.05,
        webhook_timeout_seconds=0.5,
        webhook_attempts=3,
        webhook_backoff_seconds=0.2,
    )


async def eventually(check: Callable[[], Any], *, within: float = 15.0) -> Any:
    """``check()`` once it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not (result := check()):
        assert time.monotonic() < deadline, f"not reached within {within} s"
        await asyncio.sleep(0.05)
    return result


# -- 401: the cause in the log, one answer on the wire ---------------------------------------


async def add_blacklist(client: httpx.AsyncClient, authentication: Any) -> httpx.Response:
    request: dict[str, Any] = {"blacklist": {"number": "+905330000099"}}
    if authentication is not None:
        request["authentication"] = authentication
    return await client.post("/v1/add-blacklist/json", json={"request": request})


def auth_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "ileti.auth"]


async def test_each_401_cause_is_logged_with_the_key_and_never_the_hash(
    runtime: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ileti.auth")
    ok = await runtime.accounts.create("acme")
    off = await runtime.accounts.create("off", api_access=False)
    fenced = await runtime.accounts.create("fenced", allow_ips=("10.0.0.0/8",))
    key = ok.account.key
    cases: list[tuple[Any, str]] = [
        (None, "401 for key (none) from 127.0.0.1: missing key or hash"),
        ({"key": key}, f"401 for key {key} from 127.0.0.1: missing key or hash"),
        (
            {"key": "  ", "hash": ok.hash},
            "401 for key (empty) from 127.0.0.1: malformed key or hash",
        ),
        (
            {"key": "k" * 65, "hash": ok.hash},
            f"401 for key {'k' * 32}... (65 characters) from 127.0.0.1: malformed key or hash",
        ),
        ({"key": "0" * 32, "hash": ok.hash}, f"401 for key {'0' * 32} from 127.0.0.1: unknown key"),
        ({"key": key, "hash": "f" * 64}, f"401 for key {key} from 127.0.0.1: wrong hash"),
        (
            {"key": off.account.key, "hash": off.hash},
            f"401 for key {off.account.key} from 127.0.0.1: API access off",
        ),
        (
            {"key": fenced.account.key, "hash": fenced.hash},
            f"401 for key {fenced.account.key} from 127.0.0.1: address outside the allow-list",
        ),
    ]
    answers = set()
    for authentication, line in cases:
        caplog.clear()
        r = await add_blacklist(client, authentication)
        answers.add((r.status_code, r.headers["content-type"], r.content))
        assert auth_lines(caplog) == [("INFO", line)]  # once per request
        for hash_hex in (ok.hash, off.hash, fenced.hash, "f" * 64):
            assert hash_hex not in caplog.text
    assert answers == {(401, "application/json; charset=utf-8", UNAUTHORIZED_JSON.encode())}


async def test_an_unknown_key_is_cut_short_and_escaped(
    runtime: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ileti.auth")
    issued = await runtime.accounts.create("acme")
    # The secret pasted where the key goes: half of it at most reaches the log.
    await add_blacklist(client, {"key": issued.secret, "hash": issued.hash})
    # Control characters cannot start a forged line or recolour the terminal.
    forged = "x\x1b[2J\nINFO ileti.auth: ok\u202e\\"
    await add_blacklist(client, {"key": forged, "hash": issued.hash})
    cut = f"{issued.secret[:32]}... (64 characters)"
    escaped = r"x\x1b[2J\nINFO ileti.auth: ok\u202e\\"
    assert auth_lines(caplog) == [
        ("INFO", f"401 for key {cut} from 127.0.0.1: unknown key"),
        ("INFO", f"401 for key {escaped} from 127.0.0.1: unknown key"),
    ]
    assert issued.secret not in caplog.text and issued.hash not in caplog.text
    assert len(caplog.text.splitlines()) == 2


# -- webhooks: one warning per failed attempt ---------------------------------------------------


@contextlib.asynccontextmanager
async def answering(statuses: list[int]) -> AsyncIterator[int]:
    """An HTTP/1.1 endpoint on 127.0.0.1 answering each request with the next of
    ``statuses``, then 200; yields its port."""
    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            while await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                status = statuses.pop(0) if statuses else 200
                writer.write(f"HTTP/1.1 {status} -\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in list(writers):
            writer.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


def hook_url(port: int) -> str:
    return f"http://hook-user:{PASSWORD}@127.0.0.1:{port}/hook?token={QUERY_SECRET}#part"


async def send_one(runtime: Runtime, client: httpx.AsyncClient, url: str) -> tuple[Issued, int]:
    """An account posting reports to ``url`` sends one SMS (one "accepted" report):
    the account and the message id."""
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10, webhook_url=url)
    order = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": "Merhaba", "receipents": {"number": [PENDING_TO]}},
    }
    authentication = {"key": issued.account.key, "hash": issued.hash}
    r = await client.post(
        "/v1/send-sms/json", json={"request": {"authentication": authentication, "order": order}}
    )
    assert r.status_code == 200, r.text
    order_id = int(r.json()["response"]["order"]["id"])

    return issued, await message_id_of(runtime, order_id)


def capture_webhook_logs(caplog: pytest.LogCaptureFixture) -> None:
    # httpx at INFO too: its own request lines, if they were let through, would show.
    caplog.set_level(logging.INFO, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="ileti.webhooks")


def webhook_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "ileti.webhooks"]


def assert_next_attempt(line: str, prefix: str, seconds: str) -> None:
    """``line`` is ``prefix`` then ``; next attempt in <seconds> s, at <UTC time>``, a
    time within a minute of now."""
    match = re.fullmatch(
        re.escape(f"{prefix}; next attempt in {seconds} s, at ")
        + r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC",
        line,
    )
    assert match, line
    due = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((due - datetime.now(UTC)).total_seconds()) < 60


def assert_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    for secret in (PASSWORD, "hook-user", QUERY_SECRET, "#part"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:pw@hooks.example:8443/ileti/hook?token=t#f",
            "https://hooks.example:8443/ileti/hook",
        ),
        ("https://hooks.example/hook?email=a@b.example", "https://hooks.example/hook"),
        ("http://[::1]:8080/hook", "http://[::1]:8080/hook"),
        ("http://hooks.example/\x1b[2Jhook", "http://hooks.example/\\x1b[2Jhook"),
        # A password with an unescaped / or ? would pass for the port or the path.
        ("http://user:pa/ss@hooks.example/hook", "(a malformed URL)"),
        ("http://user:pa?ss@hooks.example/hook", "(a malformed URL)"),
        ("http://user:/pass@hooks.example/hook", "http://user:/..."),
    ],
)
def test_a_webhook_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert safe_url(url) == shown


async def test_a_receiver_answering_500_gives_a_warning_per_attempt(
    runtime: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    capture_webhook_logs(caplog)
    async with answering([500, 500]) as port:  # then 200: delivered on the third attempt
        issued, message_id = await send_one(runtime, client, hook_url(port))
        await eventually(lambda: len(webhook_lines(caplog)) >= 3)
        await asyncio.sleep(0.3)  # nothing more comes
    about = f"webhook for account {issued.account.id}, message {message_id}"
    url = f"http://127.0.0.1:{port}/hook"
    first, second, delivered = webhook_lines(caplog)
    assert first[0] == second[0] == "WARNING"
    assert_next_attempt(first[1], f"{about} to {url} failed (attempt 1 of 3): HTTP 500", "0.2")
    assert_next_attempt(second[1], f"{about} to {url} failed (attempt 2 of 3): HTTP 500", "0.4")
    assert delivered == ("DEBUG", f"{about} delivered to {url} (attempt 3 of 3)")
    assert_no_secret(caplog)


async def test_an_unreachable_url_gives_a_warning_per_attempt_then_gives_up(
    runtime: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    capture_webhook_logs(caplog)
    port = closed_port()
    issued, message_id = await send_one(runtime, client, hook_url(port))
    await eventually(lambda: any("given up" in m for _, m in webhook_lines(caplog)))
    await asyncio.sleep(0.5)  # longer than another backoff: no fourth attempt
    lines = webhook_lines(caplog)
    assert [level for level, _ in lines] == ["WARNING"] * 3
    failed = f"webhook for account {issued.account.id}, message {message_id} to "
    failed += f"http://127.0.0.1:{port}/hook failed"
    refused = r"ConnectError: [^;\n]+"
    for (_, line), attempt, seconds in zip(lines, (1, 2), ("0.2", "0.4"), strict=False):
        match = re.fullmatch(
            re.escape(f"{failed} (attempt {attempt} of 3): ") + f"({refused}); next attempt .*",
            line,
        )
        assert match, line
        assert_next_attempt(line, f"{failed} (attempt {attempt} of 3): {match[1]}", seconds)
    assert re.fullmatch(
        re.escape(f"{failed} (attempt 3 of 3): ") + refused + re.escape("; given up"), lines[2][1]
    ), lines[2][1]
    assert_no_secret(caplog)


# -- the access log of a real server --------------------------------------------------------------


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started here: SIGTERM, then SIGKILL to its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers of a killed master, if any
    proc.wait(timeout=15)


@contextlib.contextmanager
def serve(database_url: str, log: Path, env: dict[str, str], *, workers: int) -> Iterator[str]:
    """``ileti serve`` as a subprocess (its output in ``log``) until /healthz answers;
    yields its base URL; stopped in a ``finally``."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")} | env
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "ileti", "--database", database_url, "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,  # its own process group, so teardown reaches workers
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"ileti serve exited early:\n{log.read_text()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"no /healthz in time:\n{log.read_text()}"
            time.sleep(0.05)
        yield url
    finally:
        stop(proc)


def create_account(database_url: str) -> dict[str, str]:
    from ileti.cli.main import cli

    result = CliRunner().invoke(
        cli,
        [
            *("--database", database_url, "account", "create", "acme"),
            *("--sender", "ILETI", "--balance", "10", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {"key": data["key"], "hash": data["hash"]}


def test_the_access_log_shows_paths_but_no_hash_text_number_or_token(
    sqlite_url: str, tmp_path: Path
) -> None:
    creds = create_account(sqlite_url)
    key, hash_hex = creds["key"], creds["hash"]
    token = "admin-token-" + "t" * 20
    env = {"ILETI_ACCESS_LOG": "on", "ILETI_LOG_LEVEL": "info", "ILETI_ADMIN_TOKEN": token}
    log = tmp_path / "serve.log"
    with serve(sqlite_url, log, env, workers=2) as url, httpx.Client(base_url=url) as client:
        sent = (
            f"/v1/send-sms/get/?key={key}&hash={hash_hex}&text=Gizli%20mesaj%20A1B2"
            "&receipents=05330000099,05330000098&sender=ILETI&iys=0"
        )
        r = client.get(sent)
        assert r.status_code == 200, r.text
        # The name percent-encoded, the server reads it as ``hash`` all the same.
        r = client.get(f"/v1/send-sms/get/?key=nosuchkey&h%61sh={hash_hex}&Text=Gizli")
        assert r.status_code == 401
        r = client.get(f"/outbox?key={key}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        messages = r.json()["messages"]
        assert sorted(m["recipient"] for m in messages) == ["+905330000098", "+905330000099"]
        assert {m["text"] for m in messages} == {"Gizli mesaj A1B2"}  # the send went through
    output = log.read_text()
    assert (
        f'"GET /v1/send-sms/get/?key={key}&hash=***&text=***&receipents=***&sender=ILETI&iys=0'
        ' HTTP/1.1" 200' in output
    ), output
    assert '"GET /v1/send-sms/get/?key=nosuchkey&h%61sh=***&Text=*** HTTP/1.1" 401' in output
    # The cause of the 401, from a worker process.
    assert "INFO ileti.auth: 401 for key nosuchkey from 127.0.0.1: unknown key" in output
    # The admin token travels in a header, which the access log does not show.
    assert f'"GET /outbox?key={key} HTTP/1.1" 200' in output
    for secret in (hash_hex, token, "Gizli", "A1B2", "5330000099", "5330000098"):
        assert secret not in output, secret


# -- what the CLI prints: visible escapes ----------------------------------------------------

#: Any character at all, lone surrogates included (bytes that were not UTF-8).
EVERY_CHARACTER = st.characters(blacklist_categories=())


@given(st.text(EVERY_CHARACTER, max_size=30))
def test_visible_text_holds_nothing_a_terminal_acts_on(text: str) -> None:
    shown = visible(text)
    assert shown.isprintable()
    assert shown == text or "\\" in shown
    assert visible(text, backslashes=False).isprintable()


@given(st.text(EVERY_CHARACTER, max_size=30))
def test_visible_json_decodes_to_the_very_value(text: str) -> None:
    value = {"text": text, "list": [text, 1, None]}
    for indent in (None, 2):
        out = visible_json(value, indent)
        assert json.loads(out) == value
        assert out.replace("\n", "").isprintable()
