"""The ``ileti`` command through click's runner, on SQLite and PostgreSQL.

What is checked is what a user sees (exit code, the lines printed, one-line errors
without a traceback) and what the API then does with it: credentials printed by the
CLI authenticate over v1, numbers listed by the CLI show up in get-blacklist, changes
made by the CLI reach a running instance.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from click.testing import Result

import ileti as ileti_package
from ileti.api.app import App
from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.blacklist import IMPORT_CHUNK
from tests.support.cli import aileti, create, credentials, failed, ileti, invoke, ok
from tests.support.http import call
from tests.support.processes import terminate
from tests.support.runtime import client_of, started
from tests.support.spec import MESSAGES, OK, status
from tests.support.stored import head_revision, inserts_fail, revision
from tests.support.waiting import eventually

UNAUTHORIZED = status(401)
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
#: A change made by the CLI reaches every running instance within this (issue 3).
PROPAGATION_SECONDS = 1.0


def show(url: str, key: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(ileti(url, "account", "show", key, "--json")).stdout)
    return data


def listed(url: str, key: str) -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads(
        ok(ileti(url, "blacklist", "list", key, "--json")).stdout
    )
    return data


def hmac_hex(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


async def get_blacklist(client: httpx.AsyncClient, creds: dict[str, str]) -> tuple[int, Any]:
    status, body = await call(client, "get-blacklist", {"authentication": creds})
    return status, body


async def add(client: httpx.AsyncClient, creds: dict[str, str], number: str) -> dict[str, Any]:
    status, body = await call(
        client, "add-blacklist", {"authentication": creds, "blacklist": {"number": number}}
    )
    assert status == body["status"]["code"]
    return body["status"]  # type: ignore[no-any-return]


async def propagated(check: Callable[[], Any]) -> None:
    """``check()`` (async, returning truthy) holds within the propagation bound."""
    await eventually(check, within=PROPAGATION_SECONDS, interval=0.02)


async def authenticates(client: httpx.AsyncClient, creds: dict[str, str]) -> bool:
    status, body = await get_blacklist(client, creds)
    assert (status == 200 and body["status"] == OK) or (
        status == 401 and body == {"status": UNAUTHORIZED}
    ), (status, body)
    return status == 200


# -- account -----------------------------------------------------------------------------


async def test_account_create_json_authenticates(
    database_url: str, client: httpx.AsyncClient
) -> None:
    data = json.loads(
        ok(
            await aileti(
                database_url,
                "account",
                "create",
                "Acme Ltd",
                "--sender",
                "ACME",
                "--sender",
                "ILETI",
                "--balance",
                "250",
                "--json",
            )
        ).stdout
    )
    assert {"id", "name", "key", "secret", "hash"} <= set(data)
    assert isinstance(data["id"], int)
    assert data["name"] == "Acme Ltd"
    assert re.fullmatch(r"[0-9a-f]{32}", data["key"])
    assert data["hash"] == hmac_hex(data["secret"], data["key"])
    assert data["senders"] == ["ACME", "ILETI"]
    assert data["balance"] == 250
    assert data["api_access"] is True
    assert data["allow_ips"] == []

    # The printed hash authenticates (in either case), and the number it adds is listed.
    assert await add(client, credentials(data), "0533 000 00 99") == OK
    upper = {"key": data["key"], "hash": data["hash"].upper()}
    status, body = await get_blacklist(client, upper)
    assert (status, body["blacklist"]) == (200, {"count": 1, "number": ["+905330000099"]})
    # ...and a hash made with any other secret does not.
    wrong = {"key": data["key"], "hash": hmac_hex("not-the-secret", data["key"])}
    assert await get_blacklist(client, wrong) == (401, {"status": UNAUTHORIZED})

    shown = json.loads(
        ok(await aileti(database_url, "account", "show", data["key"], "--json")).stdout
    )
    assert shown["blacklist_count"] == 1
    assert "secret" not in shown and "hash" not in shown


def test_account_create_text_output(database_url: str) -> None:
    result = ok(ileti(database_url, "account", "create", "acme"))
    fields = dict(re.findall(r"^  (\w+):\s+(\S+)$", result.stdout, re.M))
    assert set(fields) == {"id", "name", "key", "secret", "hash"}
    assert fields["hash"] == hmac_hex(fields["secret"], fields["key"])
    assert "shown only now" in result.stdout
    assert show(database_url, fields["key"])["id"] == int(fields["id"])


async def test_account_create_without_api_access(
    database_url: str, client: httpx.AsyncClient
) -> None:
    data = json.loads(
        ok(
            await aileti(database_url, "account", "create", "off", "--no-api-access", "--json")
        ).stdout
    )
    assert data["api_access"] is False
    assert await get_blacklist(client, credentials(data)) == (401, {"status": UNAUTHORIZED})


async def test_account_create_allow_ip(database_url: str, client: httpx.AsyncClient) -> None:
    # The in-process client connects from 127.0.0.1.
    inside = json.loads(
        ok(
            await aileti(
                database_url,
                "account",
                "create",
                "inside",
                "--allow-ip",
                "10.0.0.0/8",
                "--allow-ip",
                "127.0.0.1",
                "--json",
            )
        ).stdout
    )
    outside = json.loads(
        ok(
            await aileti(
                database_url, "account", "create", "outside", "--allow-ip", "10.0.0.0/8", "--json"
            )
        ).stdout
    )
    assert inside["allow_ips"] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert await authenticates(client, credentials(inside))
    assert not await authenticates(client, credentials(outside))


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "300.1.2.3", "nope", ""])
def test_account_create_bad_cidr(database_url: str, cidr: str) -> None:
    failed(
        ileti(database_url, "account", "create", "acme", "--allow-ip", cidr, "--json"),
        f"not an IP address or CIDR: {cidr!r}",
    )
    assert json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout) == []


def test_account_create_bad_input(database_url: str) -> None:
    failed(ileti(database_url, "account", "create", "   "), "name")
    failed(ileti(database_url, "account", "create", "acme", "--sender", "ŞİRKET"), "sender")
    failed(ileti(database_url, "account", "create", "acme", "--sender", "TWELVECHARSX"), "sender")
    assert json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout) == []
    # A negative balance is a usage error (click's own message), one line too.
    failed(
        ileti(database_url, "account", "create", "acme", "--balance", "-1"),
        "Invalid value for '--balance': -1 is not in the range x>=0. "
        "Try 'ileti account create --help' for help.",
        2,
    )


def test_account_list_and_show(database_url: str) -> None:
    assert json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout) == []
    assert "No accounts" in ok(ileti(database_url, "account", "list")).stdout

    one = create(database_url, "one", "--sender", "ONE")
    two = create(database_url, "two", "--no-api-access")
    ok(ileti(database_url, "blacklist", "add", two["key"], "05330000099"))

    rows = json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout)
    assert [(r["id"], r["name"], r["key"]) for r in rows] == [
        (one["id"], "one", one["key"]),
        (two["id"], "two", two["key"]),
    ]
    assert [r["api_access"] for r in rows] == [True, False]
    assert [r["blacklist_count"] for r in rows] == [0, 1]
    for row in rows:
        assert "secret" not in row and "hash" not in row

    text = ok(ileti(database_url, "account", "list")).stdout.splitlines()
    assert text[0].split() == ["ID", "KEY", "API", "BLACKLIST", "NAME"]
    assert text[1].split() == [str(one["id"]), one["key"], "on", "0", "one"]
    assert text[2].split() == [str(two["id"]), two["key"], "off", "1", "two"]
    assert one["secret"] not in "\n".join(text)

    shown = show(database_url, one["key"])
    assert shown["senders"] == ["ONE"]
    assert shown["key"] == one["key"] and shown["name"] == "one"
    assert DATE.match(shown["created_at"]) and DATE.match(shown["updated_at"])
    lines = ok(ileti(database_url, "account", "show", two["key"])).stdout.splitlines()
    table = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert table["key"] == two["key"]
    assert table["api_access"] == "False"
    assert table["blacklist_count"] == "1"
    assert table["allow_ips"] == "-"


def test_unknown_key(database_url: str) -> None:
    create(database_url, "acme")
    unknown = "0" * 32
    message = f"no account with key {unknown!r}"
    failed(ileti(database_url, "account", "show", unknown), message, 1)
    failed(ileti(database_url, "account", "update", unknown, "--api-access", "off"), message, 1)
    failed(ileti(database_url, "account", "update", unknown, "--rotate"), message, 1)
    failed(ileti(database_url, "blacklist", "add", unknown, "05330000099"), message, 1)
    failed(ileti(database_url, "blacklist", "remove", unknown, "05330000099"), message, 1)
    failed(ileti(database_url, "blacklist", "list", unknown), message, 1)
    failed(ileti(database_url, "blacklist", "export", unknown), message, 1)


def test_import_unknown_key(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "numbers.txt"
    path.write_text("05330000099\n")
    unknown = "f" * 32
    failed(
        ileti(database_url, "blacklist", "import", unknown, str(path)),
        f"no account with key {unknown!r}",
        1,
    )


async def test_account_update_api_access(database_url: str, client: httpx.AsyncClient) -> None:
    data = create(database_url, "acme")
    creds = credentials(data)
    assert await authenticates(client, creds)  # now cached by the running instance

    changed = json.loads(
        ok(
            await aileti(
                database_url, "account", "update", data["key"], "--api-access", "off", "--json"
            )
        ).stdout
    )
    assert changed["api_access"] is False
    assert show(database_url, data["key"])["api_access"] is False
    await propagated(lambda: _not(authenticates(client, creds)))

    ok(await aileti(database_url, "account", "update", data["key"], "--api-access", "on"))
    await propagated(lambda: authenticates(client, creds))


async def _not(check: Any) -> bool:
    return not await check


async def test_account_update_allow_ip(database_url: str, client: httpx.AsyncClient) -> None:
    data = create(database_url, "acme")
    creds = credentials(data)
    assert await authenticates(client, creds)

    changed = json.loads(
        ok(
            await aileti(
                database_url,
                "account",
                "update",
                data["key"],
                "--allow-ip",
                "192.0.2.0/24",
                "--json",
            )
        ).stdout
    )
    assert changed["allow_ips"] == ["192.0.2.0/24"]
    await propagated(lambda: _not(authenticates(client, creds)))

    # --allow-ip adds to the list.
    changed = json.loads(
        ok(
            await aileti(
                database_url,
                "account",
                "update",
                data["key"],
                "--allow-ip",
                "127.0.0.0/8",
                "--json",
            )
        ).stdout
    )
    assert changed["allow_ips"] == ["192.0.2.0/24", "127.0.0.0/8"]
    await propagated(lambda: authenticates(client, creds))

    # --clear-allow-ip with a new one replaces the list.
    changed = json.loads(
        ok(
            await aileti(
                database_url,
                "account",
                "update",
                data["key"],
                "--clear-allow-ip",
                "--allow-ip",
                "198.51.100.7",
                "--json",
            )
        ).stdout
    )
    assert changed["allow_ips"] == ["198.51.100.7/32"]
    await propagated(lambda: _not(authenticates(client, creds)))

    # --clear-allow-ip alone empties it: every address again.
    changed = json.loads(
        ok(
            await aileti(
                database_url, "account", "update", data["key"], "--clear-allow-ip", "--json"
            )
        ).stdout
    )
    assert changed["allow_ips"] == []
    await propagated(lambda: authenticates(client, creds))


def test_account_update_bad_cidr_changes_nothing(database_url: str) -> None:
    data = create(database_url, "acme", "--allow-ip", "10.0.0.0/8")
    before = show(database_url, data["key"])
    failed(
        ileti(
            database_url,
            "account",
            "update",
            data["key"],
            "--clear-allow-ip",
            "--allow-ip",
            "10.0.0.1/99",
        ),
        "not an IP address or CIDR: '10.0.0.1/99'",
    )
    assert show(database_url, data["key"]) == before
    # A bad --api-access value is click's usage error: no change either.
    failed(
        ileti(database_url, "account", "update", data["key"], "--api-access", "maybe"),
        "Invalid value for '--api-access': 'maybe' is not one of 'on', 'off'.",
        2,
    )
    assert show(database_url, data["key"]) == before


async def test_account_rotate(
    database_url: str, settings: Settings, client: httpx.AsyncClient
) -> None:
    data = create(database_url, "acme")
    old = credentials(data)
    assert await authenticates(client, old)

    rotated = json.loads(
        ok(
            await aileti(database_url, "account", "update", data["key"], "--rotate", "--json")
        ).stdout
    )
    assert rotated["key"] == data["key"] and rotated["id"] == data["id"]
    assert rotated["secret"] != data["secret"] and rotated["hash"] != data["hash"]
    assert rotated["hash"] == hmac_hex(rotated["secret"], data["key"])
    new = credentials(rotated)

    # An instance that starts now refuses the old hash at once.
    async with started(settings) as fresh, client_of(fresh, port=40001) as other:
        assert await get_blacklist(other, old) == (401, {"status": UNAUTHORIZED})
        assert await authenticates(other, new)
    # The one that had the old credential cached drops it (within 1 s).
    await propagated(lambda: _not(authenticates(client, old)))
    assert await authenticates(client, new)

    # The text form prints the new secret and hash too; the previous hash stops working.
    result = ok(await aileti(database_url, "account", "update", data["key"], "--rotate"))
    assert "old hash no longer works" in result.stdout
    fields = dict(re.findall(r"^  (\w+):\s+(\S+)$", result.stdout, re.M))
    assert fields["key"] == data["key"]
    assert fields["hash"] == hmac_hex(fields["secret"], data["key"])
    await propagated(lambda: _not(authenticates(client, new)))
    assert await authenticates(client, {"key": data["key"], "hash": fields["hash"]})
    assert not await authenticates(client, old)


# -- blacklist add / remove / list -----------------------------------------------------------


async def test_blacklist_add_remove_list(database_url: str, client: httpx.AsyncClient) -> None:
    data = create(database_url, "acme")
    other = create(database_url, "other")
    key = data["key"]

    result = ok(await aileti(database_url, "blacklist", "add", key, "+90 (533) 000 00 99"))
    assert result.stdout == "+905330000099 is blacklisted.\n"
    ok(await aileti(database_url, "blacklist", "add", key, "5330000098"))
    first = listed(database_url, key)
    # Idempotent: a second add keeps the first blocked-at time.
    ok(await aileti(database_url, "blacklist", "add", key, "05330000099"))
    assert listed(database_url, key) == first
    assert [e["number"] for e in first] == ["+905330000099", "+905330000098"]
    assert {e["source"] for e in first} == {"cli"}
    assert all(DATE.match(e["blocked_at"]) for e in first)

    text = ok(await aileti(database_url, "blacklist", "list", key)).stdout.splitlines()
    assert [line.split("  ") for line in text] == [
        [e["number"], e["blocked_at"], "cli"] for e in first
    ]

    # The API sees the CLI's entries; the other account sees none of them.
    status, body = await get_blacklist(client, credentials(data))
    assert (status, body["blacklist"]["count"]) == (200, 2)
    assert sorted(body["blacklist"]["number"]) == ["+905330000098", "+905330000099"]
    status, body = await get_blacklist(client, credentials(other))
    assert (status, body["blacklist"]) == (200, {"count": 0, "number": []})
    assert listed(database_url, other["key"]) == []

    result = ok(await aileti(database_url, "blacklist", "remove", key, "0533 000 00 99"))
    assert result.stdout == "+905330000099 is no longer blacklisted.\n"
    assert [e["number"] for e in listed(database_url, key)] == ["+905330000098"]
    status, body = await get_blacklist(client, credentials(data))
    assert body["blacklist"] == {"count": 1, "number": ["+905330000098"]}
    assert show(database_url, key)["blacklist_count"] == 1


@pytest.mark.parametrize("number", ["+905999000000", "+4915112345678", "abc", "٥٣٣٠٠٠٠٠٩٩"])
def test_blacklist_add_invalid_number(database_url: str, number: str) -> None:
    key = create(database_url, "acme")["key"]
    failed(ileti(database_url, "blacklist", "add", key, number), f"466 {MESSAGES[466]}", 1)
    failed(ileti(database_url, "blacklist", "remove", key, number), f"466 {MESSAGES[466]}", 1)
    assert listed(database_url, key) == []
    assert show(database_url, key)["blacklist_count"] == 0


def test_blacklist_remove_not_listed(database_url: str) -> None:
    key = create(database_url, "acme")["key"]
    other = create(database_url, "other")["key"]
    ok(ileti(database_url, "blacklist", "add", other, "05330000099"))
    failed(
        ileti(database_url, "blacklist", "remove", key, "05330000099"),
        f"474 {MESSAGES[474]}",
        1,
    )
    # The other account's entry is untouched.
    assert [e["number"] for e in listed(database_url, other)] == ["+905330000099"]


# -- import / export -------------------------------------------------------------------------


def summary(path: Path, added: int, already: int, repeated: int, invalid: int) -> str:
    return (
        f"Imported {path}: {added} added, {already} already listed, "
        f"{repeated} repeated in the file, {invalid} invalid."
    )


async def test_import_plain_lines(
    database_url: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = create(database_url, "acme")
    key = data["key"]
    ok(await aileti(database_url, "blacklist", "add", key, "5330000003"))
    path = tmp_path / "numbers.txt"
    path.write_text(
        "05330000001\n"  # 1 added
        "+90 533 000 00 02\n"  # 2 added
        "0533-000-00-01\n"  # 3 repeated in the file
        "garbage\n"  # 4 invalid
        "\n"  # 5 empty: skipped
        "05999000000\n"  # 6 invalid
        "5330000003\n"  # 7 already listed (by the CLI)
        "  +4915112345678  \n"  # 8 invalid
    )
    result = ok(await aileti(database_url, "blacklist", "import", key, str(path)))
    assert result.stdout.splitlines() == [
        summary(path, 2, 1, 1, 3),
        "  line 4: invalid number 'garbage'",
        "  line 6: invalid number '05999000000'",
        "  line 8: invalid number '+4915112345678'",
    ]
    entries = listed(database_url, key)
    assert [(e["number"], e["source"]) for e in entries] == [
        ("+905330000003", "cli"),
        ("+905330000001", "import"),
        ("+905330000002", "import"),
    ]
    assert entries[1]["blocked_at"] == entries[2]["blocked_at"]  # one import, one moment
    status, body = await get_blacklist(client, credentials(data))
    assert (status, body["blacklist"]["count"]) == (200, 3)

    # Importing the same file again: everything valid is already listed.
    again = ok(await aileti(database_url, "blacklist", "import", key, str(path)))
    assert again.stdout.splitlines()[0] == summary(path, 0, 3, 1, 3)
    assert listed(database_url, key) == entries
    assert show(database_url, key)["blacklist_count"] == 3


def test_import_csv_with_header(database_url: str, tmp_path: Path) -> None:
    key = create(database_url, "acme")["key"]
    path = tmp_path / "numbers.csv"
    path.write_text(
        "number,name\n"
        "05330000011,Ali\n"
        '"+90 533 000 00 12","Veli, Jr."\n'
        "x,bad\n"
        "05330000011;dup\n"
        "5330000013\n",
        encoding="utf-8-sig",  # with a BOM, as spreadsheets write it
    )
    result = ok(ileti(database_url, "blacklist", "import", key, str(path)))
    assert result.stdout.splitlines() == [
        summary(path, 3, 0, 1, 1),
        "  line 4: invalid number 'x'",
    ]
    assert [e["number"] for e in listed(database_url, key)] == [
        "+905330000011",
        "+905330000012",
        "+905330000013",
    ]


def test_import_not_utf8(database_url: str, tmp_path: Path) -> None:
    key = create(database_url, "acme")["key"]
    path = tmp_path / "numbers.txt"
    path.write_bytes(b"05330000011\n\xff\xfe\xfa\n")
    failed(ileti(database_url, "blacklist", "import", key, str(path)), "not UTF-8")
    assert listed(database_url, key) == []


def big_file(tmp_path: Path) -> tuple[Path, int, int]:
    """A file of three chunks of numbers: (path, how many, the last one as stored)."""
    count = IMPORT_CHUNK * 2 + 1000
    path = tmp_path / "big.txt"
    path.write_text("".join(f"0{5330100000 + i}\n" for i in range(count)))
    return path, count, 905330100000 + count - 1


def test_import_is_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    data = create(database_url, "acme")
    key = data["key"]
    ok(ileti(database_url, "blacklist", "add", key, "05330000099"))
    before = listed(database_url, key)
    path, count, last = big_file(tmp_path)

    # The database refuses the file's last number: a real failure inside the import's
    # transaction, after two whole chunks went in.
    with inserts_fail(database_url, last):
        result = ileti(database_url, "blacklist", "import", key, str(path))
    assert result.exit_code != 0, result.output
    assert listed(database_url, key) == before  # nothing of the first chunks remains
    assert show(database_url, key)["blacklist_count"] == 1

    # Unbroken, the same file goes in whole.
    result = ok(ileti(database_url, "blacklist", "import", key, str(path)))
    assert result.stdout.splitlines() == [summary(path, count, 0, 0, 0)]
    assert show(database_url, key)["blacklist_count"] == count + 1
    assert len(listed(database_url, key)) == count + 1


def test_import_failing_in_the_database_is_one_line(database_url: str, tmp_path: Path) -> None:
    key = create(database_url, "acme")["key"]
    path, _, last = big_file(tmp_path)
    with inserts_fail(database_url, last):
        result = ileti(database_url, "blacklist", "import", key, str(path))
    failed(result, "Error: database:", 1)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_export(database_url: str, client: httpx.AsyncClient, tmp_path: Path) -> None:
    data = create(database_url, "acme")
    key = data["key"]
    ok(await aileti(database_url, "blacklist", "add", key, "05330000003"))
    path = tmp_path / "in.txt"
    path.write_text("05330000002\n05330000001\n")
    ok(await aileti(database_url, "blacklist", "import", key, str(path)))
    assert await add(client, credentials(data), "05330000000") == OK

    result = ok(await aileti(database_url, "blacklist", "export", key))
    rows = _rows(result.stdout)
    assert rows[0] == ["number", "blocked_at", "source"]
    # Order: blocked-at time, then number.
    assert [(r[0], r[2]) for r in rows[1:]] == [
        ("+905330000003", "cli"),
        ("+905330000001", "import"),
        ("+905330000002", "import"),
        ("+905330000000", "api"),
    ]
    assert all(DATE.match(r[1]) for r in rows[1:])
    assert [r[1] for r in rows[1:]] == sorted(r[1] for r in rows[1:])
    assert [[e["number"], e["blocked_at"], e["source"]] for e in listed(database_url, key)] == (
        rows[1:]
    )

    out = tmp_path / "sub" / "export.csv"
    out.parent.mkdir()
    result = ok(await aileti(database_url, "blacklist", "export", key, "--output", str(out)))
    assert result.stdout == ""
    assert result.stderr == f"Exported 4 numbers to {out}\n"
    assert _rows(out.read_text()) == rows
    assert [p.name for p in out.parent.iterdir()] == ["export.csv"]  # no temporary left

    # The export is re-importable: into the same account (all already listed) and
    # into another (all added).
    again = ok(await aileti(database_url, "blacklist", "import", key, str(out)))
    assert again.stdout.splitlines() == [summary(out, 0, 4, 0, 0)]
    other = create(database_url, "other")
    moved = ok(await aileti(database_url, "blacklist", "import", other["key"], str(out)))
    assert moved.stdout.splitlines() == [summary(out, 4, 0, 0, 0)]
    status, body = await get_blacklist(client, credentials(other))
    assert (status, body["blacklist"]["count"]) == (200, 4)

    # An empty blacklist exports the header only.
    empty = create(database_url, "empty")
    assert ok(await aileti(database_url, "blacklist", "export", empty["key"])).stdout == (
        "number,blocked_at,source\n"
    )


# -- migrate, demo, database selection -------------------------------------------------------


def test_migrate(empty_database_url: str) -> None:
    url = empty_database_url
    assert revision(url) is None
    result = ok(invoke(["migrate", "--database", url]))
    head = head_revision()
    assert result.stdout == f"Database at revision {head} (head {head}).\n"
    assert revision(url) == head
    # Again: nothing to do, same answer; the schema works.
    assert ok(ileti(url, "migrate")).stdout == result.stdout
    assert json.loads(ok(ileti(url, "account", "list", "--json")).stdout) == []


async def test_demo(database_url: str, client: httpx.AsyncClient, tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    args = ("demo", "--file", str(path), "--url", "http://127.0.0.1:18080")
    first = ok(await aileti(database_url, *args))
    assert f"Demo account created (credentials in {path}):" in first.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["hash"] == hmac_hex(saved["secret"], saved["key"])
    assert f"  key:  {saved['key']}\n" in first.stdout
    assert f"  hash: {saved['hash']}\n" in first.stdout

    # The curl line works as printed.
    curl = next(line for line in first.stdout.splitlines() if line.strip().startswith("curl"))
    argv = shlex.split(curl)
    assert argv[:3] == ["curl", "-s", "http://127.0.0.1:18080/v1/add-blacklist/json"]
    assert argv[3] == "-d"
    response = await client.post("/v1/add-blacklist/json", content=argv[4].encode())
    assert (response.status_code, response.json()) == (200, {"response": {"status": OK}})
    _, body = await get_blacklist(client, credentials(saved))
    assert body["blacklist"] == {"count": 1, "number": ["+905330000099"]}

    # A second start reuses the account and the file.
    second = ok(await aileti(database_url, *args))
    assert "Demo account ready" in second.stdout
    assert f"  key:  {saved['key']}\n" in second.stdout
    assert f"  hash: {saved['hash']}\n" in second.stdout
    assert json.loads(path.read_text()) == saved
    rows = json.loads(ok(await aileti(database_url, "account", "list", "--json")).stdout)
    assert [r["key"] for r in rows] == [saved["key"]]


def test_demo_recreated_for_another_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    first_db, second_db = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    ok(ileti(first_db, "demo", "--file", str(path)))
    first = json.loads(path.read_text())
    result = ok(ileti(second_db, "demo", "--file", str(path)))
    assert "Demo account created" in result.stdout
    second = json.loads(path.read_text())
    assert second["key"] != first["key"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keys = [r["key"] for r in json.loads(ok(ileti(second_db, "account", "list", "--json")).stdout)]
    assert keys == [second["key"]]


def test_database_option_placement(database_url: str, tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path}/elsewhere.db"
    # Before the subcommand.
    made = json.loads(
        ok(invoke(["--database", database_url, "account", "create", "a", "--json"])).stdout
    )
    # On the leaf command.
    rows = json.loads(ok(invoke(["account", "list", "--json", "--database", database_url])).stdout)
    assert [r["key"] for r in rows] == [made["key"]]
    # The leaf's wins over the group's.
    rows = json.loads(
        ok(
            invoke(
                ["--database", elsewhere, "account", "list", "--database", database_url, "--json"]
            )
        ).stdout
    )
    assert [r["key"] for r in rows] == [made["key"]]
    # ILETI_DATABASE_URL is honoured, and --database overrides it.
    rows = json.loads(
        ok(invoke(["account", "list", "--json"], env={"ILETI_DATABASE_URL": database_url})).stdout
    )
    assert [r["key"] for r in rows] == [made["key"]]
    rows = json.loads(
        ok(
            invoke(
                ["account", "list", "--json", "--database", elsewhere],
                env={"ILETI_DATABASE_URL": database_url},
            )
        ).stdout
    )
    assert rows == []
    ok(
        invoke(
            ["blacklist", "add", made["key"], "05330000099"],
            env={"ILETI_DATABASE_URL": database_url},
        )
    )
    assert [e["number"] for e in listed(database_url, made["key"])] == ["+905330000099"]


def test_default_database_is_ileti_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = json.loads(ok(invoke(["account", "create", "a", "--json"])).stdout)
    assert (tmp_path / "ileti.db").exists()
    rows = json.loads(
        ok(ileti(f"sqlite:///{tmp_path}/ileti.db", "account", "list", "--json")).stdout
    )
    assert [r["key"] for r in rows] == [made["key"]]


# -- errors: one line, exit 1 (refused, not found, failed) or 2 (bad arguments, settings) --


MAX_BALANCE = 2**63 - 1
BALANCE_RANGE = f"balance: a whole number of credits from 0 to {MAX_BALANCE}"
RATE_RANGE = "rate limit: a whole number of recipients per second from 1 to 1000000"


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--balance", str(2**63)], BALANCE_RANGE, 2),
        (["--balance", str(10**30)], BALANCE_RANGE, 2),
        (["--add-balance", str(MAX_BALANCE)], f"the balance would go over {MAX_BALANCE}", 1),
        (["--add-balance", str(2**64), "--api-access", "off"], "would go over", 1),
        (["--add-balance", str(-(2**64))], "the balance would go below zero", 1),
        (["--rate-limit", str(2**31)], RATE_RANGE, 2),
        (["--rate-limit", str(2**63)], RATE_RANGE, 2),
        (["--unit-price", "1e300"], "not an amount of TRY", 2),
        (["--unit-price", "1000000.0000001"], "not an amount of TRY", 2),
    ],
)
def test_numbers_past_what_is_stored_are_one_line_errors_naming_the_field(
    database_url: str, args: list[str], message: str, code: int
) -> None:
    """Never a float (SQLite) nor a database error (PostgreSQL): one line naming the
    field, a non-zero exit, the account unchanged."""
    key = create(database_url, "acme", "--balance", "10")["key"]
    before = show(database_url, key)
    failed(ileti(database_url, "account", "update", key, *args), message, code)
    assert show(database_url, key) == before


def test_the_largest_balance_is_stored_exactly(database_url: str) -> None:
    key = create(database_url, "acme", "--balance", str(MAX_BALANCE))["key"]
    assert show(database_url, key)["balance"] == MAX_BALANCE
    failed(
        ileti(database_url, "account", "create", "big", "--balance", str(2**63)), BALANCE_RANGE, 2
    )
    listed = json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout)
    assert [a["name"] for a in listed] == ["acme"]
    ok(ileti(database_url, "account", "update", key, "--add-balance", str(-MAX_BALANCE)))
    ok(ileti(database_url, "account", "update", key, "--add-balance", str(MAX_BALANCE)))
    assert show(database_url, key)["balance"] == MAX_BALANCE


@pytest.mark.parametrize("too_big", [2**31, 2**63])
def test_ids_past_what_is_stored_are_one_line_errors(database_url: str, too_big: int) -> None:
    key = create(database_url, "acme")["key"]
    failed(ileti(database_url, "fault", "remove", str(too_big)), f"no fault rule {too_big}", 1)
    if too_big > 2**31:
        failed(
            ileti(database_url, "advance", key, "--order", str(too_big)),
            "--order: no order with this id",
        )


def test_an_argument_that_is_not_utf8_is_one_line_and_stores_nothing(database_url: str) -> None:
    """Bytes that are not UTF-8 on the command line (Python holds them as lone
    surrogates, which no database stores): exit 2, one line, not a traceback."""
    failed(
        ileti(database_url, "account", "create", "ac\udcffme"),
        "argument 5 is not UTF-8: ac\ufffdme",
        2,
    )
    failed(
        ileti(database_url, "account", "create", "acme", "--brand-code", "\udcff\x1b"), "\\x1b", 2
    )
    assert json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout) == []


def test_add_balance_below_zero_is_refused(database_url: str) -> None:
    key = create(database_url, "acme", "--balance", "10")["key"]
    failed(
        ileti(
            database_url, "account", "update", key, "--add-balance", "-11", "--api-access", "off"
        ),
        "the balance would go below zero: 10 credits, --add-balance -11",
        1,
    )
    # Refused as a whole: the other change of the same command was not made either.
    assert (show(database_url, key)["balance"], show(database_url, key)["api_access"]) == (10, True)
    # With --balance, the new balance is what is taken from.
    failed(
        ileti(database_url, "account", "update", key, "--balance", "3", "--add-balance", "-4"),
        "the balance would go below zero: 3 credits, --add-balance -4",
        1,
    )
    assert show(database_url, key)["balance"] == 10
    taken = ok(ileti(database_url, "account", "update", key, "--add-balance", "-10", "--json"))
    assert json.loads(taken.stdout)["balance"] == 0


def test_import_file_errors(database_url: str, tmp_path: Path) -> None:
    key = create(database_url, "acme")["key"]
    missing = tmp_path / "missing.txt"
    failed(
        ileti(database_url, "blacklist", "import", key, str(missing)),
        f"cannot read {missing}: No such file or directory",
        1,
    )
    failed(
        ileti(database_url, "blacklist", "import", key, str(tmp_path)),
        f"cannot read {tmp_path}: Is a directory",
        1,
    )
    assert listed(database_url, key) == []


def test_export_file_errors(database_url: str, tmp_path: Path) -> None:
    key = create(database_url, "acme")["key"]
    ok(ileti(database_url, "blacklist", "add", key, "05330000099"))
    # A directory that does not exist is not created (a typo must not go unnoticed).
    out = tmp_path / "no" / "such" / "export.csv"
    failed(
        ileti(database_url, "blacklist", "export", key, "--output", str(out)),
        f"cannot write {out}: No such file or directory",
        1,
    )
    assert not (tmp_path / "no").exists()
    # A file where a directory is expected.
    (tmp_path / "file").write_text("x")
    inside_file = tmp_path / "file" / "export.csv"
    failed(
        ileti(database_url, "blacklist", "export", key, "--output", str(inside_file)),
        f"cannot write {inside_file}: Not a directory",
        1,
    )
    # Onto a directory: nothing written, no temporary left behind.
    (tmp_path / "taken").mkdir()
    failed(
        ileti(database_url, "blacklist", "export", key, "--output", str(tmp_path / "taken")),
        f"cannot write {tmp_path / 'taken'}: Is a directory",
        1,
    )
    assert list(tmp_path.rglob(".export-*")) == []
    assert list((tmp_path / "taken").iterdir()) == []


def test_demo_file_in_missing_directory(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "no" / "demo.json"
    failed(
        ileti(sqlite_url, "demo", "--file", str(path)),
        f"cannot write {path}: directory {path.parent} does not exist",
        1,
    )
    # Checked before the account is made: no credentials were lost.
    assert json.loads(ok(ileti(sqlite_url, "account", "list", "--json")).stdout) == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ILETI_MAX_BODY_BYTES", "0", "ILETI_MAX_BODY_BYTES must be at least 1024 (1 KiB), got 0"),
        ("ILETI_WEBHOOK_ATTEMPTS", "0", "ILETI_WEBHOOK_ATTEMPTS must be at least 1, got 0"),
        ("ILETI_READ_POOL_SIZE", "0", "ILETI_READ_POOL_SIZE must be at least 1, got 0"),
        ("ILETI_WRITE_BATCH_MAX", "0", "ILETI_WRITE_BATCH_MAX must be at least 1, got 0"),
        (
            "ILETI_REDIS_URL",
            "http://:hunter22@x",
            "ILETI_REDIS_URL must start with redis://, rediss:// or unix://, got 'http://:***@x'",
        ),
    ],
)
def test_bad_setting_stops_every_command(
    sqlite_url: str, variable: str, value: str, message: str
) -> None:
    for args in (["account", "list"], ["migrate"], ["blacklist", "list", "0" * 32]):
        result = invoke(["--database", sqlite_url, *args], env={variable: value})
        failed(result, message, 2)
        assert "hunter22" not in result.output


def test_bad_database_option(tmp_path: Path) -> None:
    failed(
        invoke(["--database", "mysql://root:hunter22@db/ileti", "account", "list"]),
        "--database must start with sqlite:/// or postgresql:// (or postgres://), "
        "got 'mysql://root:***@db/ileti'",
        2,
    )
    # From the environment, the variable is named.
    failed(
        invoke(["account", "list"], env={"ILETI_DATABASE_URL": "sqlite:///:memory:"}),
        "ILETI_DATABASE_URL needs a file",
        2,
    )
    # --database wins over a bad ILETI_DATABASE_URL, which is then not used.
    ok(
        invoke(
            ["--database", f"sqlite:///{tmp_path}/x.db", "account", "list"],
            env={"ILETI_DATABASE_URL": "mysql://x"},
        )
    )


def test_sqlite_directory_must_exist(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "ileti"
    url = f"sqlite:///{directory}/ileti.db"
    message = (
        f"SQLite database directory '{directory}' does not exist "
        "(create it, or run: ileti migrate --create-dirs)"
    )
    failed(ileti(url, "account", "list"), message, 2)
    failed(ileti(url, "migrate"), message, 2)
    assert not (tmp_path / "data").exists()  # nothing made on the way

    revision = head_revision()
    result = ok(ileti(url, "migrate", "--create-dirs"))
    assert result.stdout == f"Database at revision {revision} (head {revision}).\n"
    assert (directory / "ileti.db").is_file()
    assert json.loads(ok(ileti(url, "account", "list", "--json")).stdout) == []
    # Again: the directory is there, nothing to do.
    assert ok(ileti(url, "migrate", "--create-dirs")).stdout == result.stdout

    (tmp_path / "plain").write_text("x")
    failed(
        ileti(f"sqlite:///{tmp_path}/plain/ileti.db", "migrate"),
        f"SQLite database directory '{tmp_path / 'plain'}' is not a directory",
        2,
    )
    failed(
        ileti(f"sqlite:///{tmp_path}/plain/ileti.db", "migrate", "--create-dirs"),
        f"cannot create directory {tmp_path / 'plain'}: File exists",
        1,
    )


def test_usage_errors_are_one_line() -> None:
    failed(
        invoke(["account", "create"]),
        "Missing argument 'NAME'. Try 'ileti account create --help' for help.",
        2,
    )
    failed(invoke(["acount", "list"]), "No such command 'acount'.", 2)
    failed(
        invoke(["account", "list", "--colour"]),
        "No such option '--colour'. Try 'ileti account list --help' for help.",
        2,
    )


@pytest.mark.parametrize("group", [[], ["account"], ["blacklist"], ["outbox"]])
def test_no_command_prints_help(group: list[str]) -> None:
    result = ok(invoke(group))
    assert result.stdout.startswith(f"Usage: {' '.join(['ileti', *group])} [OPTIONS] COMMAND")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


def test_unknown_setting_warned(sqlite_url: str) -> None:
    result = ok(invoke(["--database", sqlite_url, "account", "list"], env={"ILETI_RATE_LIMT": "5"}))
    assert result.stderr == (
        "warning: unknown setting ILETI_RATE_LIMT (did you mean ILETI_RATE_LIMIT?)\n"
    )
    assert result.stdout.startswith("No accounts.")


# -- the same through a real ``ileti`` process -------------------------------------------


SOURCE = str(Path(ileti_package.__file__).resolve().parent.parent)
UNREACHABLE = "postgresql://root@127.0.0.1:1/x"


def run_ileti(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m ileti ARGS`` with this checkout's ileti and no ILETI_* of the caller's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "ileti", *args],
        env=clean | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["serve", "--port", "0"],
        ["account", "list"],
        ["blacklist", "export", "0" * 32],
        ["outbox", "list"],
    ],
)
def test_unreachable_postgresql_is_one_line(args: list[str]) -> None:
    done = run_ileti("--database", UNREACHABLE, *args)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        'Error: database: connection failed: connection to server at "127.0.0.1", port 1 failed'
    ), done.stderr


def test_bad_setting_through_a_process(tmp_path: Path) -> None:
    done = run_ileti("serve", "--port", "0", env={"ILETI_LOG_LEVEL": "verbose"}, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Error: ILETI_LOG_LEVEL must be one of critical, error, warning, info, debug, trace, "
        "got 'verbose'\n"
    )
    done = run_ileti(
        "account", "list", env={"ILETI_DATABASE_URL": "sqlite:////no/such/dir/x.db"}, cwd=tmp_path
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Error: SQLite database directory '/no/such/dir' does not exist "
        "(create it, or run: ileti migrate --create-dirs)\n"
    )
    assert list(tmp_path.iterdir()) == []  # no database was made anywhere


def test_process_without_command_prints_help(tmp_path: Path) -> None:
    done = run_ileti(cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Usage: ileti [OPTIONS] COMMAND [ARGS]...")
    assert "serve" in done.stdout and "migrate" in done.stdout


def test_make_run_default_database(tmp_path: Path) -> None:
    """``make run``: ``ileti migrate`` with sqlite:///ileti.db in the current directory."""
    done = run_ileti("migrate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Database at revision {head_revision()} (head {head_revision()}).\n"
    assert (tmp_path / "ileti.db").is_file()


def test_serve_start_line_hides_the_password(postgres_url: str, tmp_path: Path) -> None:
    parts = urlsplit(postgres_url)
    secret = parts.password or "s3cret-never-shown"
    if parts.password is None:
        # PostgreSQL under test trusts its clients: the password is sent but not needed.
        netloc = f"{parts.username}:{secret}@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        postgres_url = urlunsplit(parts._replace(netloc=netloc))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, clean.get("PYTHONPATH")]))
    clean["ILETI_LOG_LEVEL"] = "warning"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ileti", "--database", postgres_url, "serve", "--port", "0"],
        env=clean,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
    finally:
        terminate(proc)
    assert line.startswith("ileti "), line
    assert secret not in line
    assert f"{parts.username}:***@" in line


# -- account create with chosen credentials, account delete ------------------------------


async def test_account_create_with_a_chosen_key_and_secret(
    database_url: str, client: httpx.AsyncClient
) -> None:
    data = create(database_url, "ci", "--key", "ci-key", "--secret", "ci-s3cret")
    assert (data["key"], data["secret"]) == ("ci-key", "ci-s3cret")
    assert data["hash"] == hmac_hex("ci-s3cret", "ci-key")
    assert await authenticates(client, {"key": "ci-key", "hash": hmac_hex("ci-s3cret", "ci-key")})

    failed(
        await aileti(database_url, "account", "create", "again", "--key", "ci-key"),
        "another account has the key 'ci-key'",
        1,
    )
    failed(
        await aileti(database_url, "account", "create", "x", "--key", "no spaces"),
        "a key is 1 to 64 letters, digits, '-' or '_'",
        2,
    )
    failed(
        await aileti(database_url, "account", "create", "x", "--secret", "tab\there"),
        "a secret is 1 to 200 printable ASCII characters",
        2,
    )
    rows = json.loads(ok(await aileti(database_url, "account", "list", "--json")).stdout)
    assert [r["key"] for r in rows] == ["ci-key"]


async def test_account_delete_needs_yes(database_url: str, client: httpx.AsyncClient) -> None:
    data = create(database_url, "gone", "--key", "gone-key")
    ok(ileti(database_url, "blacklist", "add", "gone-key", "05330000099"))
    failed(
        ileti(database_url, "account", "delete", "gone-key"),
        "deleting account 'gone-key' removes everything it has: add --yes to confirm",
        2,
    )
    assert show(database_url, "gone-key")["blacklist_count"] == 1
    assert await authenticates(client, credentials(data))

    result = ok(await aileti(database_url, "account", "delete", "gone-key", "--yes"))
    assert result.stdout == "Account gone-key deleted.\n"
    failed(ileti(database_url, "account", "show", "gone-key"), "no account with key 'gone-key'", 1)
    await eventually(lambda: _not(authenticates(client, credentials(data))))
    failed(
        ileti(database_url, "account", "delete", "gone-key", "--yes"),
        "no account with key 'gone-key'",
        1,
    )


# -- state export, import, reset ---------------------------------------------------------


def state_of(url: str, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(ileti(url, "state", "export", *args)).stdout)
    return data


def test_state_export_reset_import_reproduces(database_url: str, tmp_path: Path) -> None:
    create(database_url, "one", "--key", "one-key", "--secret", "one-secret", "--balance", "5")
    create(database_url, "two", "--key", "two-key", "--secret", "two-secret", "--sender", "ACME")
    ok(ileti(database_url, "blacklist", "add", "one-key", "05330000001"))
    ok(ileti(database_url, "blacklist", "add", "two-key", "05330000002"))

    path = tmp_path / "state.json"
    result = ok(ileti(database_url, "state", "export", "--output", str(path)))
    assert (result.stdout, result.stderr) == ("", f"Exported 2 account(s) to {path}\n")
    exported = json.loads(path.read_text())
    assert exported == state_of(database_url)
    assert [a["key"] for a in exported["accounts"]] == ["one-key", "two-key"]
    assert exported["accounts"][0]["blacklist"][0]["source"] == "cli"
    assert "secret" not in exported["accounts"][0]
    assert state_of(database_url, "two-key")["accounts"] == exported["accounts"][1:]
    failed(ileti(database_url, "state", "export", "nobody"), "no account with key 'nobody'", 1)

    # --everything needs --yes; without it nothing changes.
    failed(
        ileti(database_url, "state", "reset", "--everything"),
        "--everything removes every account and all data: add --yes",
        2,
    )
    assert state_of(database_url) == exported
    result = ok(ileti(database_url, "state", "reset", "--everything", "--yes"))
    assert result.stdout == (
        "Reset everything: removed 2 accounts, 0 orders, 0 messages, 0 webhooks, "
        "2 blacklist entries.\n"
    )
    assert state_of(database_url) == {"version": 1, "accounts": []}

    # The export does not hold the secrets: importing it as it is is refused.
    failed(
        ileti(database_url, "state", "import", str(path)),
        f"{path}: accounts[0].secret: a seeded account needs its secret or its hash",
        1,
    )
    for account in exported["accounts"]:
        account["secret"] = f"{account['name']}-secret"
    path.write_text(json.dumps(exported))
    result = ok(ileti(database_url, "state", "import", str(path)))
    assert result.stdout == (
        f"Seeded {path}: 2 account(s) created, 0 updated, 0 unchanged; "
        "2 blacklist entries added, 0 already listed.\n"
    )
    for account in exported["accounts"]:
        del account["secret"]
    assert state_of(database_url) == exported
    result = ok(ileti(database_url, "state", "import", str(path)))
    assert "0 account(s) created, 0 updated, 2 unchanged; 0 blacklist entries added" in (
        result.stdout
    )


def test_state_reset_one_account(database_url: str) -> None:
    create(database_url, "one", "--key", "one-key")
    create(database_url, "two", "--key", "two-key")
    for key in ("one-key", "two-key"):
        ok(ileti(database_url, "blacklist", "add", key, "05330000001"))
    result = ok(ileti(database_url, "state", "reset", "one-key"))
    assert result.stdout == (
        "Reset account one-key: removed 0 orders, 0 messages, 0 webhooks, "
        "0 blacklist entries; the balance is kept.\n"
    )
    assert show(database_url, "one-key")["blacklist_count"] == 1
    result = ok(ileti(database_url, "state", "reset", "one-key", "--blacklist"))
    assert "0 webhooks, 1 blacklist entries" in result.stdout
    assert show(database_url, "one-key")["blacklist_count"] == 0
    assert listed(database_url, "one-key") == []
    assert show(database_url, "two-key")["blacklist_count"] == 1
    failed(ileti(database_url, "state", "reset", "nobody"), "no account with key 'nobody'", 1)
    failed(
        ileti(database_url, "state", "reset"),
        "give the KEY of the account to reset, or --everything",
        2,
    )
    failed(
        ileti(database_url, "state", "reset", "one-key", "--everything", "--yes"),
        "give an account KEY or --everything, not both",
        2,
    )
    assert show(database_url, "two-key")["blacklist_count"] == 1


def test_state_import_refuses_a_bad_file_whole(database_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    failed(
        ileti(database_url, "state", "import", str(missing)),
        f"cannot read {missing}: No such file or directory",
        1,
    )
    path = tmp_path / "state.json"
    good = {
        "name": "one",
        "key": "one-key",
        "secret": "s",
        "blacklist": [{"number": "05330000001"}],
    }
    bad = {"name": "two", "key": "two-key", "secret": "s", "blacklist": [{"number": "0212"}]}
    path.write_text(json.dumps({"version": 1, "accounts": [good, bad]}))
    failed(
        ileti(database_url, "state", "import", str(path)),
        f"{path}: accounts[1].blacklist[0].number: not a Turkish mobile number: '0212'",
        1,
    )
    path.write_text('{"version": 1, "accounts": [], "colour": "red"}')
    failed(
        ileti(database_url, "state", "import", str(path)),
        f"{path}: colour: Object contains unknown field `colour`",
        1,
    )
    assert json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout) == []


def test_state_group_prints_help() -> None:
    result = ok(invoke(["state"]))
    assert result.stdout.startswith("Usage: ileti state [OPTIONS] COMMAND")
    for command in ("export", "import", "reset"):
        assert command in result.stdout


def test_serve_refuses_a_bad_seed_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ileti.db"
    missing = tmp_path / "none.json"
    done = run_ileti(
        "serve", "--port", "0", env={"ILETI_DATABASE_URL": url, "ILETI_SEED": str(missing)}
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"Error: ILETI_SEED names {str(missing)!r}, which does not exist\n"

    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "accounts": [{"name": "x", "key": "k"}]}')
    done = run_ileti(
        "serve", "--port", "0", env={"ILETI_DATABASE_URL": url, "ILETI_SEED": str(path)}
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: ILETI_SEED {path}: accounts[0].secret: a seeded account needs its secret or "
        "its hash (the server keeps neither)\n"
    )
    assert json.loads(ok(ileti(url, "account", "list", "--json")).stdout) == []


def test_serve_loads_the_seed_before_it_serves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ileti.db"
    path = tmp_path / "state.json"
    seeded = {"name": "ci", "key": "ci-key", "secret": "ci-secret", "balance": 9}
    path.write_text(json.dumps({"version": 1, "accounts": [seeded]}))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, clean.get("PYTHONPATH")]))
    clean |= {"ILETI_LOG_LEVEL": "warning", "ILETI_DATABASE_URL": url, "ILETI_SEED": str(path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ileti", "serve", "--port", "0"],
        env=clean,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the start line comes after the seed
    finally:
        terminate(proc)
    assert line.startswith("ileti "), line
    assert show(url, "ci-key")["balance"] == 9


# -- the demo account and the official SDKs' defaults (issue 8) ------------------------------

NO_TOKEN: dict[str, str | None] = {"ILETI_ADMIN_TOKEN": None}


def demo_run(url: str, path: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """``ileti --database URL demo --file PATH ARGS`` with no ILETI_ADMIN_TOKEN but ``env``'s."""
    return invoke(
        ["--database", url, "demo", "--file", str(path), *args], env=NO_TOKEN | (env or {})
    )


def printed(stdout: str, start: str) -> list[str]:
    """The printed line that starts with ``start`` (after the indent), as a shell reads it."""
    line = next(line for line in stdout.splitlines() if line.strip().startswith(start))
    return shlex.split(line)


async def test_demo_account_takes_the_sdk_defaults(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    out = ok(
        await asyncio.to_thread(demo_run, database_url, path, "--url", "http://127.0.0.1:18080")
    )
    saved = json.loads(path.read_text())
    assert f"  key:  {saved['key']}\n" in out.stdout
    account = show(database_url, saved["key"])
    assert account["senders"] == ["ILETI", "APITEST", "SENDER", "BASLIK"]
    assert account["brand_code"] == "696422"
    assert account["test_number"] == "+905057023100"
    assert account["balance"] == 1000

    settings = Settings(
        database_url=database_url, admin_token=saved["admin_token"], auth_refresh_seconds=0.1
    )
    rt = Runtime.build(settings)
    await rt.start()
    try:
        transport = httpx.ASGITransport(app=App(rt), client=("127.0.0.1", 40002))
        async with httpx.AsyncClient(transport=transport, base_url="http://ileti.test") as client:
            creds = credentials(saved)
            # What the SDKs send by default: iys=1 and BIREYSEL, as a string (Python, PHP,
            # Go) or a number (Node), with the senders of their READMEs and examples.
            for sender, iys in (("SENDER", "1"), ("BASLIK", 1)):
                order = {
                    "sender": sender,
                    "sendDateTime": "",
                    "iys": iys,
                    "iysList": "BIREYSEL",
                    "message": {"text": "Merhaba!", "receipents": {"number": ["5051234567"]}},
                }
                status, body = await call(
                    client, "send-sms", {"authentication": creds, "order": order}
                )
                assert (status, body["status"]) == (200, OK), body
                status, body = await call(
                    client,
                    "get-report",
                    {"authentication": creds, "order": {"id": body["order"]["id"]}},
                )
                assert status == 200
                assert body["order"]["sender"] == sender
                assert body["order"]["message"] == [{"number": "+905051234567", "status": 110}]
            # APITEST to the test number: accepted and free.
            order = {
                "sender": "APITEST",
                "message": {"text": "Deneme", "receipents": {"number": ["05057023100"]}},
            }
            status, body = await call(client, "send-sms", {"authentication": creds, "order": order})
            assert (status, body["status"]) == (200, OK), body
            status, body = await call(client, "get-balance", {"authentication": creds})
            assert (status, body["balance"]["sms"]) == (200, 998)

            # The outbox line works as printed (and not without its header).
            argv = printed(out.stdout, "curl -s -H")
            assert argv[:3] == ["curl", "-s", "-H"]
            assert argv[3] == f"Authorization: Bearer {saved['admin_token']}"
            assert argv[4] == f"http://127.0.0.1:18080/outbox?key={saved['key']}"
            target = urlsplit(argv[4])
            path_query = f"{target.path}?{target.query}"
            header, value = argv[3].split(": ", 1)
            response = await client.get(path_query, headers={header: value})
            assert response.status_code == 200
            messages = response.json()["messages"]
            assert [(m["sender"], m["recipient"]) for m in messages] == [
                ("APITEST", "+905057023100"),
                ("BASLIK", "+905051234567"),
                ("SENDER", "+905051234567"),
            ]
            assert (await client.get(path_query)).status_code == 401

            # The control API's OpenAPI document, at the URL printed.
            url = printed(out.stdout, "http://127.0.0.1:18080/_ileti/")
            assert url == ["http://127.0.0.1:18080/_ileti/openapi.json"]
            response = await client.get(urlsplit(url[0]).path)
            assert (response.status_code, response.json()["openapi"]) == (200, "3.1.0")
    finally:
        await rt.stop()


def test_demo_older_file_gets_the_missing_settings(database_url: str, tmp_path: Path) -> None:
    # What an older ``ileti demo`` made: ILETI and APITEST, 1000 credits, nothing else;
    # here with a test number of the user's own, which is kept.
    old = create(
        database_url,
        "demo",
        "--sender",
        "ILETI",
        "--sender",
        "APITEST",
        "--balance",
        "1000",
        "--test-number",
        "+905330000009",
    )
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({k: old[k] for k in ("key", "secret", "hash")}, indent=2) + "\n")
    path.chmod(0o644)

    result = ok(demo_run(database_url, path))
    assert f"Demo account ready (credentials in {path}):" in result.stdout
    assert f"  key:  {old['key']}\n  hash: {old['hash']}\n" in result.stdout
    account = show(database_url, old["key"])
    assert account["senders"] == ["ILETI", "APITEST", "SENDER", "BASLIK"]
    assert account["brand_code"] == "696422"
    assert account["test_number"] == "+905330000009"
    assert account["balance"] == 1000
    saved = json.loads(path.read_text())
    assert {k: saved[k] for k in ("key", "secret", "hash")} == {
        k: old[k] for k in ("key", "secret", "hash")
    }
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"Authorization: Bearer {saved['admin_token']}" in result.stdout
    rows = json.loads(ok(ileti(database_url, "account", "list", "--json")).stdout)
    assert [r["key"] for r in rows] == [old["key"]]

    # Added once: a setting the user then clears stays cleared on the next start.
    ok(ileti(database_url, "account", "update", old["key"], "--brand-code", ""))
    ok(demo_run(database_url, path))
    assert show(database_url, old["key"])["brand_code"] is None
    assert json.loads(path.read_text()) == saved


def test_demo_admin_token_is_kept_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    first_db, second_db = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    failed(
        demo_run(first_db, path, "--print-token"),
        f"no admin token in {path}: run 'ileti demo' first",
        1,
    )
    first = ok(demo_run(first_db, path))
    token = json.loads(path.read_text())["admin_token"]
    assert len(token) >= 16 and not any(c.isspace() for c in token)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"Authorization: Bearer {token}" in first.stdout
    # The file is private before the token is written: nothing else is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "demo.json"]

    # The same on every start, and for a new account (another database) too.
    again = ok(demo_run(first_db, path))
    assert "Demo account ready" in again.stdout
    assert f"Authorization: Bearer {token}" in again.stdout
    other = ok(demo_run(second_db, path))
    assert "Demo account created" in other.stdout
    assert f"Authorization: Bearer {token}" in other.stdout
    assert json.loads(path.read_text())["admin_token"] == token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # What the Makefile reads into ILETI_ADMIN_TOKEN: the token alone, the database not
    # opened; a token already in the environment wins, here and in the lines printed.
    done = run_ileti(
        "--database", "sqlite:////no/such/dir/x.db", "demo", "--file", str(path), "--print-token"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, token + "\n", "")
    mine = "my-own-admin-token-0123"
    done = run_ileti("demo", "--file", str(path), "--print-token", env={"ILETI_ADMIN_TOKEN": mine})
    assert (done.returncode, done.stdout) == (0, mine + "\n")
    shown = ok(demo_run(first_db, path, env={"ILETI_ADMIN_TOKEN": mine}))
    assert f"Authorization: Bearer {mine}" in shown.stdout
    assert token not in shown.stdout
    assert json.loads(path.read_text())["admin_token"] == token


# -- outbox search and wait ----------------------------------------------------------------


async def _outbox_sends(runtime: Runtime) -> str:
    """An account with three messages: to +905330000099 (a code), to an invalid
    recipient (112) and, from ACME, to +905330000088; its key."""
    from ileti.models import OutgoingText, SendCommand

    issued = await runtime.accounts.create("otp", senders=("ILETI", "ACME"), balance=100)
    # Held by the carrier: the messages stay 110 however slow the machine is.
    await runtime.carrier.set_delivery(issued.account.id, "manual", None)
    for sender, text, to in (
        ("ILETI", "Doğrulama kodunuz: 482913", ("05330000099", "12345")),
        ("ACME", "Kampanya %50 indirim", ("05330000088",)),
    ):
        command = SendCommand(sender, None, "0", None, (OutgoingText(text, to),))
        await runtime.orders.send(issued.account, command)
    return issued.account.key


async def test_outbox_search_filters(database_url: str, runtime: Runtime) -> None:
    key = await _outbox_sends(runtime)

    async def search(*args: str) -> list[tuple[str, str, int]]:
        out = ok(await aileti(database_url, "outbox", "search", key, *args, "--json")).stdout
        return [(m["recipient"], m["sender"], m["status"]) for m in json.loads(out)]

    assert await search() == [
        ("+905330000088", "ACME", 110),
        ("12345", "ILETI", 112),
        ("+905330000099", "ILETI", 110),
    ]
    assert await search("--recipient", "0533 000 00 99") == [("+905330000099", "ILETI", 110)]
    assert await search("--recipient", "12345") == [("12345", "ILETI", 112)]
    assert await search("--sender", "ACME") == [("+905330000088", "ACME", 110)]
    assert await search("--text", "%50") == [("+905330000088", "ACME", 110)]
    assert await search("--text", "%5O") == []
    assert await search("--status", "112") == [("12345", "ILETI", 112)]
    assert await search("--limit", "1") == [("+905330000088", "ACME", 110)]
    assert await search("--since", "2000-01-01", "--until", "2000-01-02") == []
    table = ok(await aileti(database_url, "outbox", "search", "--recipient", "5330000099"))
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "ORDER", "SUBMITTED", "ACCOUNT"]
    assert len(lines) == 2 and "+905330000099" in lines[1] and "Doğrulama kodunuz" in lines[1]


async def test_outbox_search_bad_values(database_url: str, runtime: Runtime) -> None:
    key = await _outbox_sends(runtime)
    failed(
        await aileti(database_url, "outbox", "search", key, "--since", "dün"),
        "since must be Y-m-d H:i:s or Y-m-d (Istanbul time), got 'dün' (--since)",
        2,
    )
    failed(
        await aileti(
            database_url, "outbox", "search", "--since", "2026-03-02", "--until", "2026-03-01"
        ),
        "until is before since (--until)",
        2,
    )
    failed(await aileti(database_url, "outbox", "search", "--status", "113"), "--status", 2)
    failed(await aileti(database_url, "outbox", "search", "--limit", "0"), "--limit", 2)
    failed(await aileti(database_url, "outbox", "search", "nobody"), "no account with key", 1)


async def test_outbox_wait_prints_the_message_or_its_code(
    database_url: str, runtime: Runtime
) -> None:
    key = await _outbox_sends(runtime)
    wait = ("outbox", "wait", key, "--recipient", "+905330000099", "--timeout", "0.3")
    message = json.loads(ok(await aileti(database_url, *wait, "--json")).stdout)
    assert (message["recipient"], message["text"]) == ("+905330000099", "Doğrulama kodunuz: 482913")
    assert ok(await aileti(database_url, *wait, "--code")).stdout == "482913\n"
    assert ok(await aileti(database_url, *wait, "--code", r"kodunuz: (\d{3})")).stdout == "482\n"
    table = ok(await aileti(database_url, *wait)).stdout.splitlines()
    assert len(table) == 2 and "482913" in table[1]
    failed(
        await aileti(database_url, *wait, "--code", r"\d{9}"),
        "no message with a match of the pattern within 0.3 s",
        1,
    )
    failed(
        await aileti(
            database_url, "outbox", "wait", key, "--recipient", "05330000077", "--timeout", "0.3"
        ),
        "no matching message within 0.3 s",
        1,
    )
    failed(await aileti(database_url, *wait, "--code", "("), "not a regular expression", 2)
    failed(await aileti(database_url, *wait, "--code", "(a+)+$" + "x" * 200), "(--code)", 2)
    failed(await aileti(database_url, "outbox", "wait", key), "--recipient", 2)
    failed(await aileti(database_url, *wait[:-1], "31"), "--timeout", 2)
    failed(
        await aileti(database_url, "outbox", "wait", "nobody", "--recipient", "05330000099"),
        "no account with key",
        1,
    )


async def test_outbox_wait_sees_a_message_sent_while_it_waits(
    database_url: str, runtime: Runtime
) -> None:
    from ileti.models import OutgoingText, SendCommand

    issued = await runtime.accounts.create("late", senders=("ILETI",), balance=10)
    key = issued.account.key
    waiting = asyncio.create_task(
        aileti(database_url, "outbox", "wait", key, "--recipient", "5330000099", "--code")
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    command = SendCommand("ILETI", None, "0", None, (OutgoingText("Kod 7070", ("05330000099",)),))
    await runtime.orders.send(issued.account, command)
    assert ok(await waiting).stdout == "7070\n"


# -- webhooks and inbound opt-outs ---------------------------------------------------


def test_webhook_commands_list_replay_and_test(database_url: str) -> None:
    ok(
        ileti(
            database_url,
            *("account", "create", "one", "--key", "one-key", "--test-number", "05330000009"),
            *("--webhook-url", "http://hook:pa55@127.0.0.1:9/hook?t=1"),
        )
    )
    ok(ileti(database_url, "account", "create", "two", "--key", "two-key"))
    made = json.loads(ok(ileti(database_url, "webhook", "test", "one-key", "--json")).stdout)
    assert made["body"] == (
        '{"report":{"id":0,"packet_id":0,"status":"delivered","to":"+905330000009",'
        '"body":"ileti test webhook"}}'
    )
    assert (made["url"], made["status"], made["attempts"]) == (
        "http://127.0.0.1:9/hook",
        "pending",
        0,
    )
    result = ok(ileti(database_url, "webhook", "replay", str(made["id"])))
    assert result.stdout == (
        f"Webhook {made['id']} queued as webhook {made['id'] + 1} to http://127.0.0.1:9/hook.\n"
    )
    rows = json.loads(ok(ileti(database_url, "webhook", "list", "one-key", "--json")).stdout)
    assert [(r["id"], r["body"]) for r in rows] == [
        (made["id"] + 1, made["body"]),
        (made["id"], made["body"]),
    ]
    table = ok(ileti(database_url, "webhook", "list")).stdout
    assert table.count("pending") == 2 and "pa55" not in table
    assert ok(ileti(database_url, "webhook", "list", "two-key")).stderr == "No webhooks.\n"
    failed(ileti(database_url, "webhook", "test", "two-key"), "no webhook URL", 1)
    failed(ileti(database_url, "webhook", "test", "nobody"), "no account with key", 1)
    failed(ileti(database_url, "webhook", "replay", "999"), "no webhook with id 999", 1)
    failed(ileti(database_url, "webhook", "replay", "x"), "ID", 2)
    failed(ileti(database_url, "webhook", "list", "--status", "lost"), "--status", 2)
    assert len(json.loads(ileti(database_url, "webhook", "list", "--json").stdout)) == 2


def test_inbound_command_blacklists_on_an_opt_out_keyword(database_url: str) -> None:
    ok(ileti(database_url, "account", "create", "acme", "--key", "acme-key"))
    shown = json.loads(
        ok(
            ileti(database_url, "account", "update", "acme-key", "--short-code", "7889", "--json")
        ).stdout
    )
    assert shown["short_code"] == "7889"
    failed(
        ileti(database_url, "account", "update", "acme-key", "--short-code", "78a"),
        "short code: 3 to 8 digits",
        2,
    )
    send = ("inbound", "acme-key", "--from", "05331112233", "--to")
    result = ok(ileti(database_url, *send, "7889", "--text", "RET lütfen"))
    assert result.stdout == "Inbound message 1 kept; no action.\n"
    result = ok(ileti(database_url, *send, "7890", "--text", "RET"))
    assert result.stdout == "Inbound message 2 kept; no action.\n"
    assert ok(ileti(database_url, "blacklist", "list", "acme-key")).stdout == ""
    result = ok(ileti(database_url, *send, "7889", "--text", " Acme  ıptal "))
    assert result.stdout == "Inbound message 3: IPTAL: +905331112233 blacklisted.\n"
    listed = json.loads(ileti(database_url, "blacklist", "list", "acme-key", "--json").stdout)
    assert [(e["number"], e["source"]) for e in listed] == [("+905331112233", "keyword")]
    got = json.loads(ok(ileti(database_url, *send, "7889", "--text", "stop", "--json")).stdout)
    assert (got["action"], got["keyword"], got["already_listed"]) == ("blacklisted", "STOP", True)
    failed(
        ileti(database_url, "inbound", "acme-key", "--from", "12", "--to", "7889", "--text", "RET"),
        "(--from)",
        2,
    )
    failed(
        ileti(database_url, "inbound", "acme-key", "--from", "05331112233", "--text", "RET"),
        "--to",
        2,
    )
    failed(
        ileti(
            database_url,
            "inbound",
            "nobody",
            "--from",
            "05331112233",
            "--to",
            "7889",
            "--text",
            "RET",
        ),
        "no account with key",
        1,
    )


async def test_outbox_clear_empties_one_accounts_outbox(
    database_url: str, runtime: Runtime
) -> None:
    key = await _outbox_sends(runtime)
    other = await _outbox_sends(runtime)
    await runtime.blacklist.add((await runtime.accounts.get(key)).id, "+905330000077")
    result = ok(await aileti(database_url, "outbox", "clear", key))
    assert result.stdout == f"Outbox of {key} cleared: 2 orders, 3 messages, 0 webhooks removed.\n"
    assert (
        json.loads(ok(await aileti(database_url, "outbox", "search", key, "--json")).stdout) == []
    )
    theirs = json.loads(ok(await aileti(database_url, "outbox", "search", other, "--json")).stdout)
    assert len(theirs) == 3
    assert (await runtime.accounts.get(key)).blacklist_count == 1  # the blacklist is kept
    failed(await aileti(database_url, "outbox", "clear", "nobody"), "no account with key", 1)
