"""``ileti state export|import|reset``: the sandbox's state as one JSON document
(docs/sandbox.md, "State: seed, export, reset"), on the same service as the control
API's ``/_ileti/state`` and ``/_ileti/reset``."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from ileti.cli.common import Group, database_option, fail, failures, file_error, open_store
from ileti.services.state import ResetReport, StateError, StateService, decode, encode
from ileti.store import Store

T = TypeVar("T")


def _run(store: Store, work: Callable[[StateService], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work(StateService(store))

    with failures():
        return asyncio.run(main())


def _write(output: Path, data: bytes) -> None:
    """Written next to ``output``, then renamed: the file appears only when complete."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=output.parent)
    except OSError as exc:
        file_error("write", output, exc)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        file_error("write", output, exc)


def _removed(report: ResetReport) -> str:
    return (
        f"{report.orders} orders, {report.messages} messages, {report.webhooks} webhooks, "
        f"{report.blacklist} blacklist entries"
    )


@click.group(cls=Group)
def state() -> None:
    """Seed, export and reset the sandbox's state (one JSON document)."""


@state.command(name="export")
@click.argument("key", required=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Write here (default: standard output).",
)
@database_option
def export(key: str | None, output: Path | None) -> None:
    """The state document of every account, or of the account KEY: settings and
    blacklists, never secrets (ileti keeps none)."""
    with open_store() as store:
        document = _run(store, lambda service: service.export(key))
    data = encode(document)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    _write(output, data)
    click.echo(f"Exported {len(document.accounts)} account(s) to {output}", err=True)


@state.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@database_option
def import_state(file: Path) -> None:
    """Seed from FILE, a state document: its accounts are created with their
    credentials (or updated), their blacklist entries added. All or nothing."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        file_error("read", file, exc)
    try:
        document = decode(data)
        with open_store() as store:
            report = _run(store, lambda service: service.seed(document))
    except StateError as exc:
        fail(f"{file}: {exc}", 1)
    click.echo(
        f"Seeded {file}: {len(report.created)} account(s) created, {len(report.updated)} "
        f"updated, {len(report.unchanged)} unchanged; {report.blacklist_added} blacklist "
        f"entries added, {report.blacklist_already} already listed."
    )
    if report.consents_ignored:
        click.echo(f"{report.consents_ignored} consent(s) ignored: not supported yet.")


@state.command()
@click.argument("key", required=False)
@click.option("--blacklist", is_flag=True, help="Empty the account's blacklist too.")
@click.option("--everything", is_flag=True, help="Remove every account and all data.")
@click.option("--yes", is_flag=True, help="Confirm --everything.")
@database_option
def reset(key: str | None, blacklist: bool, everything: bool, yes: bool) -> None:
    """Remove the account KEY's orders, messages and webhooks (its blacklist too with
    --blacklist), keeping the account and its balance; or, with --everything --yes,
    every account and all data."""
    if everything and key is not None:
        raise click.UsageError("give an account KEY or --everything, not both")
    if not everything and key is None:
        raise click.UsageError("give the KEY of the account to reset, or --everything")
    if everything and not yes:
        raise click.UsageError("--everything removes every account and all data: add --yes")
    with open_store() as store:
        if everything:
            report = _run(store, lambda service: service.reset_everything())
        else:
            assert key is not None
            report = _run(store, lambda service: service.reset(key, blacklist=blacklist))
    if everything:
        click.echo(f"Reset everything: removed {report.accounts} accounts, {_removed(report)}.")
    else:
        click.echo(f"Reset account {key}: removed {_removed(report)}; the balance is kept.")
