"""``ileti demo``: the demo account ``make run`` prints on every start.

The server keeps no plain hash, so the demo credentials live in a local, git-ignored
file (mode 600), with the admin token ``make run`` starts the server with (made once,
kept there, so the printed outbox line stays valid from one start to the next). The
account is created on the first start, and again if the file's key is no longer in the
database.

The account is set up so that the official SDKs' defaults work against it: they all
send ``iys=1`` with ``iysList=BIREYSEL``, which needs an İYS brand code (else 470),
and their READMEs use the senders ``SENDER`` and ``BASLIK``. With iys=1 a recipient
needs an İYS ONAY (spec §10), so the numbers of the SDKs' README examples get one
(``ileti consent add`` gives others theirs). An account made from an older file, which
had neither, gets what it lacks added once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import tempfile
from pathlib import Path
from typing import Any

import click

from ileti.cli.common import database_option, fail, file_error, open_store, run, settings
from ileti.clock import SYSTEM, format_local
from ileti.models import Account
from ileti.services.accounts import AccountService
from ileti.services.blacklist import BlacklistService
from ileti.services.consent import CLI, ConsentService
from ileti.services.consent_rules import ConsentRefused
from ileti.services.users import UserService
from ileti.store import AccountNotFound, Store

#: ILETI and APITEST as before; SENDER (the Node and Go SDKs' READMEs and example) and
#: BASLIK (the PHP SDK's README).
SENDERS = ("ILETI", "APITEST", "SENDER", "BASLIK")
#: Any brand code will do: the sandbox checks only that one is set (iys=1).
BRAND_CODE = "696422"
#: Where APITEST delivers: the number in the Python and PHP SDKs' README examples.
TEST_NUMBER = "+905057023100"
#: The recipients of the SDKs' README examples, given an İYS ONAY (BIREYSEL MESAJ).
CONSENTED = (TEST_NUMBER, "+905051234567")
BALANCE = 1000
#: The demo account's panel user (its password is made once and kept in the file).
PANEL_EMAIL = "demo@ileti.example"
#: The file's layout: 1 (no "version"): key, secret, hash; 2: and the admin token, the
#: account having the settings above; 3: and the İYS ONAY of ``CONSENTED``.
VERSION = 3


def _save(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically by a file readable by the owner only (created so
    before a byte of a secret is written)."""
    fd, temporary = tempfile.mkstemp(prefix=".ileti-demo-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> dict[str, Any] | None:
    """The saved file, or None when there is none or it cannot be read as one."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _saved_token(saved: dict[str, Any] | None) -> str | None:
    token = (saved or {}).get("admin_token")
    if isinstance(token, str) and len(token) >= 16 and not any(c.isspace() for c in token):
        return token
    return None


def _missing(
    senders: tuple[str, ...], brand_code: str | None, test_number: int | None
) -> dict[str, Any]:
    """The demo settings an older demo account lacks (its own values are kept)."""
    changes: dict[str, Any] = {}
    if any(s not in senders for s in SENDERS):
        changes["senders"] = (*senders, *(s for s in SENDERS if s not in senders))
    if not brand_code:
        changes["brand_code"] = BRAND_CODE
    if test_number is None:
        changes["test_number"] = TEST_NUMBER
    return changes


def _panel_user(store: Store, key: str, password: str) -> None:
    """The demo account's panel user, with the file's password (made again when the
    database lost it or its password differs)."""
    users = UserService(store, store.settings, clock=SYSTEM)
    found = users.find_sync(PANEL_EMAIL)
    if found is not None and found.account_key == key:
        if not users.password_matches(found, password):
            users.set_password_sync(PANEL_EMAIL, password)
        return
    if found is not None:
        users.delete_sync(PANEL_EMAIL)
    users.create_sync(PANEL_EMAIL, password, account_key=key, admin=False)


@click.command()
@click.option(
    "--file",
    "path",
    default=".ileti-demo.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Where the server will listen (for the lines printed).",
)
@click.option(
    "--print-token",
    is_flag=True,
    help="Only print the admin token to start the server with (ILETI_ADMIN_TOKEN if set, "
    "else the file's) and exit; the database is not opened.",
)
@database_option
def demo(path: Path, url: str, print_token: bool) -> None:
    """Create the demo account once; print its key, hash, a curl line, the outbox line
    and the control API's OpenAPI URL."""
    config = settings()
    saved = _load(path)
    if print_token:
        token = config.admin_token or _saved_token(saved)
        if token is None:
            fail(f"no admin token in {path}: run 'ileti demo' first", 1)
        click.echo(token)
        return

    async def work(
        accounts: AccountService, _bl: BlacklistService
    ) -> tuple[dict[str, Any], bool, bool]:
        """(credentials, created, changed)."""
        if saved and all(isinstance(saved.get(k), str) for k in ("key", "secret", "hash")):
            try:
                account = await accounts.get(saved["key"])
            except AccountNotFound:
                pass
            else:
                credentials = {k: saved[k] for k in ("key", "secret", "hash")}
                if saved.get("version") == VERSION:
                    return credentials, False, False
                changes = _missing(account.senders, account.brand_code, account.test_number)
                await accounts.update(account.key, **changes)
                await _consent(store, await accounts.get(account.key))
                return credentials, False, True
        issued = await accounts.create(
            "demo",
            senders=SENDERS,
            balance=BALANCE,
            brand_code=BRAND_CODE,
            test_number=TEST_NUMBER,
        )
        await _consent(store, issued.account)
        credentials = {"key": issued.account.key, "secret": issued.secret, "hash": issued.hash}
        return credentials, True, True

    store: Store | None = None
    if not path.parent.is_dir():
        # Checked first: credentials that cannot be saved would be lost.
        fail(f"cannot write {path}: directory {path.parent} does not exist", 1)
    with open_store() as opened:
        store = opened
        data, created, changed = run(opened, work)
    saved_token = _saved_token(saved)
    saved_password = (saved or {}).get("panel_password")
    if not isinstance(saved_password, str) or len(saved_password) < 8:
        saved_password = None
    if changed or saved_token is None or saved_password is None:
        data = {
            "version": VERSION,
            **data,
            "admin_token": saved_token or secrets.token_hex(24),
            "panel_password": saved_password or secrets.token_urlsafe(12),
        }
        try:
            _save(path, data)
        except OSError as exc:
            file_error("write", path, exc)
    else:
        data = dict(saved or {})
    token = config.admin_token or data["admin_token"]
    with open_store() as store:
        _panel_user(store, data["key"], data["panel_password"])
    body = json.dumps(
        {
            "request": {
                "authentication": {"key": data["key"], "hash": data["hash"]},
                "blacklist": {"number": "+905330000099"},
            }
        },
        separators=(",", ":"),
    )
    base = url.rstrip("/")
    outbox = f"{base}/outbox?key={data['key']}"
    click.echo("")
    click.echo(f"Demo account {'created' if created else 'ready'} (credentials in {path}):")
    click.echo(f"  key:  {data['key']}")
    click.echo(f"  hash: {data['hash']}")
    click.echo("Add a number to its blacklist:")
    click.echo(f"  curl -s {base}/v1/add-blacklist/json -d {shlex.quote(body)}")
    click.echo("What it sent, in the sandbox outbox:")
    click.echo(
        f"  curl -s -H {shlex.quote('Authorization: Bearer ' + token)} {shlex.quote(outbox)}"
    )
    if config.panel:
        click.echo("The web panel (log in with this e-mail and password):")
        click.echo(f"  {base}/panel/  {PANEL_EMAIL}  {data['panel_password']}")
    if config.control_api:
        click.echo("The control API (OpenAPI):")
        click.echo(f"  {base}/_ileti/openapi.json")
    click.echo("")


async def _consent(store: Store | None, account: Account) -> None:
    """An İYS ONAY for each of ``CONSENTED`` under the account's brand, unless it has one."""
    assert store is not None
    service = ConsentService(store, clock=SYSTEM)
    brand = account.brand_code or BRAND_CODE
    when = format_local(SYSTEM.now_us())
    for number in CONSENTED:
        record = {
            "recipient": number,
            "recipientType": "BIREYSEL",
            "type": "MESAJ",
            "status": "ONAY",
            "source": "HS_WEB",
            "consentDate": when,
        }
        with contextlib.suppress(ConsentRefused):  # already ONAY (or once refused: kept)
            await service.create(account, brand, [record], origin=CLI)
