"""``ileti consent add|show|import|export``: İYS consent records of an account, under
its brand code, by the same rules as consent/create (spec §10)."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ileti.cli.common import (
    Group,
    database_option,
    echo_json,
    fail,
    failures,
    file_error,
    open_store,
)
from ileti.clock import SYSTEM, format_local
from ileti.logs import visible
from ileti.models import Account, StoredConsent
from ileti.services.accounts import AccountService
from ileti.services.consent import CLI, IMPORT, ConsentService
from ileti.services.consent_rules import (
    RECIPIENT_TYPES,
    SOURCES,
    STATUSES,
    TYPES,
    ConsentRefused,
    Problem,
)
from ileti.store import Store

T = TypeVar("T")
#: The CSV columns of import and export (a header line first), as consent/create names them.
COLUMNS = ("recipient", "recipientType", "type", "status", "source", "consentDate")


@click.group(cls=Group)
def consent() -> None:
    """İYS consent records (per account, under its brand code)."""


def _run(
    work: Callable[[Account, ConsentService], Awaitable[T]],
    key: str,
    line_of: Callable[[int], str] | None = None,
) -> T:
    async def main(store: Store) -> T:
        account = await AccountService(store).get(key)
        return await work(account, ConsentService(store, clock=SYSTEM))

    with open_store() as store, failures():
        try:
            return asyncio.run(main(store))
        except ConsentRefused as exc:
            _refused(exc.problems, line_of)


def _refused(problems: tuple[Problem, ...], line_of: Callable[[int], str] | None) -> NoReturn:
    """Every problem on stderr (for a file: its line), then exit 1."""
    for problem in problems:
        where = "request" if problem.index is None else f"record {problem.index}"
        if problem.index is not None and line_of is not None:
            where = line_of(problem.index)
        who = f" ({visible(problem.recipient)})" if problem.recipient else ""
        click.echo(f"{where}{who}: {problem.field}: {problem.rule}", err=True)
    fail(f"refused: {len(problems)} problem(s), nothing stored", 1)


@consent.command()
@click.argument("key")
@click.argument("recipient")
@click.option("--status", type=click.Choice(STATUSES), default="ONAY", show_default=True)
@click.option("--type", "type_", type=click.Choice(TYPES), default="MESAJ", show_default=True)
@click.option(
    "--recipient-type", type=click.Choice(RECIPIENT_TYPES), default="BIREYSEL", show_default=True
)
@click.option(
    "--source", type=click.Choice(sorted(SOURCES)), default="HS_FIZIKSEL_ORTAM", show_default=True
)
@click.option("--date", "when", metavar="'Y-m-d H:M:S'", help="Istanbul time; default: now.")
@database_option
def add(
    key: str,
    recipient: str,
    status: str,
    type_: str,
    recipient_type: str,
    source: str,
    when: str | None,
) -> None:
    """Record one consent for RECIPIENT under the account's brand code."""
    record = {
        "recipient": recipient,
        "recipientType": recipient_type,
        "type": type_,
        "status": status,
        "source": source,
        "consentDate": when or format_local(SYSTEM.now_us()),
    }

    async def work(account: Account, service: ConsentService) -> int:
        return await service.create(account, account.brand_code, [record], origin=CLI)

    _run(work, key)
    click.echo(f"{status} recorded for {visible(recipient)} ({recipient_type} {type_}).")


def _row(found: StoredConsent) -> dict[str, Any]:
    c = found.consent
    return {
        "brandCode": found.brand_code,
        "recipient": c.recipient,
        "recipientType": c.recipient_type,
        "type": c.type,
        "status": c.status,
        "source": c.source,
        "consentDate": format_local(c.consent_date),
        "recorded_at": format_local(found.recorded_at),
        "origin": found.origin,
    }


@consent.command()
@click.argument("key")
@click.argument("recipient")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@database_option
def show(key: str, recipient: str, as_json: bool) -> None:
    """Every record of RECIPIENT (a mobile in any form, or an e-mail), newest first."""

    async def work(account: Account, service: ConsentService) -> list[StoredConsent]:
        return await service.history(account.id, recipient, limit=1000)

    found = [_row(r) for r in _run(work, key)]
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo(f"No consent record for {visible(recipient)}.")
    for row in found:
        click.echo(
            f"{row['consentDate']}  {row['status']:4}  {row['recipientType']:8}  {row['type']:6}  "
            f"{row['source'] or '-':18}  brand {visible(row['brandCode'])}  "
            f"({row['origin']}, {row['recorded_at']})"
        )


@consent.command(name="import")
@click.argument("key")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@database_option
def import_file(key: str, path: Path) -> None:
    """Record every row of a CSV file (columns: recipient, recipientType, type, status,
    source, consentDate; a header line first), stored whole or not at all: every
    problem is listed with its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        file_error("read", path, exc)
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8", 2)
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or set(COLUMNS) - set(reader.fieldnames):
        fail(f"{path}: the header must name {', '.join(COLUMNS)}", 2)
    rows = [{k: v for k, v in row.items() if k in COLUMNS} for row in reader]

    async def work(account: Account, service: ConsentService) -> int:
        return await service.create(account, account.brand_code, rows, origin=IMPORT, most=None)

    stored = _run(work, key, lambda index: f"{path}:{index + 2}")
    click.echo(f"{stored} consent record(s) imported.")


@consent.command()
@click.argument("key")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@database_option
def export(key: str, path: Path | None) -> None:
    """The latest record of every recipient as CSV (the columns import reads), to PATH
    or standard output."""

    async def work(account: Account, service: ConsentService) -> list[StoredConsent]:
        return await service.every_latest(account.id)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for found in _run(work, key):
        c = found.consent
        writer.writerow(
            [
                c.recipient,
                c.recipient_type,
                c.type,
                c.status,
                c.source or "",
                format_local(c.consent_date),
            ]
        )
    if path is None:
        sys.stdout.write(out.getvalue())
        return
    try:
        path.write_text(out.getvalue(), encoding="utf-8")
    except OSError as exc:
        file_error("write", path, exc)
