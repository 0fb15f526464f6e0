"""``ileti blacklist add|remove|list|import|export``."""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from ileti import numbers
from ileti.cli.common import (
    Group,
    database_option,
    echo_json,
    fail,
    failures,
    file_error,
    open_store,
    run,
)
from ileti.clock import format_local
from ileti.models import BlacklistEntry
from ileti.services.blacklist import BlacklistService, read_numbers


@click.group(cls=Group)
def blacklist() -> None:
    """Numbers that send-sms must skip, per account."""


@blacklist.command()
@click.argument("key")
@click.argument("number")
@database_option
def add(key: str, number: str) -> None:
    """List NUMBER for the account KEY (idempotent)."""

    async def work(accounts, bl):  # type: ignore[no-untyped-def]
        found = await accounts.get(key)
        return await bl.add(found.id, number, source="cli")

    with open_store() as store:
        stored = run(store, work)
    click.echo(f"{numbers.e164(stored)} is blacklisted.")


@blacklist.command()
@click.argument("key")
@click.argument("number")
@database_option
def remove(key: str, number: str) -> None:
    """Take NUMBER off the account's blacklist."""

    async def work(accounts, bl):  # type: ignore[no-untyped-def]
        found = await accounts.get(key)
        return await bl.remove(found.id, number)

    with open_store() as store:
        stored = run(store, work)
    click.echo(f"{numbers.e164(stored)} is no longer blacklisted.")


@blacklist.command(name="list")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@database_option
def list_numbers(key: str, as_json: bool) -> None:
    """Every listed number, oldest first, with when and how it was listed."""
    with open_store() as store:
        found = run(store, lambda accounts, _bl: accounts.get(key))

        def consume(entries: Iterator[BlacklistEntry]) -> None:
            if as_json:
                echo_json(
                    [
                        {
                            "number": numbers.e164(e.number),
                            "blocked_at": format_local(e.blocked_at),
                            "source": e.source,
                        }
                        for e in entries
                    ]
                )
                return
            for e in entries:
                click.echo(f"{numbers.e164(e.number)}  {format_local(e.blocked_at)}  {e.source}")

        with failures():
            BlacklistService(store).export(found.id, consume)


@blacklist.command(name="import")
@click.argument("key")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar.")
@database_option
def import_numbers(key: str, file: Path, quiet: bool) -> None:
    """Add every number of FILE: one per line, or the first column of a CSV.

    All or nothing: the numbers are added in one transaction.
    """
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text", 1)
    except OSError as exc:
        file_error("read", file, exc)
    with open_store() as store:
        found = run(store, lambda accounts, _bl: accounts.get(key))
        service = BlacklistService(store)
        hide = quiet or not sys.stderr.isatty()
        with (
            click.progressbar(
                length=len(lines), label="Importing", file=sys.stderr, hidden=hide
            ) as bar,
            failures(),
        ):
            report = service.import_numbers(found.id, read_numbers(lines), progress=bar.update)
    click.echo(
        f"Imported {file}: {report.added} added, {report.already} already listed, "
        f"{report.duplicates} repeated in the file, {len(report.invalid)} invalid."
    )
    for line, raw in report.invalid[:1000]:
        click.echo(f"  line {line}: invalid number {raw!r}")
    if len(report.invalid) > 1000:
        click.echo(f"  ... and {len(report.invalid) - 1000} more invalid lines")


@blacklist.command(name="export")
@click.argument("key")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Write here (default: standard output).",
)
@database_option
def export(key: str, output: Path | None) -> None:
    """CSV of the account's blacklist: number, blocked_at (Istanbul time), source."""
    with open_store() as store:
        found = run(store, lambda accounts, _bl: accounts.get(key))
        service = BlacklistService(store)

        def write(handle: io.TextIOBase) -> int:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["number", "blocked_at", "source"])
            rows = 0

            def consume(entries: Iterator[BlacklistEntry]) -> None:
                nonlocal rows
                for e in entries:
                    writer.writerow([numbers.e164(e.number), format_local(e.blocked_at), e.source])
                    rows += 1

            with failures():
                service.export(found.id, consume)
            return rows

        if output is None:
            write(sys.stdout)  # type: ignore[arg-type]
            return
        # Written next to the output, then renamed: the file appears only when complete.
        try:
            fd, tmp = tempfile.mkstemp(prefix=".export-", dir=output.parent)
        except OSError as exc:
            file_error("write", output, exc)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                rows = write(handle)  # type: ignore[arg-type]
            os.replace(tmp, output)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                file_error("write", output, exc)
            raise
    click.echo(f"Exported {rows} numbers to {output}", err=True)
